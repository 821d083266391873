//! Segments: the 80/20 split of the customer base, computed from each
//! customer's trailing-12-month revenue rank, gross profit and strategic
//! importance. The rules, in order:
//!
//! 1. BLEEDING: negative gross profit over the 12 months, whatever the size.
//! 2. No revenue in the 12 months: no segment.
//! 3. LARGE_QUALITY: in the top `large_percent` of revenue-earning customers
//!    by revenue, with a gross margin of at least `large_margin_percent`.
//! 4. AVERAGE: otherwise within the top `average_percent`.
//! 5. SMALL_QUALITY: the rest, with a margin of at least
//!    `quality_margin_percent` or HIGH strategic importance.
//! 6. SMALL_ORDINARY: everything else.
//!
//! Ranks are company-wide (a rep's customer is large or small against the
//! whole book, not against the rep's own), over live customers only (ACTIVE
//! or WON_BACK, not archived): lost, archived and prospective customers take
//! no slot and have no segment. The 12 months are the last 12 complete ones.
//! Segments as of today are stored on the customer (filterable, sortable) and
//! kept fresh by `crate::service::segments`; any other date is computed on read.

use chrono::NaiveDate;
use entity::enums::Segment;
use sea_orm::DatabaseConnection;

use crate::analytics::ratio;
use crate::db::rows::{int, text};
use crate::db::{Dialect, begin_read};
use crate::{error::AppResult, policy::Resource, policy::Viewer};

pub use crate::rules::segments::{SegmentRules, rank};

/// Which customers take a segment slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranked {
    /// Live now (`crate::rules::is_live`): the stored segments and the summary.
    LiveNow,
    /// Live on a past day by the churn events (not archived, started by then,
    /// its latest churn event on or before it not LOST): the segment a
    /// customer had then, for a report's start.
    LiveOn(NaiveDate),
}

/// Customer `alias` was live on `day` by its churn events.
fn live_on(dialect: Dialect, alias: &str, day: NaiveDate) -> String {
    format!(
        "{alias}.archived_at IS NULL AND {alias}.status <> 'PROSPECT' AND {start} <= {d} AND NOT ({lost})",
        start = crate::rules::customer_start_sql(alias),
        d = dialect.date(day),
        lost = lost_on(dialect, alias, day),
    )
}

/// Customer `alias`'s latest churn event on or before `day` is a loss.
fn lost_on(dialect: Dialect, alias: &str, day: NaiveDate) -> String {
    let day = dialect.date(day);
    format!(
        "COALESCE((SELECT e.kind FROM churn_event e WHERE e.customer_id = {alias}.id AND e.occurred_on <= {day} \
           ORDER BY e.occurred_on DESC, e.id DESC LIMIT 1), 'NONE') = 'LOST'"
    )
}

/// One row per customer: `customer_id`, `rev`, `gp` (the last 12 complete
/// months before `as_of`'s month, cents: `crate::rules::last_12_complete_months`),
/// `segment` (text or NULL) and `standing` (LIVE, or the exclusion reason:
/// ARCHIVED, LOST, NOT_A_CUSTOMER). Only live customers
/// (`crate::rules::is_live`) are ranked and get a segment: a lost, archived
/// or prospective customer takes no slot.
pub fn segment_sql(dialect: Dialect, rules: SegmentRules, as_of: NaiveDate, ranked: Ranked) -> String {
    // The 12 months are one row of the rollup per customer.
    let month = dialect.date(crate::rules::last_12_complete_months(as_of).last);
    let (live, live_k, lost) = match ranked {
        Ranked::LiveNow => {
            (crate::rules::live_customer_sql("c"), crate::rules::live_customer_sql("k"), "c.status = 'LOST'".to_owned())
        }
        Ranked::LiveOn(day) => (live_on(dialect, "c", day), live_on(dialect, "k", day), lost_on(dialect, "c", day)),
    };
    let SegmentRules { large_percent, average_percent, large_margin_percent, quality_margin_percent } = rules;
    format!(
        "SELECT c.id AS customer_id, COALESCE(r12.revenue_cents, 0) AS rev, COALESCE(r12.gross_profit_cents, 0) AS gp, \
           CASE WHEN {live} THEN 'LIVE' WHEN c.archived_at IS NOT NULL THEN 'ARCHIVED' \
                WHEN {lost} THEN 'LOST' ELSE 'NOT_A_CUSTOMER' END AS standing, \
           CASE WHEN t.customer_id IS NULL THEN NULL \
                WHEN t.gp < 0 THEN 'BLEEDING' \
                WHEN t.rev IS NULL OR t.rev <= 0 THEN NULL \
                WHEN (t.rnk - 1) * 100 < t.n * {large_percent} AND t.gp * 100 >= t.rev * {large_margin_percent} \
                  THEN 'LARGE_QUALITY' \
                WHEN (t.rnk - 1) * 100 < t.n * {average_percent} THEN 'AVERAGE' \
                WHEN t.gp * 100 >= t.rev * {quality_margin_percent} OR c.strategic_importance = 'HIGH' \
                  THEN 'SMALL_QUALITY' \
                ELSE 'SMALL_ORDINARY' END AS segment \
         FROM customer c \
         LEFT JOIN revenue_t12 r12 ON r12.customer_id = c.id AND r12.month = {month} \
         LEFT JOIN ( \
           SELECT r.customer_id, r.revenue_cents AS rev, r.gross_profit_cents AS gp, \
             ROW_NUMBER() OVER (ORDER BY r.revenue_cents DESC, r.customer_id) AS rnk, \
             SUM(CASE WHEN r.revenue_cents > 0 THEN 1 ELSE 0 END) OVER () AS n \
           FROM revenue_t12 r JOIN customer k ON k.id = r.customer_id AND {live_k} \
           WHERE r.month = {month} \
         ) t ON t.customer_id = c.id"
    )
}

