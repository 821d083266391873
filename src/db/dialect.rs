//! The little SQL that SQLite and PostgreSQL spell differently, and running
//! a statement written as text. Every backend difference is decided here.
//!
//! Reports and set-based writes are written as SQL text because they are
//! window functions and CTEs that a query builder only obscures. Every value
//! they inline is one the server made itself (dates, integers, enum names,
//! subqueries rendered by sea-query); nothing a client sent is ever spliced in.

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, QueryResult, Statement,
    sea_query::{PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder},
};

use crate::error::AppResult;

/// The backend a statement runs on, and its spellings.
#[derive(Debug, Clone, Copy)]
pub struct Dialect(pub DatabaseBackend);

impl Dialect {
    pub fn of(db: &impl ConnectionTrait) -> Self {
        Self(db.get_database_backend())
    }

    pub fn postgres(self) -> bool {
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

    /// `a` and `b` differ, NULLs included.
    pub fn distinct(self, a: &str, b: &str) -> String {
        if self.postgres() { format!("{a} IS DISTINCT FROM {b}") } else { format!("{a} IS NOT {b}") }
    }

    /// ` FOR UPDATE` where rows can be locked (a SQLite write transaction holds the whole database).
    pub fn for_update(self) -> &'static str {
        if self.postgres() { " FOR UPDATE" } else { "" }
    }

    /// SQL written with `$n` placeholders, as this backend numbers them.
    pub fn numbered(self, sql: &str) -> String {
        if self.postgres() { sql.to_owned() } else { sql.replace('$', "?") }
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

    /// Inserts `rows` (each serialised as a JSON array, its values in the
    /// order of `columns`: name, SQL type) into those columns of `table` (the
    /// others take their defaults) in one statement
    /// bound to one text value, however many rows: a statement's cost on the
    /// client grows faster than its bound values.
    pub async fn insert_json_rows<R: serde::Serialize>(
        self,
        db: &impl ConnectionTrait,
        table: &str,
        columns: &[(&str, &str)],
        rows: &[R],
    ) -> AppResult<()> {
        let picked: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (name, sql_type))| {
                if self.postgres() {
                    format!("CAST(e ->> {i} AS {sql_type}) AS {name}")
                } else {
                    format!("json_extract(e.value, '$[{i}]') AS {name}")
                }
            })
            .collect();
        let elements =
            if self.postgres() { "json_array_elements(CAST($1 AS json)) AS e" } else { "json_each(?1) AS e" };
        let json = serde_json::to_string(rows).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        let names = columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
        db.execute_raw(Statement::from_sql_and_values(
            self.0,
            format!("INSERT INTO {table} ({names}) SELECT {} FROM {elements}", picked.join(", ")),
            [json.into()],
        ))
        .await?;
        Ok(())
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
