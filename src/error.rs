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

/// Everything that can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
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
    /// The database cannot be reached (down, restarting, pool exhausted):
    /// `SERVICE_UNAVAILABLE`. The detail is logged, never sent.
    #[error("the database is unavailable; retry shortly")]
    Unavailable(String),
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
            Self::Unavailable(_) => codes::SERVICE_UNAVAILABLE,
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

/// Whether a database error means the database cannot be reached (as
/// opposed to a statement that failed): no connection to be had, a broken
/// one, or a server shutting down.
fn unreachable(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as Sqlx};
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match &**e {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Tls(_) | Sqlx::WorkerCrashed => true,
                // Class 08 (connection exception) and 57P (operator intervention: shutdown, restart).
                Sqlx::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            }
        }
        DbErr::Conn(_) => true,
        _ => false,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if unreachable(&err) {
            tracing::warn!(error = %err, "the database is unreachable");
            return Self::Unavailable(err.to_string());
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
