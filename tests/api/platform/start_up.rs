//! Configuration and start-up errors say what to do in one line, exit with 2,
//! and show no stack trace, even with `RUST_BACKTRACE=1` set.

use std::{path::PathBuf, process::Output};

/// A fresh empty folder to run the binary in (no `.env`, no database).
fn empty_folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rapport-start-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rapport(dir: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"));
    command.current_dir(dir).args(args).env("RUST_BACKTRACE", "1").env("RUST_LOG", "error");
    for name in ["DATABASE_URL", "RAPPORT_ENV", "RAPPORT_BIND", "RAPPORT_JWT_SECRET", "RAPPORT_DB_MAX_CONNECTIONS"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().expect("rapport runs")
}

/// The one line the command said, checked for what every such line must be.
fn one_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(output.status.code(), Some(2), "exit code, stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("backtrace") && !stderr.contains("panicked"), "{stderr}");
    stderr
}

#[tokio::test]
async fn a_database_nobody_listens_on_is_named_with_its_host_never_its_password() {
    let dir = empty_folder();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("postgres://app:hunter2secret@{closed}/crm");
    let said = one_line(&rapport(&dir, &["migrate"], &[("DATABASE_URL", &url)]));
    assert!(said.contains(&closed.to_string()) && said.contains("connection refused"), "{said}");
    assert!(said.contains("DATABASE_URL") && !said.contains("hunter2secret"), "{said}");

    let said = one_line(&rapport(&dir, &["migrate"], &[("DATABASE_URL", "mysql://localhost/crm")]));
    assert!(said.contains("DATABASE_URL") && said.contains("sqlite://"), "{said}");
    let said =
        one_line(&rapport(&dir, &["migrate"], &[("DATABASE_URL", "sqlite://no/such/folder/rapport.db?mode=rwc")]));
    assert!(said.contains("no/such/folder") && said.contains("does not exist"), "{said}");
}

#[tokio::test]
async fn a_database_that_does_not_exist_says_how_to_create_it() {
    // Needs a PostgreSQL server: the suite's own when it runs on PostgreSQL.
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else { return };
    let url = format!("{}_missing_{}", server.split('?').next().unwrap(), std::process::id());
    let said = one_line(&rapport(&empty_folder(), &["migrate"], &[("DATABASE_URL", &url)]));
    assert!(said.contains("does not exist, create it with: createdb -h"), "{said}");
}

#[tokio::test]
async fn a_port_in_use_is_named_with_its_variable_before_anything_is_migrated() {
    let dir = empty_folder();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let said = one_line(&rapport(&dir, &["serve"], &[("RAPPORT_BIND", &addr)]));
    assert!(said.contains(&addr) && said.contains("RAPPORT_BIND") && said.contains("already in use"), "{said}");
    assert!(!dir.join("rapport.db").exists(), "the database was opened before the port was taken");
}

#[tokio::test]
async fn a_bad_value_names_its_variable() {
    let dir = empty_folder();
    for (name, value) in [
        ("RAPPORT_DB_MAX_CONNECTIONS", "0"),
        ("RAPPORT_DB_MAX_CONNECTIONS", "ten"),
        ("RAPPORT_BIND", "localhost"),
        ("RAPPORT_ENV", "staging"),
        ("RAPPORT_WEBHOOK_RETRY_SCHEDULE", "5 fortnights"),
        ("RAPPORT_CORS_ORIGINS", "app.example.com"),
        ("RAPPORT_MAX_DEPTH", "0"),
    ] {
        let said = one_line(&rapport(&dir, &["migrate"], &[(name, value)]));
        assert!(said.contains(name), "{name}={value}: {said}");
    }
    let said = one_line(&rapport(&dir, &["serve"], &[("RAPPORT_ENV", "production"), ("RAPPORT_BIND", "127.0.0.1:0")]));
    assert!(said.contains("RAPPORT_JWT_SECRET"), "{said}");
    assert!(!dir.join("rapport.db").exists(), "a configuration error touched the database");
}

#[tokio::test]
async fn a_token_for_an_unknown_user_creates_no_database_and_says_where_it_looked() {
    let dir = empty_folder();
    let said = one_line(&rapport(&dir, &["token", "nobody@rapport.demo"], &[]));
    assert!(said.contains("rapport.db") && said.contains("seed-demo"), "{said}");
    assert!(!dir.join("rapport.db").exists(), "rapport token created a database");

    let migrated = rapport(&dir, &["migrate"], &[]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let unknown = rapport(&dir, &["token", "nobody@rapport.demo"], &[]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no active user with e-mail nobody@rapport.demo in the SQLite file rapport.db"),
        "{stderr}"
    );
}
