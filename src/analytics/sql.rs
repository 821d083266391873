//! The little SQL the reports need that SQLite and PostgreSQL spell
//! differently, and the plumbing to run a report's statement.
//!
//! Reports are written as SQL text because they are window functions and
//! CTEs that a query builder only obscures. Every value they inline is one the
//! server made itself (dates, integers, enum names, the visibility subquery
//! rendered by sea-query); nothing a client sent is ever spliced in.

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, QueryResult, Statement,
    TransactionTrait,
    sea_query::{PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder},
};

use crate::{
    auth::Viewer,
    error::AppResult,
    policy::{self, CustomerScope, Resource},
};

/// Starts the read transaction a report runs in: every statement of a report
/// sees the same snapshot. On PostgreSQL the report's big aggregates get room
/// (`work_mem`) so they hash in memory instead of spilling to disk, and no JIT:
/// compiling them costs more than it saves at this size (about a second).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn begin(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'").await?;
    }
    Ok(txn)
}

/// The backend a report runs on, and its spellings.
#[derive(Debug, Clone, Copy)]
pub struct Dialect(pub DatabaseBackend);

impl Dialect {
    pub fn of(db: &impl ConnectionTrait) -> Self {
        Self(db.get_database_backend())
    }

    fn postgres(self) -> bool {
        self.0 == DatabaseBackend::Postgres
    }

    /// A date literal comparable with `date` columns.
    pub fn date(self, date: NaiveDate) -> String {
        let text = date.format("%Y-%m-%d");
        if self.postgres() { format!("DATE '{text}'") } else { format!("'{text}'") }
    }

    /// A timestamp literal (start of the day, UTC) comparable with timestamp columns.
    pub fn timestamp(self, date: NaiveDate) -> String {
        let text = date.format("%Y-%m-%d");
        if self.postgres() { format!("TIMESTAMPTZ '{text} 00:00:00+00'") } else { format!("'{text}T00:00:00+00:00'") }
    }

    /// Seconds from timestamp `from` to timestamp `to`, as a float.
    pub fn seconds_between(self, from: &str, to: &str) -> String {
        if self.postgres() {
            format!("CAST(EXTRACT(EPOCH FROM ({to} - {from})) AS DOUBLE PRECISION)")
        } else {
            format!("((julianday({to}) - julianday({from})) * 86400.0)")
        }
    }

    /// The first day of the month of a date or timestamp expression, as a date.
    pub fn month_of(self, expr: &str) -> String {
        if self.postgres() {
            format!("CAST(date_trunc('month', {expr}) AS DATE)")
        } else {
            format!("date({expr}, 'start of month')")
        }
    }

    /// The first day of the quarter of a date or timestamp expression, as a date.
    pub fn quarter_of(self, expr: &str) -> String {
        if self.postgres() {
            format!("CAST(date_trunc('quarter', {expr}) AS DATE)")
        } else {
            format!(
                "date({expr}, 'start of month', '-' || ((CAST(strftime('%m', {expr}) AS INTEGER) - 1) % 3) || ' months')"
            )
        }
    }

    /// Condition: timestamp `a` is at most `days` days before timestamp `b`,
    /// written so that an index on `a` bounds the scan (on SQLite the bound is
    /// text in the stored timestamp format, to the second).
    pub fn within_days_before(self, a: &str, b: &str, days: u32) -> String {
        if self.postgres() {
            format!("{a} >= {b} - INTERVAL '{days} days'")
        } else {
            format!("{a} >= strftime('%Y-%m-%dT%H:%M:%S', {b}, '-{days} days')")
        }
    }

    /// The current time, comparable with timestamp columns.
    pub fn now(self) -> String {
        self.instant(chrono::Utc::now())
    }

