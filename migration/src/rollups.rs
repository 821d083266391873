//! The revenue rollups the reports read instead of scanning every revenue row:
//!
//! - `revenue_t12`: for each customer and month M, the revenue and gross profit
//!   of the 12 months M-11..M (a row only where that is not nothing). Any
//!   "12 months up to a date" of any customer is one row.
//! - `revenue_by_owner`: per account owner and month, the revenue and gross
//!   profit of the owner's customers that are not archived (a month's total for
//!   a rep, a team or everyone is a few rows).
//!
//! - `customer_count`: live customers per owner and status, as rows of
//!   differences whose sum is the count (kept by triggers on `customer`, see
//!   the migration that made it).
//!
//! They are derived data: `rebuild` recomputes them from `revenue_entry` and
//! `customer`; the service keeps the revenue rollups current on every write
//! that changes them (revenue pushes, reassignment, archiving).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

/// The 12-month sums of monthly figures: for each customer of `monthly` (a
/// table or a sub-select of `customer_id, month, revenue_cents,
/// gross_profit_cents`, at most one row per customer and month, as
/// `revenue_entry` holds them and every write of it checks), the sums of the
/// months M-11..M at every month M from its first month to 11 months after
/// its last, where they are not nothing. A running sum over each customer's
/// months in order, so its cost follows the rows, not twelve times them.
pub fn trailing_12(backend: DatabaseBackend, monthly: &str) -> String {
    let months = if backend == DatabaseBackend::Postgres {
        format!(
            "SELECT s.customer_id, CAST(m AS DATE) AS month FROM ({spans}) s \
             CROSS JOIN generate_series(s.lo, s.hi + INTERVAL '11 months', INTERVAL '1 month') AS m",
            spans = spans(monthly)
        )
    } else {
        format!(
            "WITH RECURSIVE g(customer_id, month, last) AS ( \
               SELECT customer_id, lo, date(hi, '+11 months') FROM ({spans}) s \
               UNION ALL SELECT customer_id, date(month, '+1 month'), last FROM g WHERE month < last) \
             SELECT customer_id, month FROM g",
            spans = spans(monthly)
        )
    };
    let window = "OVER (PARTITION BY g.customer_id ORDER BY g.month ROWS BETWEEN 11 PRECEDING AND CURRENT ROW)";
    format!(
        "SELECT customer_id, month, revenue_cents, gross_profit_cents FROM ( \
           SELECT g.customer_id, g.month, \
             CAST(SUM(COALESCE(f.revenue_cents, 0)) {window} AS BIGINT) AS revenue_cents, \
             CAST(SUM(COALESCE(f.gross_profit_cents, 0)) {window} AS BIGINT) AS gross_profit_cents \
           FROM ({months}) g LEFT JOIN ({monthly}) f ON f.customer_id = g.customer_id AND f.month = g.month) t \
         WHERE revenue_cents <> 0 OR gross_profit_cents <> 0"
    )
}

fn spans(monthly: &str) -> String {
    format!("SELECT customer_id, MIN(month) AS lo, MAX(month) AS hi FROM ({monthly}) x GROUP BY customer_id")
}

/// The 12-month rollup as `revenue_entry` says it should be: `customer_id,
/// month, revenue_cents, gross_profit_cents`.
pub fn expected_t12(backend: DatabaseBackend) -> String {
    trailing_12(backend, "SELECT customer_id, month, revenue_cents, gross_profit_cents FROM revenue_entry")
}

/// The per-owner rollup as `revenue_entry` and `customer` say it should be:
/// `owner_id, month, revenue_cents, gross_profit_cents`.
pub fn expected_by_owner() -> &'static str {
    "SELECT c.owner_id, r.month, CAST(SUM(r.revenue_cents) AS BIGINT) AS revenue_cents, \
       CAST(SUM(r.gross_profit_cents) AS BIGINT) AS gross_profit_cents \
     FROM revenue_entry r JOIN customer c ON c.id = r.customer_id WHERE c.archived_at IS NULL \
     GROUP BY c.owner_id, r.month"
}

