//! The one error type of the service layer, and every stable `extensions.code`
//! string of the API. The codes are a public contract: the README lists them and
//! a test compares the two lists.

use sea_orm::{DbErr, SqlErr};

/// The stable `extensions.code` values, each with its meaning.
pub mod codes {
    /// No token, or an invalid, expired or tampered one, or an inactive user.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The role or scope does not allow the operation.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The row does not exist or is outside the viewer's view.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// Invalid input; `extensions.field` names the field.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// Stale version, duplicate, or invalid state change.
    pub const CONFLICT: &str = "CONFLICT";
    /// The query does not parse.
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The query is invalid for the schema or exceeds a limit.
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The HTTP request is not a GraphQL request.
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// Too many requests or failed logins.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// A persisted query's hash is not known here: send the document with it.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// A subscriber fell too far behind; the subscription ended.
    pub const SUBSCRIPTION_LAGGED: &str = "SUBSCRIPTION_LAGGED";
    /// The database cannot be reached right now (HTTP 503); retry shortly.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// Anything else; details are logged, never sent.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";

    /// Every code above, in the order of the README's table.
    pub const ALL: [&str; 13] = [
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        BAD_USER_INPUT,
        CONFLICT,
        GRAPHQL_PARSE_FAILED,
        GRAPHQL_VALIDATION_FAILED,
        BAD_REQUEST,
        RATE_LIMITED,
        PERSISTED_QUERY_NOT_FOUND,
        SUBSCRIPTION_LAGGED,
        SERVICE_UNAVAILABLE,
        INTERNAL_SERVER_ERROR,
    ];
}

/// Everything that can go wrong while serving a request. Cloneable, so a
/// DataLoader batch that fails hands every field waiting on it the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// No valid credentials: `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the role or scope does not allow the operation: `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(String),
    /// The row does not exist or is outside the viewer's view: `NOT_FOUND`.
    /// Both look the same on purpose, so nothing leaks about invisible rows.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input failed validation: `BAD_USER_INPUT`, with the offending field.
    #[error("{message}")]
    BadInput { field: String, message: String },
    /// Rows of a batch failed validation: `BAD_USER_INPUT`, with every bad
    /// row's index (0-based, in the input list), field and reason; nothing was written.
    #[error("{message}")]
    BadRows { field: String, message: String, rows: Vec<RowError> },
    /// Version mismatch, duplicate or invalid state transition: `CONFLICT`,
    /// with the row's current version or the allowed next states when known.
    #[error("{message}")]
    Conflict { message: String, current_version: Option<i32>, allowed: Vec<&'static str> },
    /// Too many requests or failed logins: `RATE_LIMITED`.
    #[error("{0}")]
    RateLimited(String),
    /// A live subscriber fell too far behind and missed events: `SUBSCRIPTION_LAGGED`.
    #[error("this subscription fell {0} events behind and was ended; subscribe again and refetch")]
    Lagged(u64),
    /// The database cannot serve the request (down, restarting, pool
    /// exhausted; on SQLite a file locked by another process, read-only or on
    /// a full disk): `SERVICE_UNAVAILABLE`. The message says which; the detail
    /// is logged, never sent.
    #[error("{message}")]
    Unavailable { message: &'static str, detail: String },
    /// Anything else; the detail is logged, never sent: `INTERNAL_SERVER_ERROR`.
    #[error("internal server error")]
    Internal(String),
}

/// What is wrong with one row of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Position of the row in the input list, from 0.
    pub index: usize,
    /// The field at fault, as the client named it.
    pub field: String,
    pub message: String,
}

