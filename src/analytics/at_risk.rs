//! The at-risk list: the viewer's live accounts (ACTIVE or WON_BACK, not
//! archived) at or below a health level, worst first (score ascending, then
//! revenue descending: of two equally sick accounts the bigger one first).
//! It ranks the health snapshot (`customer_health`), read through its indexes
//! on (score, revenue descending, customer) and (owner, the same) of live
//! accounts. `totalCount` counts the snapshot (owner and status as of each
//! row's last computation, which changes through the API reach before the list
//! answers).

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::db::Dialect;
use crate::db::rows::{int, text, timestamp};
use crate::{
    analytics::health::{AccountHealth, HealthLevel, HealthRules, Signal},
    error::{AppError, AppResult},
    policy::Resource,
    policy::Viewer,
};

/// One page of the list.
#[derive(Debug, Clone)]
pub struct AtRiskPage {
    pub rows: Vec<(AccountHealth, i64)>,
    pub has_next: bool,
    /// Every account the list holds, when asked for.
    pub total: Option<i64>,
}

/// The score below which a level (or a worse one) starts.
fn ceiling(rules: &HealthRules, level: HealthLevel) -> i32 {
    match level {
        HealthLevel::Critical => rules.critical_below,
        HealthLevel::AtRisk => rules.at_risk_below,
        HealthLevel::Watch => rules.watch_below,
        HealthLevel::Healthy => 101,
    }
}

/// `first` accounts after the account `after` (a customer id of an earlier page).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn page(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    rules: &HealthRules,
    min_level: HealthLevel,
    first: u64,
    after: Option<i64>,
    with_total: bool,
) -> AppResult<AtRiskPage> {
    let dialect = Dialect::of(db);
    // The candidates come from the narrow indexes alone (owner, live and the
    // order are in the snapshot); the page's rows are then checked against the
    // customers as they are now, so a row the snapshot has not caught up with
    // is never shown to someone who may no longer see it.
    let candidates = format!(
        "FROM customer_health h WHERE h.live AND h.score < {ceiling} {owners}",
        ceiling = ceiling(rules, min_level),
        owners = crate::policy::visible_owner_sql(dialect, viewer, Resource::Customers, "h.owner_id"),
    );
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let past = match after {
        None => String::new(),
        Some(cursor) => {
            values.push(cursor.into());
            let id = dialect.param(1);
            // The cursor row's place, read from the snapshot as it is now.
            let at = |column: &str| format!("(SELECT x.{column} FROM customer_health x WHERE x.customer_id = {id})");
            let (score, revenue) = (at("score"), at("revenue_t12m_cents"));
            format!(
                "AND (h.score > {score} OR (h.score = {score} AND (h.revenue_t12m_cents < {revenue} \
                   OR (h.revenue_t12m_cents = {revenue} AND h.customer_id > {id}))))"
            )
        }
    };
    let sql = format!(
        "SELECT p.customer_id, p.score, h.level, p.revenue_t12m_cents, h.signals, h.computed_at \
         FROM (SELECT h.customer_id, h.score, h.revenue_t12m_cents {candidates} {past} \
               ORDER BY h.score, h.revenue_t12m_cents DESC, h.customer_id LIMIT {limit}) p \
         JOIN customer_health h ON h.customer_id = p.customer_id \
         JOIN customer c ON c.id = p.customer_id AND {live} \
         WHERE 1 = 1 {visible} \
         ORDER BY p.score, p.revenue_t12m_cents DESC, p.customer_id",
        limit = first + 1,
        visible = crate::policy::visible_sql(dialect, viewer, Resource::Customers, "c.id"),
        live = crate::rules::live_customer_sql("c"),
    );
    let rows = dialect.rows_with(db, sql, values).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let signals: Vec<Signal> = serde_json::from_str(&text(row, "signals")?.unwrap_or_default())
            .map_err(|e| AppError::Internal(format!("health snapshot: {e}")))?;
        let level = text(row, "level")?.and_then(|l| HealthLevel::parse(&l)).unwrap_or(HealthLevel::Critical);
        let computed_at: DateTime<Utc> = timestamp(row, "computed_at")?.unwrap_or_default();
        let health = AccountHealth {
            customer_id: int(row, "customer_id")?,
            score: int(row, "score")? as i32,
            level,
            computed_at,
            signals,
        };
        out.push((health, int(row, "revenue_t12m_cents")?));
    }
    let has_next = out.len() as u64 > first;
    out.truncate(first as usize);
    let total = if with_total {
        let rows = dialect.rows(db, format!("SELECT COUNT(*) AS n {candidates}")).await?;
        Some(rows.first().map(|r| int(r, "n")).transpose()?.unwrap_or(0))
    } else {
        None
    };
    Ok(AtRiskPage { rows: out, has_next, total })
}