/// The kept customer counts as `customer` says they should be: `owner_id,
/// status, customers`, one row per key with live customers.
pub fn expected_customer_counts() -> &'static str {
    "SELECT owner_id, status, COUNT(*) AS customers FROM customer WHERE archived_at IS NULL GROUP BY owner_id, status"
}

/// The kept customer counts as they stand: the sum of each key's rows, keys
/// that sum to nothing left out.
pub fn kept_customer_counts() -> &'static str {
    "SELECT owner_id, status, CAST(SUM(customers) AS BIGINT) AS customers FROM customer_count \
     GROUP BY owner_id, status HAVING SUM(customers) <> 0"
}

/// Folds and rebuilds of the customer counts take turns (PostgreSQL): a
/// rebuild that started while a fold was replacing rows would not see the
/// fold's new row and would add its recount beside it.
const COUNTS_LOCK: &str = "SELECT pg_advisory_xact_lock(7268690001)";

/// Folds each key's rows of differences into one row (keys summing to
/// nothing into none), so reading a count stays a few rows. On PostgreSQL one
/// statement: its delete and its insert see the same snapshot, so a
/// concurrent writer's rows are either folded or left as they are, never
/// lost. SQLite runs one writer at a time, and the caller's transaction makes
/// its two statements one.
pub async fn fold_customer_counts(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(COUNTS_LOCK).await?;
        db.execute_unprepared(
            "WITH gone AS (DELETE FROM customer_count RETURNING owner_id, status, customers) \
             INSERT INTO customer_count (owner_id, status, customers) \
             SELECT owner_id, status, SUM(customers) FROM gone GROUP BY owner_id, status HAVING SUM(customers) <> 0",
        )
        .await?;
    } else {
        db.execute_unprepared(
            "CREATE TEMP TABLE IF NOT EXISTS customer_count_folded AS SELECT * FROM customer_count WHERE 0",
        )
        .await?;
        db.execute_unprepared(&format!("INSERT INTO customer_count_folded {}", kept_customer_counts())).await?;
        db.execute_unprepared("DELETE FROM customer_count").await?;
        db.execute_unprepared("INSERT INTO customer_count SELECT * FROM customer_count_folded").await?;
        db.execute_unprepared("DROP TABLE customer_count_folded").await?;
    }
    Ok(())
}

/// Recomputes every rollup from scratch (in the caller's transaction, if any).
/// On PostgreSQL the customer counts are deleted and recounted by one
/// statement, in one snapshot: a concurrent writer's customers and its rows of
/// differences are either both seen or both not, so none is lost or counted
/// twice; folds wait for it (and it for them).
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let recount = format!("INSERT INTO customer_count (owner_id, status, customers) {}", expected_customer_counts());
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(COUNTS_LOCK).await?;
        db.execute_unprepared(&format!("WITH gone AS (DELETE FROM customer_count) {recount}")).await?;
    } else {
        db.execute_unprepared("DELETE FROM customer_count").await?;
        db.execute_unprepared(&recount).await?;
    }
    rebuild_revenue(db).await
}

/// Recomputes the two revenue rollups from scratch (the migration that made
/// them runs this, before the customer counts exist).
pub async fn rebuild_revenue(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_unprepared("DELETE FROM revenue_t12").await?;
    db.execute_unprepared("DELETE FROM revenue_by_owner").await?;
    db.execute_unprepared(&format!(
        "INSERT INTO revenue_t12 (customer_id, month, revenue_cents, gross_profit_cents) {}",
        expected_t12(backend)
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO revenue_by_owner (owner_id, month, revenue_cents, gross_profit_cents) {}",
        expected_by_owner()
    ))
    .await?;
    Ok(())
}
