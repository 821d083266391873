//! The revenue rollups the reports read instead of scanning every revenue row:
//!
//! - `revenue_t12`: for each customer and month M, the revenue and gross profit
//!   of the 12 months M-11..M (a row only where that is not nothing). Any
//!   "12 months up to a date" of any customer is one row.
//! - `revenue_by_owner`: per account owner and month, the revenue and gross
//!   profit of the owner's customers that are not archived (a month's total for
//!   a rep, a team or everyone is a few rows).
//!
//! They are derived data: `rebuild` recomputes both from `revenue_entry` and
//! `customer`; the service keeps them current on every write that changes them
//! (revenue pushes, reassignment, archiving).

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

/// Recomputes both rollups from scratch (in the caller's transaction, if any).
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<(), DbErr> {
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
