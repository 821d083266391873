//! Why the database cannot be opened, said so that the reader knows what to
//! do: where it looked (never with the password) and what answered.

use std::{path::PathBuf, time::Duration};

use sea_orm::sqlx::{self, Connection};

/// How long the first connection may take before the database counts as not answering.
const FIRST_CONNECTION: Duration = Duration::from_secs(5);

/// A PostgreSQL URL's parts that may be shown: host and port, user, database.
struct Target {
    host: String,
    user: String,
    database: String,
}

fn postgres_target(url: &str) -> Target {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let user = userinfo.split(':').next().filter(|u| !u.is_empty()).unwrap_or("postgres").to_owned();
    let host = if host.is_empty() { "localhost".to_owned() } else { host.to_owned() };
    let database = path.split('?').next().filter(|d| !d.is_empty()).map_or_else(|| user.clone(), str::to_owned);
    Target { host, user, database }
}

/// The SQLite file a URL names; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:" && !url.contains("mode=memory")).then(|| PathBuf::from(path))
}

/// Where `url` points, without its password.
pub fn describe(url: &str) -> String {
    if url.starts_with("sqlite:") {
        match sqlite_path(url) {
            Some(path) => format!("the SQLite file {}", path.display()),
            None => "an in-memory SQLite database".to_owned(),
        }
    } else {
        let target = postgres_target(url);
        format!("PostgreSQL database {:?} at {} (user {})", target.database, target.host, target.user)
    }
}

/// Opens one connection outside the pool: a pool only reports that it timed
/// out, this says why (refused, unknown database, wrong password).
pub async fn check(url: &str) -> Result<(), String> {
    if let Some(path) = sqlite_path(url) {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        return match folder {
            Some(folder) if !folder.is_dir() => Err(format!("the folder {} does not exist", folder.display())),
            _ => Ok(()),
        };
    }
    if !url.starts_with("postgres") {
        return Ok(());
    }
    let attempt = sqlx::postgres::PgConnection::connect(&super::without_loopback_tls(url));
    match tokio::time::timeout(FIRST_CONNECTION, attempt).await {
        Err(_) => Err(format!("no answer within {} s", FIRST_CONNECTION.as_secs())),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(err)) => Err(explain(url, &err)),
    }
}

fn explain(url: &str, err: &sqlx::Error) -> String {
    let target = postgres_target(url);
    match err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused: is PostgreSQL running there, on that port?".to_owned()
        }
        sqlx::Error::Io(io) => format!("cannot reach {}: {io}", target.host),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            let (host, port) = target.host.rsplit_once(':').unwrap_or((&target.host, "5432"));
            format!(
                "database {:?} does not exist, create it with: createdb -h {host} -p {port} -U {} {}",
                target.database, target.user, target.database
            )
        }
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("28P01" | "28000")) => {
            format!("user {} was refused: {}", target.user, db.message())
        }
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Configuration(_) => "DATABASE_URL is not a valid PostgreSQL URL".to_owned(),
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_the_host_and_never_the_password() {
        let described = describe("postgres://app:s3cret@db.internal:6432/crm?sslmode=require");
        assert_eq!(described, "PostgreSQL database \"crm\" at db.internal:6432 (user app)");
        assert_eq!(describe("sqlite://data/rapport.db?mode=rwc"), "the SQLite file data/rapport.db");
        assert_eq!(
            describe("postgres://postgres@127.0.0.1"),
            "PostgreSQL database \"postgres\" at 127.0.0.1 (user postgres)"
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
