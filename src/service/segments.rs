//! Keeps each customer's stored segment, segment rank and trailing-12-month
//! revenue and gross profit current (`crate::analytics::segments` defines
//! them). They are derived data, so a recompute changes neither `version` nor
//! `updatedAt`.
//!
//! Stored rather than computed on every read, because `segment` is a filter and
//! a sort of the customer list, and a segment depends on the whole book (a
//! rank): computing it per request would scan every customer's revenue. A
//! recompute is one UPDATE over the book. It runs at start, after every revenue
//! push, archive or strategic-importance change (coalesced: a burst of pushes
//! costs one recompute), and when the date changes (the 12 months move):
//! `crate::jobs::segments` runs it.

use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use tokio::sync::Notify;

use crate::{
    analytics::segments::{Ranked, SegmentRules, segment_sql},
    db::Dialect,
    error::AppResult,
};

/// Recomputes every customer's segment as of `today`; returns the rows changed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn recompute(db: &impl ConnectionTrait, rules: SegmentRules, today: NaiveDate) -> AppResult<u64> {
    let dialect = Dialect::of(db);
    let differs = |column: &str, value: &str| dialect.distinct(&format!("customer.{column}"), value);
    let sql = format!(
        "UPDATE customer SET segment = s.segment, \
           segment_rank = CASE s.segment WHEN 'LARGE_QUALITY' THEN 1 WHEN 'AVERAGE' THEN 2 \
             WHEN 'SMALL_QUALITY' THEN 3 WHEN 'SMALL_ORDINARY' THEN 4 WHEN 'BLEEDING' THEN 5 ELSE 6 END, \
           revenue_t12m_cents = s.rev, gross_profit_t12m_cents = s.gp \
         FROM ({segments}) AS s \
         WHERE customer.id = s.customer_id AND ({segment_changed} OR {rev_changed} OR {gp_changed})",
        segments = segment_sql(dialect, rules, today, Ranked::LiveNow),
        segment_changed = differs("segment", "s.segment"),
        rev_changed = differs("revenue_t12m_cents", "s.rev"),
        gp_changed = differs("gross_profit_t12m_cents", "s.gp"),
    );
    let result = db.execute_raw(sea_orm::Statement::from_string(dialect.0, sql)).await?;
    Ok(result.rows_affected())
}

/// Coalesces requests for a recompute into one background run at a time.
#[derive(Clone, Default)]
pub struct SegmentKeeper {
    wanted: Arc<Notify>,
}

impl SegmentKeeper {
    /// Asks for a recompute soon (after a short quiet period).
    pub fn request(&self) {
        self.wanted.notify_one();
    }

    /// Resolves at the next request.
    pub async fn requested(&self) {
        self.wanted.notified().await;
    }
}
