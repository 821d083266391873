//! The 80/20 rule, measured: how much of the revenue and gross profit the top
//! fifth of customers bring, how much profit loss-making customers eat, how
//! few customers make 80% of the revenue, and the Lorenz curve of it all.
//! Counted over the viewer's customers with revenue in the period.

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::analytics::ratio;
use crate::db::rows::{float, int, text};
use crate::db::{Dialect, begin_read};
use crate::rules::{add_months, month_start};
use crate::{error::AppResult, policy::Resource, policy::Viewer};

/// The share of customers called "the top" (the 20 of 80/20).
pub const TOP_PERCENT: i64 = 20;

/// One point of the Lorenz curve: the smallest `customer_share` of customers
/// (by revenue, ascending) bring `revenue_share` of the revenue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LorenzPoint {
    pub customer_share: f64,
    pub revenue_share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParetoReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Customers with revenue or gross profit in the period.
    pub customers: i64,
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
    /// `ceil(customers × 20%)`.
    pub top_customers: i64,
    pub top_revenue_cents: i64,
    pub top_gross_profit_cents: i64,
    pub loss_making_customers: i64,
    /// Gross profit lost on loss-making customers (a positive amount).
    pub losses_cents: i64,
    /// Gross profit of the customers that made one.
    pub profits_cents: i64,
    pub customers_for_80_percent: i64,
    pub points: Vec<LorenzPoint>,
    /// The viewer's customers left out (archived, or without revenue or gross profit in the period).
    pub excluded: Vec<crate::analytics::excluded::Excluded>,
}

impl ParetoReport {
    pub fn top_revenue_share(&self) -> Option<f64> {
        ratio(self.top_revenue_cents as f64, self.revenue_cents as f64)
    }
    pub fn top_gross_profit_share(&self) -> Option<f64> {
        ratio(self.top_gross_profit_cents as f64, self.gross_profit_cents as f64)
    }
    /// The share of the profit made on profitable customers that loss-making ones ate.
    pub fn profit_eaten_share(&self) -> Option<f64> {
        ratio(self.losses_cents as f64, self.profits_cents as f64)
    }
}

/// Each customer's revenue and gross profit over the months of `[from, to]`.
/// Exactly the 12 months up to a month: one row of the rollup per customer;
/// any other period sums the revenue rows.
fn totals_sql(dialect: Dialect, visible: &str, from: NaiveDate, to: NaiveDate) -> String {
    let (first, last) = (month_start(from), month_start(to));
    if add_months(first, 11) == last {
        format!(
            "SELECT r.customer_id, r.revenue_cents AS rev, r.gross_profit_cents AS gp \
             FROM revenue_t12 r JOIN customer c ON c.id = r.customer_id \
             WHERE r.month = {month} AND c.archived_at IS NULL {visible} \
               AND (r.revenue_cents <> 0 OR r.gross_profit_cents <> 0)",
            month = dialect.date(last),
        )
    } else {
        format!(
            "SELECT r.customer_id, CAST(SUM(r.revenue_cents) AS BIGINT) AS rev, CAST(SUM(r.gross_profit_cents) AS BIGINT) AS gp \
             FROM revenue_entry r JOIN customer c ON c.id = r.customer_id \
             WHERE r.month >= {first} AND r.month <= {to} AND c.archived_at IS NULL {visible} \
             GROUP BY r.customer_id HAVING SUM(r.revenue_cents) <> 0 OR SUM(r.gross_profit_cents) <> 0",
            first = dialect.date(first),
            to = dialect.date(to),
        )
    }
}

