//! A backtest of the health score on the company's own history: would the
//! score have warned in time?
//!
//! The unit is a customer-month: a live customer at a month start in the
//! window, scored as of that instant by the same function as the live score
//! (`crate::analytics::health::assess` over facts read as they were then,
//! `crate::analytics::health_facts::load_as_of`), and counted as a loss when
//! a LOST churn event follows within the horizon (after the month start, at
//! most `horizon_days` later). Per level: the customer-months, their losses,
//! the loss rate and its lift over the base rate. The AUC takes `100 - score`
//! as the risk: the chance that a customer-month that was lost carries a
//! higher risk than one that was not, ties counting one half (Mann-Whitney).
//! A loss is flagged in advance when the customer was AT_RISK or worse at a
//! month start within the horizon before it; recall is the share of the
//! losses so flagged, and the days ahead count from the first such flag. A
//! month start whose horizon has not passed yet is left out: whether its
//! customers were kept is not known.

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::ConnectionTrait;

use crate::{
    analytics::{
        health::assess,
        health_facts::{Customers, load_as_of},
    },
    db::{Dialect, rows::date, rows::int},
    error::{AppError, AppResult},
    policy::{self, Resource, Viewer},
    rules::health::{HealthLevel, HealthRules},
};

/// The longest window (months) and horizon (days) a backtest takes.
pub const MAX_MONTHS: usize = 60;
pub const MAX_HORIZON_DAYS: i64 = 730;

/// One level's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelFigures {
    pub level: HealthLevel,
    pub customers: i64,
    pub losses: i64,
    pub loss_rate: Option<f64>,
    pub lift: Option<f64>,
}

/// The backtest's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    pub customers_scored: i64,
    pub base_rate: Option<f64>,
    pub auc: Option<f64>,
    pub recall: Option<f64>,
    pub median_days_ahead: Option<f64>,
    pub levels: Vec<LevelFigures>,
}

/// The month starts from `from` to `to`, both included.
fn month_starts(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut month = from.with_day(1).unwrap_or(from);
    if month < from {
        month = crate::rules::add_months(month, 1);
    }
    let mut starts = Vec::new();
    while month <= to {
        starts.push(month);
        month = crate::rules::add_months(month, 1);
    }
    starts
}

/// Backtests read the whole book once per month start: one runs at a time on
/// an instance, the others wait their turn, so a burst of them cannot take
/// the database from everyone else.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs the backtest over the viewer's customers.
pub async fn run(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    rules: &HealthRules,
    from: NaiveDate,
    to: NaiveDate,
    horizon_days: i64,
) -> AppResult<Backtest> {
    if from > to {
        return Err(AppError::bad_input("from", "from must not be after to"));
    }
    if !(1..=MAX_HORIZON_DAYS).contains(&horizon_days) {
        return Err(AppError::bad_input(
            "horizonDays",
            format!("horizonDays must be between 1 and {MAX_HORIZON_DAYS}"),
        ));
    }
    let today = crate::db::now().date_naive();
    if to > today {
        return Err(AppError::bad_input("to", "to must not be in the future"));
    }
    // A month start whose horizon has not passed yet cannot say whether the customer was kept.
    let starts: Vec<NaiveDate> =
        month_starts(from, to).into_iter().filter(|s| *s + Duration::days(horizon_days) <= today).collect();
    if starts.len() > MAX_MONTHS {
        return Err(AppError::bad_input("to", format!("the window holds at most {MAX_MONTHS} month starts")));
    }
    let _turn = RUNNING.acquire().await.map_err(|_| AppError::Internal("the backtest gate closed".to_owned()))?;
    let mut losses: std::collections::HashMap<i64, Vec<NaiveDate>> = std::collections::HashMap::new();
    for (customer, on) in lost_events(db, viewer).await? {
        losses.entry(customer).or_default().push(on);
    }
    // (customer, month start, score, level, the loss that follows within the horizon)
    let mut scored: Vec<(i64, NaiveDate, i32, HealthLevel, Option<NaiveDate>)> = Vec::new();
    for start in &starts {
        let at = start.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let facts = load_as_of(db, Some(viewer), Customers::StartedBy(*start), at).await?;
        let horizon = *start + Duration::days(horizon_days);
        for f in facts.iter().filter(|f| f.live()) {
            let health = assess(f, rules);
            let loss = losses
                .get(&f.customer_id)
                .and_then(|days| days.iter().filter(|on| *on > start && **on <= horizon).min());
            let loss = loss.copied();
            scored.push((f.customer_id, *start, health.score, health.level, loss));
        }
    }
    Ok(figures(&scored))
}