    /// A point in time, comparable with timestamp columns.
    pub fn instant(self, at: chrono::DateTime<chrono::Utc>) -> String {
        if self.postgres() {
            format!("TIMESTAMPTZ '{}'", at.format("%Y-%m-%d %H:%M:%S%.6f+00"))
        } else {
            format!("'{}'", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false))
        }
    }

    /// The distinct values of a text expression over the rows, joined by commas.
    pub fn distinct_list(self, expr: &str) -> String {
        if self.postgres() {
            format!("string_agg(DISTINCT {expr}, ',')")
        } else {
            format!("group_concat(DISTINCT {expr})")
        }
    }

    /// A date expression moved by whole months.
    pub fn plus_months(self, expr: &str, months: u32) -> String {
        if self.postgres() {
            format!("CAST({expr} + INTERVAL '{months} months' AS DATE)")
        } else {
            format!("date({expr}, '+{months} months')")
        }
    }

    /// A date expression moved back by whole months.
    pub fn plus_months_back(self, expr: &str, months: u32) -> String {
        if self.postgres() {
            format!("CAST({expr} - INTERVAL '{months} months' AS DATE)")
        } else {
            format!("date({expr}, '-{months} months')")
        }
    }

    /// `AND {column} IN (the viewer's customers)`, or nothing when the viewer
    /// sees every customer (the filter would only cost a join).
    pub fn visible(self, viewer: &Viewer, resource: Resource, column: &str) -> String {
        match policy::customer_scope(viewer, resource) {
            CustomerScope::All => String::new(),
            _ => format!("AND {column} IN ({})", self.subquery(&policy::visible_customer_ids_for(viewer, resource))),
        }
    }

    /// `AND {column} IN (the owners whose customers the viewer sees)`, for
    /// rollups kept per owner; nothing when the viewer sees every customer.
    pub fn visible_owner(self, viewer: &Viewer, resource: Resource, column: &str) -> String {
        match policy::customer_scope(viewer, resource) {
            CustomerScope::All => String::new(),
            CustomerScope::Team(team) => format!("AND {column} IN (SELECT id FROM app_user WHERE team_id = {team})"),
            CustomerScope::Owner(owner) => format!("AND {column} = {owner}"),
            CustomerScope::Nothing => "AND 1 = 0".to_owned(),
        }
    }

    /// A sub-select rendered with its values inlined (they are server-made).
    pub fn subquery(self, statement: &SelectStatement) -> String {
        if self.postgres() {
            statement.to_string(PostgresQueryBuilder)
        } else {
            statement.to_string(SqliteQueryBuilder)
        }
    }

    /// A date column as `YYYY-MM-DD` text.
    pub fn text_of_date(self, column: &str) -> String {
        if self.postgres() { format!("to_char({column}, 'YYYY-MM-DD')") } else { format!("CAST({column} AS TEXT)") }
    }

    /// The `n`th bound parameter (1-based): `$n` or `?n`.
    pub fn param(self, n: usize) -> String {
        if self.postgres() { format!("${n}") } else { format!("?{n}") }
    }

    /// `{column}` is one of the ids listed, comma-separated, in bound parameter `n`.
    pub fn in_id_list(self, column: &str, n: usize) -> String {
        let p = self.param(n);
        if self.postgres() {
            format!("{column} = ANY(CAST(string_to_array({p}, ',') AS BIGINT[]))")
        } else {
            format!("{column} IN (SELECT CAST(value AS INTEGER) FROM json_each('[' || {p} || ']'))")
        }
    }

    /// Runs a statement with bound values: its text stays the same from one
    /// request to the next, so the prepared statement and its plan are reused.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rows_with(
        self,
        db: &impl ConnectionTrait,
        sql: String,
        values: Vec<sea_orm::Value>,
    ) -> AppResult<Vec<QueryResult>> {
        let started = std::time::Instant::now();
        let rows = db.query_all_raw(Statement::from_sql_and_values(self.0, sql.clone(), values)).await?;
        tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, rows = rows.len(), %sql, "report statement");
        Ok(rows)
    }

    /// Runs a report statement.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rows(self, db: &impl ConnectionTrait, sql: String) -> AppResult<Vec<QueryResult>> {
        let started = std::time::Instant::now();
        let rows = db.query_all_raw(Statement::from_string(self.0, sql.clone())).await?;
        tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, rows = rows.len(), %sql, "report statement");
        Ok(rows)
    }
}