/// One statement over `totals`: the summary (`part` S) and one curve row
/// where the whole percentile changes (C: at most 100 points).
fn summary_and_curve_sql(totals: &str) -> String {
    format!(
        "WITH totals AS ({totals}), \
         ranked AS ( \
           SELECT rev, gp, \
             ROW_NUMBER() OVER (ORDER BY rev DESC, customer_id) AS rn_desc, \
             CAST(SUM(rev) OVER (ORDER BY rev DESC, customer_id ROWS UNBOUNDED PRECEDING) AS BIGINT) AS cum_desc, \
             ROW_NUMBER() OVER (ORDER BY rev, customer_id) AS rn_asc, \
             CAST(SUM(rev) OVER (ORDER BY rev, customer_id ROWS UNBOUNDED PRECEDING) AS BIGINT) AS cum_asc, \
             COUNT(*) OVER () AS n, CAST(SUM(rev) OVER () AS BIGINT) AS total \
           FROM totals) \
         SELECT 'S' AS part, COUNT(*) AS n, CAST(COALESCE(SUM(rev), 0) AS BIGINT) AS rev, \
           CAST(COALESCE(SUM(gp), 0) AS BIGINT) AS gp, \
           CAST(COALESCE(SUM(CASE WHEN (rn_desc - 1) * 100 < n * {TOP_PERCENT} THEN rev ELSE 0 END), 0) AS BIGINT) AS top_rev, \
           CAST(COALESCE(SUM(CASE WHEN (rn_desc - 1) * 100 < n * {TOP_PERCENT} THEN gp ELSE 0 END), 0) AS BIGINT) AS top_gp, \
           CAST(COALESCE(SUM(CASE WHEN gp < 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS loss_makers, \
           CAST(COALESCE(SUM(CASE WHEN gp < 0 THEN -gp ELSE 0 END), 0) AS BIGINT) AS losses, \
           CAST(COALESCE(SUM(CASE WHEN gp > 0 THEN gp ELSE 0 END), 0) AS BIGINT) AS profits, \
           CAST(COALESCE(MIN(CASE WHEN cum_desc * 10 >= total * 8 THEN rn_desc END), 0) AS BIGINT) AS for_80 \
         FROM ranked \
         UNION ALL SELECT 'C', n, cum_asc, total, rn_asc, 0, 0, 0, 0, 0 FROM ranked \
         WHERE rn_asc = n OR (rn_asc * 100) / n <> ((rn_asc - 1) * 100) / n"
    )
}

/// The Lorenz curve from the statement's C rows, from the origin up.
fn lorenz_curve(rows: &[sea_orm::QueryResult]) -> AppResult<Vec<LorenzPoint>> {
    let mut curve = Vec::new();
    for row in rows {
        if matches!(text(row, "part")?.as_deref(), Some("C")) {
            curve.push((int(row, "top_rev")?, int(row, "n")?, float(row, "rev")?, float(row, "gp")?));
        }
    }
    curve.sort_by_key(|point| point.0);
    let mut points = vec![LorenzPoint { customer_share: 0.0, revenue_share: 0.0 }];
    for (rn, n, cumulative, total) in curve {
        points.push(LorenzPoint {
            customer_share: ratio(rn as f64, n as f64).unwrap_or(0.0),
            revenue_share: ratio(cumulative.unwrap_or(0.0), total.unwrap_or(0.0)).unwrap_or(0.0),
        });
    }
    Ok(points)
}

/// The 80/20 report of the viewer's customers over the months of `[from, to]`.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn report(
    db: &DatabaseConnection,
    viewer: &Viewer,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<ParetoReport> {
    crate::analytics::retention::check_window(from, to)?;
    let txn = begin_read(db).await?;
    let db = &txn;
    let dialect = Dialect::of(db);
    let visible = crate::policy::visible_sql(dialect, viewer, Resource::Customers, "c.id");
    let sql = summary_and_curve_sql(&totals_sql(dialect, &visible, from, to));
    let rows = dialect.rows(db, sql).await?;
    let summary = rows.iter().find(|row| matches!(text(row, "part"), Ok(Some(part)) if part == "S"));
    let points = lorenz_curve(&rows)?;
    let get = |column: &str| summary.map_or(Ok(0), |r| int(r, column));
    let customers = get("n")?;
    let mut excluded = crate::analytics::excluded::count(
        db,
        dialect,
        viewer,
        "CASE WHEN c.archived_at IS NOT NULL THEN 'ARCHIVED' ELSE 'NO_REVENUE_IN_WINDOW' END",
    )
    .await?;
    // Every customer not archived is counted or has nothing in the period.
    for e in &mut excluded {
        if e.reason == crate::analytics::excluded::Exclusion::NoRevenueInWindow {
            e.count -= customers;
        }
    }
    excluded.retain(|e| e.count > 0);
    Ok(ParetoReport {
        excluded,
        from,
        to,
        customers,
        revenue_cents: get("rev")?,
        gross_profit_cents: get("gp")?,
        top_customers: (customers * TOP_PERCENT + 99) / 100,
        top_revenue_cents: get("top_rev")?,
        top_gross_profit_cents: get("top_gp")?,
        loss_making_customers: get("loss_makers")?,
        losses_cents: get("losses")?,
        profits_cents: get("profits")?,
        customers_for_80_percent: get("for_80")?,
        points,
    })
}
