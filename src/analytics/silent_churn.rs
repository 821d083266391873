//! Silent churn: customers still marked ACTIVE (or WON_BACK) who stopped buying
//! long ago, without anyone recording a loss. Most losses look like this; the
//! list lets a rep confirm each one and record its reason.

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::db::rows::{date, int};
use crate::db::{Dialect, begin_read};
use crate::rules::{add_months, month_start};
use crate::{
    error::{AppError, AppResult},
    policy::Resource,
    policy::Viewer,
};

/// One customer that went quiet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silent {
    pub customer_id: i64,
    /// The last month with revenue.
    pub last_revenue_month: NaiveDate,
    /// Revenue in the 12 months up to and including that month.
    pub revenue_before_cents: i64,
}

/// The viewer's customers without revenue in the last `inactive_months` whole
/// months before `today` (but with some before), still ACTIVE or WON_BACK and
/// whose latest churn event (if any) is not a loss; the most valuable first.
/// `offset`/`limit` page through them (the list is computed, not stored).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn silent_churn(
    db: &DatabaseConnection,
    viewer: &Viewer,
    inactive_months: u32,
    today: NaiveDate,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<Silent>, i64)> {
    if !(1..=36).contains(&inactive_months) {
        return Err(AppError::bad_input("inactiveMonths", "inactiveMonths must be between 1 and 36"));
    }
    let txn = begin_read(db).await?;
    let db = &txn;
    let dialect = Dialect::of(db);
    let visible = crate::policy::visible_sql(dialect, viewer, Resource::Customers, "c.id");
    let months = i32::try_from(inactive_months).unwrap_or(36);
    let quiet_since = dialect.date(add_months(month_start(today), -months));
    // Ranked by what they were worth, unless the viewer may not read revenue: then
    // the longest quiet first, so the order tells nothing of the amounts.
    let order =
        if viewer.may_read(crate::policy::SensitiveField::Revenue) { "revenue_before DESC" } else { "last_month ASC" };
    let sql = format!(
        "WITH last AS ( \
           SELECT r.customer_id, MAX(r.month) AS last_month FROM revenue_entry r \
           JOIN customer c ON c.id = r.customer_id \
           WHERE r.revenue_cents > 0 AND {live} \
             {visible} \
             AND NOT EXISTS (SELECT 1 FROM churn_event e WHERE e.customer_id = c.id AND e.kind = 'LOST' \
               AND NOT EXISTS (SELECT 1 FROM churn_event w WHERE w.customer_id = c.id AND w.kind = 'WON_BACK' \
                 AND (w.occurred_on > e.occurred_on OR (w.occurred_on = e.occurred_on AND w.id > e.id)))) \
           GROUP BY r.customer_id HAVING MAX(r.month) < {quiet_since}), \
         candidates AS ( \
           SELECT last.customer_id, last.last_month, \
             CAST(COALESCE(SUM(r.revenue_cents), 0) AS BIGINT) AS revenue_before, COUNT(*) OVER () AS total \
           FROM last JOIN revenue_entry r ON r.customer_id = last.customer_id \
             AND r.month <= last.last_month AND r.month > {year_before} \
           GROUP BY last.customer_id, last.last_month) \
         SELECT customer_id, last_month, revenue_before, total FROM candidates \
         ORDER BY {order}, customer_id LIMIT {limit} OFFSET {offset}",
        year_before = dialect.plus_months_back("last.last_month", 12),
        live = crate::rules::live_customer_sql("c"),
    );
    let rows = dialect.rows(db, sql).await?;
    let total = rows.first().map(|r| int(r, "total")).transpose()?.unwrap_or(0);
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(last_revenue_month) = date(&row, "last_month")? else { continue };
        found.push(Silent {
            customer_id: int(&row, "customer_id")?,
            last_revenue_month,
            revenue_before_cents: int(&row, "revenue_before")?,
        });
    }
    Ok((found, total))
}

/// The viewer's live customers that cannot be silent churn because they
/// never bought anything (a book loaded without its revenue shows none).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn excluded(
    db: &DatabaseConnection,
    viewer: &Viewer,
) -> AppResult<Vec<crate::analytics::excluded::Excluded>> {
    let dialect = Dialect::of(db);
    let live = crate::rules::live_customer_sql("c");
    crate::analytics::excluded::count(
        db,
        dialect,
        viewer,
        &format!(
            "CASE WHEN {live} AND NOT EXISTS (SELECT 1 FROM revenue_entry r WHERE r.customer_id = c.id \
               AND r.revenue_cents > 0) THEN 'NEVER_BOUGHT' END"
        ),
    )
    .await
}
