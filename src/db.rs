//! The database: opening it and bringing its schema up to date, starting
//! transactions, the clock, the dialect helper and the row readers that
//! everything above uses.

/// SQL spelled for SQLite or PostgreSQL.
pub mod dialect;
/// The hottest relations' rows, decoded by position.
pub mod decode;
/// Why the database cannot be opened, in words that say what to do.
pub mod reach;
/// Reading columns of rows of statements written as text.
pub mod rows;

pub use dialect::Dialect;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// A PostgreSQL URL on the loopback without an `sslmode` gets `sslmode=disable`:
/// TLS to a database on the same machine costs throughput and protects nothing.
/// Any explicit `sslmode` is kept.
fn without_loopback_tls(url: &str) -> String {
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let host = url.split('@').nth(1).unwrap_or_else(|| url.split("://").nth(1).unwrap_or_default());
    let loopback = ["localhost", "127.0.0.1", "[::1]"].iter().any(|h| host.starts_with(h));
    if postgres && loopback && !url.contains("sslmode=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}sslmode=disable")
    } else {
        url.to_owned()
    }
}

/// How long a SQLite statement waits for another writer's lock.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections the pool holds, how many of them are idle, and the most it may hold.
pub fn pool_stats(db: &DatabaseConnection) -> (u32, usize, u32) {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
    }
}

/// Connects to `url` (SQLite or PostgreSQL) with Rapport's pool settings.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(without_loopback_tls(url));
    // No ping before each use (a round trip per statement), only for a
    // connection idle long enough to have been cut (a restart, a failover).
    options
        .max_connections(max_connections)
        // Fail fast when the database is down: a request waits at most this
        // long for a connection, then answers SERVICE_UNAVAILABLE (503).
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // WAL lets readers run beside the single writer; the busy timeout makes
        // concurrent writers wait their turn instead of failing. A lock held
        // longer than that (another process, a long backup) answers
        // SERVICE_UNAVAILABLE rather than hanging the request.
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    }
    if url.starts_with("postgres") {
        // No JIT: it compiles any plan whose estimated cost passes a threshold,
        // which a page of per-customer health subqueries does on estimates
        // alone, and then spends about 150 ms compiling to save nothing.
        options.map_sqlx_postgres_opts(|opts| opts.options([("jit", "off")]));
    }
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(|info| {
        crate::telemetry::record_statement(&info.statement.sql, info.elapsed.as_secs_f64(), info.failed);
    });
    Ok(db)
}

/// Refreshes the planner's statistics of tables that just grew a lot (an
/// import): a table that was small when last analysed is planned as small,
/// and a lookup of many keys then reads them by filtering one index range
/// instead of descending the index once per key, which costs the whole
/// table at every lookup. Inside a transaction it counts the transaction's
/// own rows. SQLite plans by its indexes without statistics.
pub async fn analyze(db: &impl ConnectionTrait, tables: &[&str]) -> Result<(), DbErr> {
    if Dialect::of(db).postgres() {
        db.execute_unprepared(&format!("ANALYZE {}", tables.join(", "))).await?;
    }
    Ok(())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Starts the read transaction a report runs in: every statement of a report
/// sees the same snapshot. On PostgreSQL the report's big aggregates get room
/// (`work_mem`) so they hash in memory instead of spilling to disk, and no JIT:
/// compiling them costs more than it saves at this size (about a second).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn begin_read(db: &DatabaseConnection) -> crate::error::AppResult<DatabaseTransaction> {
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'").await?;
    }
    Ok(txn)
}

/// The current time, truncated to microseconds so that values read back from
/// PostgreSQL compare equal to the ones written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Starts a write transaction. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes waits for
/// other writers instead of failing when it upgrades; PostgreSQL ignores the mode.
pub async fn write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Case-insensitive `LIKE %term%` on a column, with the wildcards in the term escaped.
pub fn name_contains(column: impl sea_orm::ColumnTrait, term: &str) -> sea_orm::Condition {
    use sea_orm::sea_query::ExprTrait;
    let escaped = term.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    sea_orm::Condition::all().add(
        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(
            column.as_column_ref(),
        )))
        .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_postgres_goes_without_tls_unless_asked() {
        assert_eq!(
            without_loopback_tls("postgres://u@127.0.0.1:5432/db"),
            "postgres://u@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            without_loopback_tls("postgres://u@localhost/db?x=1"),
            "postgres://u@localhost/db?x=1&sslmode=disable"
        );
        assert_eq!(
            without_loopback_tls("postgres://u@127.0.0.1/db?sslmode=require"),
            "postgres://u@127.0.0.1/db?sslmode=require"
        );
        assert_eq!(without_loopback_tls("postgres://u@db.example.com/db"), "postgres://u@db.example.com/db");
        assert_eq!(without_loopback_tls("sqlite://x.db"), "sqlite://x.db");
    }
}
