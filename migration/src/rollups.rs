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

/// The 12-month spread of monthly figures: each row of `alias` counts in the
/// 12-month sums of its month and the 11 after. Returns the offsets to cross
/// join (`k`) and the month each row counts in.
pub fn spread_over_12_months(backend: DatabaseBackend, alias: &str) -> (String, String) {
    if backend == DatabaseBackend::Postgres {
        ("generate_series(0, 11) AS k(k)".to_owned(), format!("CAST({alias}.month + k.k * INTERVAL '1 month' AS DATE)"))
    } else {
        (
            "(WITH RECURSIVE o(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM o WHERE k < 11) SELECT k FROM o) AS k"
                .to_owned(),
            format!("date({alias}.month, '+' || k.k || ' months')"),
        )
    }
}

/// The 12-month rollup as `revenue_entry` says it should be: `customer_id,
/// month, revenue_cents, gross_profit_cents`.
pub fn expected_t12(backend: DatabaseBackend) -> String {
    let (offsets, shifted) = spread_over_12_months(backend, "r");
    format!(
        "SELECT r.customer_id, {shifted} AS month, CAST(SUM(r.revenue_cents) AS BIGINT) AS revenue_cents, \
           CAST(SUM(r.gross_profit_cents) AS BIGINT) AS gross_profit_cents \
         FROM revenue_entry r CROSS JOIN {offsets} GROUP BY r.customer_id, {shifted}"
    )
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