pub use crate::rules::{add_months, month_start};

/// The last day of `date`'s month.
pub fn month_end(date: NaiveDate) -> NaiveDate {
    add_months(month_start(date), 1).pred_opt().unwrap_or(date)
}

/// Reads an integer column, whatever integer type the backend returned.
pub fn int(row: &QueryResult, column: &str) -> AppResult<i64> {
    if let Ok(value) = row.try_get::<Option<i64>>("", column) {
        return Ok(value.unwrap_or(0));
    }
    if let Ok(value) = row.try_get::<Option<i32>>("", column) {
        return Ok(value.map(i64::from).unwrap_or(0));
    }
    Ok(row.try_get::<Option<f64>>("", column)?.map(|v| v.round() as i64).unwrap_or(0))
}

/// Reads a nullable integer column, whatever integer type the backend returned.
pub fn opt_int(row: &QueryResult, column: &str) -> AppResult<Option<i64>> {
    if let Ok(value) = row.try_get::<Option<i64>>("", column) {
        return Ok(value);
    }
    Ok(row.try_get::<Option<i32>>("", column)?.map(i64::from))
}

/// Reads a float column (a count or an average).
pub fn float(row: &QueryResult, column: &str) -> AppResult<Option<f64>> {
    if let Ok(value) = row.try_get::<Option<f64>>("", column) {
        return Ok(value);
    }
    Ok(row.try_get::<Option<i64>>("", column)?.map(|v| v as f64))
}

/// Reads a text column.
pub fn text(row: &QueryResult, column: &str) -> AppResult<Option<String>> {
    Ok(row.try_get::<Option<String>>("", column)?)
}

/// Reads a date column (a `date` on PostgreSQL, text on SQLite).
pub fn date(row: &QueryResult, column: &str) -> AppResult<Option<NaiveDate>> {
    if let Ok(value) = row.try_get::<Option<NaiveDate>>("", column) {
        return Ok(value);
    }
    let text = row.try_get::<Option<String>>("", column)?;
    Ok(text.and_then(|t| NaiveDate::parse_from_str(&t[..t.len().min(10)], "%Y-%m-%d").ok()))
}

/// Reads a timestamp column (a `timestamptz` on PostgreSQL, RFC 3339 text on SQLite).
pub fn timestamp(row: &QueryResult, column: &str) -> AppResult<Option<chrono::DateTime<chrono::Utc>>> {
    if let Ok(value) = row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", column) {
        return Ok(value);
    }
    let text = row.try_get::<Option<String>>("", column)?;
    Ok(text.and_then(|t| {
        chrono::DateTime::parse_from_rfc3339(&t)
            .or_else(|_| chrono::DateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f%:z"))
            .ok()
            .map(|at| at.with_timezone(&chrono::Utc))
    }))
}

/// Reads a boolean column (an integer on SQLite).
pub fn flag(row: &QueryResult, column: &str) -> AppResult<Option<bool>> {
    if let Ok(value) = row.try_get::<Option<bool>>("", column) {
        return Ok(value);
    }
    Ok(row.try_get::<Option<i64>>("", column)?.map(|v| v != 0))
}

/// `part / whole`, or `None` when the whole is zero.
pub fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole != 0.0).then(|| part / whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn month_arithmetic_clamps_to_the_month_end() {
        assert_eq!(add_months(d(2024, 1, 31), 1), d(2024, 2, 29));
        assert_eq!(add_months(d(2024, 3, 15), -12), d(2023, 3, 15));
        assert_eq!(month_end(d(2023, 2, 10)), d(2023, 2, 28));
        assert_eq!(month_start(d(2023, 2, 10)), d(2023, 2, 1));
    }
}
