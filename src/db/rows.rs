//! Reading columns of rows returned by statements written as text, whatever
//! type each backend returned (integers of any width, dates and timestamps as
//! values on PostgreSQL and as text on SQLite, booleans as integers on SQLite).

use chrono::NaiveDate;
use sea_orm::QueryResult;

use crate::error::AppResult;

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
