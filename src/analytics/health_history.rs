//! The daily history of each customer's health (`customer_health_history`,
//! kept by the health snapshot: a row for each day the score or level
//! changed, the day's last figures), read for charts and trends.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::{
    db::{
        Dialect,
        rows::{date, int, text},
    },
    error::AppResult,
    policy::{self, Resource, Viewer},
};

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub day: NaiveDate,
    pub score: i64,
    pub level: String,
}

/// A customer's history over a range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryOf {
    pub customer_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn point(row: &sea_orm::QueryResult) -> AppResult<Option<(i64, Point)>> {
    let Some(day) = date(row, "day")? else { return Ok(None) };
    Ok(Some((
        int(row, "customer_id")?,
        Point { day, score: int(row, "score")?, level: text(row, "level")?.unwrap_or_default() },
    )))
}

/// Each key's points from `from` to `to` (inclusive), oldest first, starting
/// with the point in force on `from` (which may be older): one statement per
/// distinct range.
pub async fn ranges(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    keys: &[HistoryOf],
) -> AppResult<HashMap<HistoryOf, Vec<Point>>> {
    let dialect = Dialect::of(db);
    let mut found: HashMap<HistoryOf, Vec<Point>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = keys.iter().map(|k| (k.from, k.to)).collect();
    ranges.sort_unstable();
    ranges.dedup();
    for (from, to) in ranges {
        let ids: Vec<String> =
            keys.iter().filter(|k| (k.from, k.to) == (from, to)).map(|k| k.customer_id.to_string()).collect();
        let sql = format!(
            "SELECT h.customer_id, h.day, h.score, h.level FROM customer_health_history h \
             WHERE {ids} {visible} AND h.day <= {to} AND h.day >= COALESCE((SELECT MAX(p.day) FROM customer_health_history p \
               WHERE p.customer_id = h.customer_id AND p.day <= {from}), {from}) \
             ORDER BY h.customer_id, h.day",
            ids = dialect.in_id_list("h.customer_id", 1),
            visible = policy::visible_sql(dialect, viewer, Resource::Customers, "h.customer_id"),
            from = dialect.date(from),
            to = dialect.date(to),
        );
        for row in dialect.rows_with(db, sql, vec![ids.join(",").into()]).await? {
            if let Some((customer_id, point)) = point(&row)? {
                found.entry(HistoryOf { customer_id, from, to }).or_default().push(point);
            }
        }
    }
    Ok(found)
}

/// Each customer's point in force on `day` (none before its history begins): one statement.
pub async fn on_day(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: &[i64],
    day: NaiveDate,
) -> AppResult<HashMap<i64, Point>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let dialect = Dialect::of(db);
    let sql = format!(
        "SELECT h.customer_id, h.day, h.score, h.level FROM customer_health_history h \
         WHERE {ids} {visible} AND h.day = (SELECT MAX(p.day) FROM customer_health_history p \
           WHERE p.customer_id = h.customer_id AND p.day <= {day})",
        ids = dialect.in_id_list("h.customer_id", 1),
        visible = policy::visible_sql(dialect, viewer, Resource::Customers, "h.customer_id"),
        day = dialect.date(day),
    );
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let mut found = HashMap::new();
    for row in dialect.rows_with(db, sql, vec![list.into()]).await? {
        if let Some((customer_id, point)) = point(&row)? {
            found.insert(customer_id, point);
        }
    }
    Ok(found)
}
