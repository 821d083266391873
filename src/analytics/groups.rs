//! Groups: a key account is often a parent with subsidiaries. A customer's
//! group is the tree under its top visible ancestor, by the hierarchy as it is
//! now: the walk up stops at the first ancestor the viewer may not see (or that
//! is archived), so a hidden parent neither shows nor joins two groups the
//! viewer sees apart; the walk down keeps to what the viewer sees. Both walks
//! are recursive queries bounded at [`MAX_GROUP_DEPTH`] levels.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use crate::{
    db::{
        Dialect,
        rows::{int, opt_int, text},
    },
    error::AppResult,
    policy::{self, Resource, Viewer},
};

/// Deepest hierarchy a group walk follows.
pub const MAX_GROUP_DEPTH: i32 = 16;

/// `{name}(start, top)`: for each customer of `anchor` (a condition on
/// `c`) the viewer sees, its top visible ancestor (itself when it has none),
/// as CTEs to put after `WITH RECURSIVE`.
pub fn top_ancestor_ctes(dialect: Dialect, viewer: &Viewer, name: &str, anchor: &str) -> String {
    let visible = |column: &str| policy::visible_sql(dialect, viewer, Resource::Customers, column);
    format!(
        "{name}_up(start, top, depth) AS ( \
           SELECT c.id, c.id, 0 FROM customer c WHERE {anchor} {visible_c} \
           UNION ALL \
           SELECT u.start, p.id, u.depth + 1 FROM {name}_up u JOIN customer cur ON cur.id = u.top \
             JOIN customer p ON p.id = cur.parent_id \
             WHERE u.depth < {MAX_GROUP_DEPTH} AND p.archived_at IS NULL {visible_p}), \
         {name}(start, top) AS (SELECT start, top FROM (SELECT start, top, \
           ROW_NUMBER() OVER (PARTITION BY start ORDER BY depth DESC) AS rn FROM {name}_up) z WHERE rn = 1)",
        visible_c = visible("c.id"),
        visible_p = visible("p.id"),
    )
}

/// A group's figures, as the viewer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFigures {
    /// The top visible ancestor.
    pub top_id: i64,
    /// Customers in the group (the top included), not archived.
    pub customers: i64,
    /// Revenue and gross profit of the last 12 complete months.
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
    pub open_tickets: i64,
    /// Open tickets past their first-response or resolution target.
    pub sla_breached_tickets: i64,
    pub overdue_commitments: i64,
    /// The lowest health score among the members with one.
    pub worst_score: Option<i64>,
    /// Scores weighted by each member's revenue of the last 12 months (their
    /// plain mean when the group has no revenue).
    pub weighted_score: Option<f64>,
    /// Members whose level is AT_RISK or CRITICAL.
    pub at_risk: Vec<i64>,
}

/// The group figures of each of `starts` (customers the viewer sees; others
/// get none), in one statement.
pub async fn figures(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    starts: &[i64],
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<HashMap<i64, GroupFigures>> {
    if starts.is_empty() {
        return Ok(HashMap::new());
    }
    let dialect = Dialect::of(db);
    let visible = policy::visible_sql(dialect, viewer, Resource::Customers, "c.id");
    let anchor = dialect.in_id_list("c.id", 1);
    let tops = top_ancestor_ctes(dialect, viewer, "grp", &anchor);
    let open = crate::rules::sla::open_ticket_sql("t");
    let breached = crate::rules::sla::breached_flag_sql("t", &dialect.instant(now));
    let at_risk = dialect.distinct_list("CASE WHEN m.level IN ('AT_RISK', 'CRITICAL') THEN CAST(m.id AS TEXT) END");
    let sql = format!(
        "WITH RECURSIVE {tops}, \
         down(top, id, depth) AS ( \
           SELECT DISTINCT top, top, 0 FROM grp \
           UNION ALL \
           SELECT d.top, c.id, d.depth + 1 FROM down d JOIN customer c ON c.parent_id = d.id \
             WHERE d.depth < {MAX_GROUP_DEPTH} AND c.archived_at IS NULL {visible}), \
         members AS (SELECT d.top, c.id, COALESCE(r.revenue_cents, 0) AS revenue, \
             COALESCE(r.gross_profit_cents, 0) AS gross_profit, h.score, h.level, \
             (SELECT COUNT(*) FROM ticket t WHERE t.customer_id = c.id AND t.archived_at IS NULL AND {open}) AS open_tickets, \
             (SELECT COUNT(*) FROM ticket t WHERE t.customer_id = c.id AND t.archived_at IS NULL AND {open} \
                AND {breached} = 1) AS breached, \
             (SELECT COUNT(*) FROM commitment o WHERE o.customer_id = c.id AND {overdue}) AS overdue \
           FROM (SELECT DISTINCT top, id FROM down) d JOIN customer c ON c.id = d.id LEFT JOIN customer_health h ON h.customer_id = c.id \
           LEFT JOIN revenue_t12 r ON r.customer_id = c.id AND r.month = {last_complete}), \
         figures AS (SELECT m.top, COUNT(*) AS customers, CAST(SUM(m.revenue) AS BIGINT) AS revenue, \
             CAST(SUM(m.gross_profit) AS BIGINT) AS gross_profit, CAST(SUM(m.open_tickets) AS BIGINT) AS open_tickets, \
             CAST(SUM(m.breached) AS BIGINT) AS breached, CAST(SUM(m.overdue) AS BIGINT) AS overdue, \
             MIN(m.score) AS worst, \
             CAST(SUM(CASE WHEN m.score IS NOT NULL THEN m.score * m.revenue ELSE 0 END) AS DOUBLE PRECISION) AS weighted, \
             CAST(SUM(CASE WHEN m.score IS NOT NULL THEN m.revenue ELSE 0 END) AS DOUBLE PRECISION) AS weight, \
             CAST(AVG(m.score) AS DOUBLE PRECISION) AS mean, {at_risk} AS at_risk \
           FROM members m GROUP BY m.top) \
         SELECT g.start, f.* FROM grp g JOIN figures f ON f.top = g.top",
        overdue = crate::rules::overdue_commitment_sql("o", &dialect.date(today)),
        last_complete = dialect.date(crate::rules::last_12_complete_months(today).last),
    );
    let list = starts.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows = dialect.rows_with(db, sql, vec![list.into()]).await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let float = |column: &str| -> AppResult<Option<f64>> { Ok(row.try_get::<Option<f64>>("", column)?) };
        let (weighted, weight, mean) = (float("weighted")?, float("weight")?, float("mean")?);
        let weighted_score = match (weighted, weight) {
            (Some(w), Some(total)) if total > 0.0 => Some(w / total),
            _ => mean,
        };
        let mut at_risk: Vec<i64> =
            text(row, "at_risk")?.unwrap_or_default().split(',').filter_map(|id| id.trim().parse().ok()).collect();
        at_risk.sort_unstable();
        found.insert(
            int(row, "start")?,
            GroupFigures {
                top_id: int(row, "top")?,
                customers: int(row, "customers")?,
                revenue_cents: int(row, "revenue")?,
                gross_profit_cents: int(row, "gross_profit")?,
                open_tickets: int(row, "open_tickets")?,
                sla_breached_tickets: int(row, "breached")?,
                overdue_commitments: int(row, "overdue")?,
                worst_score: opt_int(row, "worst")?,
                weighted_score: weighted_score.map(|s| (s * 10.0).round() / 10.0),
                at_risk,
            },
        );
    }
    Ok(found)
}