/// One segment's share of the (visible) book.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentFigure {
    /// None: customers without revenue in the 12 months.
    pub segment: Option<Segment>,
    pub customers: i64,
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
    pub customer_share: Option<f64>,
    pub revenue_share: Option<f64>,
    pub gross_profit_share: Option<f64>,
}

/// Per segment, the visible customers' count, revenue and gross profit, and shares of the visible totals.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationSummary {
    pub as_of: NaiveDate,
    pub rules: SegmentRules,
    pub segments: Vec<SegmentFigure>,
    /// Visible customers that take no segment slot, by reason.
    pub excluded: Vec<crate::analytics::excluded::Excluded>,
}

fn parse_segment(text: Option<String>) -> Option<Segment> {
    use sea_orm::ActiveEnum;
    text.and_then(|t| Segment::try_from_value(&t).ok())
}

/// The segments of the viewer's customers as of a date (ranked company-wide).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn summary(
    db: &DatabaseConnection,
    viewer: &Viewer,
    rules: SegmentRules,
    as_of: NaiveDate,
) -> AppResult<SegmentationSummary> {
    let txn = begin_read(db).await?;
    let db = &txn;
    let dialect = Dialect::of(db);
    let visible = crate::policy::visible_sql(dialect, viewer, Resource::Customers, "s.customer_id");
    // The stored segments rank who is live now; another date ranks who was live then.
    let today = chrono::Utc::now().date_naive();
    let ranked = if as_of == today { Ranked::LiveNow } else { Ranked::LiveOn(as_of) };
    let sql = format!(
        "SELECT s.standing, s.segment, COUNT(*) AS customers, CAST(SUM(s.rev) AS BIGINT) AS rev, \
           CAST(SUM(s.gp) AS BIGINT) AS gp \
         FROM ({segments}) s WHERE 1 = 1 {visible} GROUP BY s.standing, s.segment",
        segments = segment_sql(dialect, rules, as_of, ranked)
    );
    let rows = dialect.rows(db, sql).await?;
    let mut figures = Vec::with_capacity(rows.len());
    let mut excluded = Vec::new();
    for row in &rows {
        match text(row, "standing")?.as_deref() {
            Some("LIVE") => figures.push((
                parse_segment(text(row, "segment")?),
                int(row, "customers")?,
                int(row, "rev")?,
                int(row, "gp")?,
            )),
            Some(reason) => {
                if let Some(reason) = crate::analytics::excluded::Exclusion::parse(reason) {
                    excluded.push(crate::analytics::excluded::Excluded { reason, count: int(row, "customers")? });
                }
            }
            None => {}
        }
    }
    excluded.sort_by_key(|e| e.reason);
    let (customers, revenue, profit) =
        figures.iter().fold((0, 0, 0), |(c, r, g), (_, customers, rev, gp)| (c + customers, r + rev, g + gp));
    let order = |s: &Option<Segment>| s.map_or(6, rank);
    figures.sort_by_key(|(segment, ..)| order(segment));
    let segments = figures
        .into_iter()
        .map(|(segment, count, rev, gp)| SegmentFigure {
            segment,
            customers: count,
            revenue_cents: rev,
            gross_profit_cents: gp,
            customer_share: ratio(count as f64, customers as f64),
            revenue_share: ratio(rev as f64, revenue as f64),
            gross_profit_share: ratio(gp as f64, profit as f64),
        })
        .collect();
    Ok(SegmentationSummary { as_of, rules, segments, excluded })
}