/// Every LOST churn event of the viewer's customers: (customer, day).
async fn lost_events(db: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<Vec<(i64, NaiveDate)>> {
    let dialect = Dialect::of(db);
    let sql = format!(
        "SELECT e.customer_id, e.occurred_on FROM churn_event e WHERE e.kind = 'LOST' {}",
        policy::visible_sql(dialect, viewer, Resource::Customers, "e.customer_id")
    );
    let mut found = Vec::new();
    for row in dialect.rows(db, sql).await? {
        if let Some(on) = date(&row, "occurred_on")? {
            found.push((int(&row, "customer_id")?, on));
        }
    }
    Ok(found)
}

fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

fn flags(level: HealthLevel) -> bool {
    matches!(level, HealthLevel::AtRisk | HealthLevel::Critical)
}

/// The figures of the scored customer-months.
fn figures(scored: &[(i64, NaiveDate, i32, HealthLevel, Option<NaiveDate>)]) -> Backtest {
    let total = scored.len() as f64;
    let lost = scored.iter().filter(|s| s.4.is_some()).count() as f64;
    let base_rate = ratio(lost, total);
    let levels = [HealthLevel::Healthy, HealthLevel::Watch, HealthLevel::AtRisk, HealthLevel::Critical]
        .into_iter()
        .map(|level| {
            let rows: Vec<_> = scored.iter().filter(|s| s.3 == level).collect();
            let losses = rows.iter().filter(|s| s.4.is_some()).count() as i64;
            let loss_rate = ratio(losses as f64, rows.len() as f64);
            let lift = match (loss_rate, base_rate) {
                (Some(rate), Some(base)) if base > 0.0 => Some(rate / base),
                _ => None,
            };
            LevelFigures { level, customers: rows.len() as i64, losses, loss_rate, lift }
        })
        .collect();
    // Mann-Whitney: ranks of the risks (ties share their mean rank).
    let mut risks: Vec<(i32, bool)> = scored.iter().map(|s| (100 - s.2, s.4.is_some())).collect();
    risks.sort_by_key(|r| r.0);
    let (mut positive_ranks, mut i) = (0.0, 0);
    while i < risks.len() {
        let mut j = i;
        while j < risks.len() && risks[j].0 == risks[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        positive_ranks += mean_rank * risks[i..j].iter().filter(|r| r.1).count() as f64;
        i = j;
    }
    let negatives = total - lost;
    let auc =
        (lost > 0.0 && negatives > 0.0).then(|| (positive_ranks - lost * (lost + 1.0) / 2.0) / (lost * negatives));
    // Each loss once: flagged when a month start within the horizon before it found the customer AT_RISK or worse.
    let mut events: Vec<(i64, NaiveDate)> = scored.iter().filter_map(|s| s.4.map(|on| (s.0, on))).collect();
    events.sort_unstable();
    events.dedup();
    let mut first_flags: std::collections::HashMap<(i64, NaiveDate), NaiveDate> = std::collections::HashMap::new();
    for s in scored.iter().filter(|s| flags(s.3)) {
        if let Some(on) = s.4 {
            let first = first_flags.entry((s.0, on)).or_insert(s.1);
            *first = (*first).min(s.1);
        }
    }
    let mut ahead: Vec<f64> = Vec::new();
    for event in &events {
        if let Some(flagged) = first_flags.get(event) {
            ahead.push((event.1 - *flagged).num_days() as f64);
        }
    }
    let recall = ratio(ahead.len() as f64, events.len() as f64);
    ahead.sort_by(f64::total_cmp);
    let median_days_ahead = match ahead.len() {
        0 => None,
        n if n % 2 == 1 => Some(ahead[n / 2]),
        n => Some((ahead[n / 2 - 1] + ahead[n / 2]) / 2.0),
    };
    Backtest { customers_scored: scored.len() as i64, base_rate, auc, recall, median_days_ahead, levels }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default()
    }

    #[test]
    fn month_starts_are_those_within_the_window() {
        assert_eq!(month_starts(d(1, 1), d(3, 1)), [d(1, 1), d(2, 1), d(3, 1)]);
        assert_eq!(month_starts(d(1, 2), d(2, 28)), [d(2, 1)]);
    }

    #[test]
    fn a_perfect_score_has_an_auc_of_one_and_ties_count_half() {
        let row = |score, lost: bool| (1, d(1, 1), score, HealthLevel::Healthy, lost.then(|| d(2, 1)));
        assert_eq!(figures(&[row(10, true), row(90, false)]).auc, Some(1.0));
        assert_eq!(figures(&[row(50, true), row(50, false)]).auc, Some(0.5));
        assert_eq!(figures(&[row(90, true), row(10, false)]).auc, Some(0.0));
    }
}