/// Result of every service call.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => codes::UNAUTHENTICATED,
            Self::Forbidden(_) => codes::FORBIDDEN,
            Self::NotFound(_) => codes::NOT_FOUND,
            Self::BadInput { .. } | Self::BadRows { .. } => codes::BAD_USER_INPUT,
            Self::Conflict { .. } => codes::CONFLICT,
            Self::RateLimited(_) => codes::RATE_LIMITED,
            Self::Lagged(_) => codes::SUBSCRIPTION_LAGGED,
            Self::Unavailable { .. } => codes::SERVICE_UNAVAILABLE,
            Self::Internal(_) => codes::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.to_owned(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into(), current_version: None, allowed: Vec::new() }
    }

    /// A stale `expectedVersion`: the client must reload and retry.
    pub fn stale(entity: &str, current_version: i32) -> Self {
        Self::Conflict {
            message: format!("{entity} was changed by someone else (current version {current_version})"),
            current_version: Some(current_version),
            allowed: Vec::new(),
        }
    }
}

/// Why the database cannot serve a request, as opposed to a statement that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    /// No connection to be had, a broken one, or a server shutting down.
    Unreachable,
    /// SQLite: another process holds the file's lock past the busy timeout.
    Locked,
    /// SQLite: the file (or its directory) cannot be written.
    ReadOnly,
    /// SQLite: the disk is full.
    DiskFull,
    /// PostgreSQL: concurrent writes locked each other in a circle (or could not be
    /// serialised), and the database rolled this one back whole. Nothing was written;
    /// the same request again normally goes through.
    Contended,
}

impl Outage {
    fn label(self) -> &'static str {
        match self {
            Outage::Unreachable => "unreachable",
            Outage::Locked => "locked",
            Outage::ReadOnly => "read_only",
            Outage::DiskFull => "disk_full",
            Outage::Contended => "contended",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Outage::Unreachable => "the database is unavailable; retry shortly",
            Outage::Locked => "the database file is locked by another process; retry shortly",
            Outage::ReadOnly => "the database file is read-only: this server can read but not write",
            Outage::DiskFull => "the database's disk is full: this server cannot write",
            Outage::Contended => {
                "concurrent writes to the same rows got in each other's way; nothing was written, retry"
            }
        }
    }
}

/// SQLite's primary result codes (the low byte of the extended code sqlx reports).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

fn outage(err: &DbErr) -> Option<Outage> {
    use sea_orm::{RuntimeErr, sqlx::Error as Sqlx};
    match err {
        DbErr::ConnectionAcquire(_) => Some(Outage::Unreachable),
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match &**e {
            Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Tls(_) | Sqlx::WorkerCrashed => {
                Some(Outage::Unreachable)
            }
            Sqlx::Database(db) => {
                let code = db.code().unwrap_or_default();
                // Class 08 (connection exception) and 57P (operator intervention: shutdown, restart).
                if code.starts_with("08") || code.starts_with("57P") {
                    return Some(Outage::Unreachable);
                }
                // 40P01 deadlock_detected, 40001 serialization_failure.
                if code == "40P01" || code == "40001" {
                    return Some(Outage::Contended);
                }
                // Only SQLite's numeric result codes from here on.
                db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()?;
                match code.parse::<i64>().ok()? & 0xff {
                    SQLITE_BUSY | SQLITE_LOCKED => Some(Outage::Locked),
                    SQLITE_READONLY => Some(Outage::ReadOnly),
                    SQLITE_FULL => Some(Outage::DiskFull),
                    SQLITE_IOERR | SQLITE_CANTOPEN => Some(Outage::Unreachable),
                    _ => None,
                }
            }
            _ => None,
        },
        DbErr::Conn(_) => Some(Outage::Unreachable),
        _ => None,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if let Some(outage) = outage(&err) {
            tracing::warn!(error = %err, ?outage, "the database cannot serve the request");
            metrics::counter!("rapport_db_unavailable_total", "reason" => outage.label()).increment(1);
            return Self::Unavailable { message: outage.message(), detail: err.to_string() };
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::conflict("a row with the same unique key already exists")
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => Self::bad_input("id", "a referenced row does not exist"),
            _ => Self::Internal(err.to_string()),
        }
    }
}
