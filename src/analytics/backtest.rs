//! A backtest of the health score on the company's own history: would the
//! score have warned in time?
//!
//! The unit is a customer-month: a live customer at a month start in the
//! window, scored as of that instant by the same function as the live score
//! (`crate::analytics::health::score`, the score of `assess`, over the facts
//! as they were then, `crate::analytics::facts_as_of`), and counted as a loss when
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
//!
//! The book is read once, a chunk of customers at a time (each table's dated
//! rows for the chunk in one statement), and every month start is scored from
//! what was read: three years cost about one read of the book, not 36. The
//! figures are tallied as the chunks go (the risks as a histogram of the 101
//! scores), so memory holds two chunks at most (one scored while the next is
//! read), whatever the window.

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::ConnectionTrait;

use crate::{
    analytics::{
        facts_as_of::{self, CHUNK, Scope},
        health::score,
        health_facts::Windows,
    },
    db::{Dialect, rows::int},
    error::{AppError, AppResult},
    policy::Viewer,
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

/// A backtest reads every dated row of the book and keeps a core busy
/// scoring it: one runs at a time on an instance, the others wait their turn,
/// so a burst of them cannot take the database and the cores from everyone else.
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
    let mut tally = Tally::default();
    let Some(first) = starts.first() else { return Ok(tally.figures()) };
    let revenue_from = crate::rules::add_months(*first, -12);
    let dialect = Dialect::of(db);
    let last = dialect.rows(db, "SELECT MAX(id) AS n FROM customer".to_owned()).await?;
    let last = last.first().map(|r| int(r, "n")).transpose()?.unwrap_or(0);
    let (started, mut reading) = (std::time::Instant::now(), std::time::Duration::ZERO);
    let owners = std::sync::Arc::new(facts_as_of::owners(db, None).await?);
    // A chunk is scored on a blocking thread while the next one is read, so the database and the scoring
    // keep two cores busy instead of taking turns on one.
    let mut scoring: Option<tokio::task::JoinHandle<Tally>> = None;
    let mut after = 0;
    while after < last {
        let up_to = after + CHUNK;
        let read = std::time::Instant::now();
        let ledger = facts_as_of::read(db, viewer, Scope::Range { after, up_to }, revenue_from).await?;
        reading += read.elapsed();
        if let Some(chunk) = scoring.take() {
            tally.merge(chunk.await.map_err(|e| AppError::Internal(e.to_string()))?);
        }
        let (starts, rules, owners) = (starts.clone(), *rules, owners.clone());
        scoring =
            Some(tokio::task::spawn_blocking(move || score_chunk(&ledger, &owners, &starts, &rules, horizon_days)));
        after = up_to;
    }
    if let Some(chunk) = scoring {
        tally.merge(chunk.await.map_err(|e| AppError::Internal(e.to_string()))?);
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        reading_ms = reading.as_millis() as u64,
        "health backtest"
    );
    Ok(tally.figures())
}

/// Scores every month start of every customer of a chunk.
fn score_chunk(
    ledger: &facts_as_of::Ledger,
    owners: &facts_as_of::Owners,
    starts: &[NaiveDate],
    rules: &HealthRules,
    horizon_days: i64,
) -> Tally {
    let mut tally = Tally::default();
    let mut months = Vec::with_capacity(starts.len());
    let windows: Vec<Windows> =
        starts.iter().map(|start| Windows::at(start.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())).collect();
    for record in ledger.records() {
        months.clear();
        for (start, windows) in starts.iter().zip(&windows).filter(|(start, _)| record.started_by(**start)) {
            let facts = record.facts_at(windows, owners);
            if !facts.live() {
                continue;
            }
            let (score, level) = score(&facts, rules);
            let horizon = *start + Duration::days(horizon_days);
            let loss = record.losses().filter(|on| on > start && *on <= horizon).min();
            months.push(Month { start: *start, score, level, loss });
        }
        tally.add(&months);
    }
    tally
}

fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

fn flags(level: HealthLevel) -> bool {
    matches!(level, HealthLevel::AtRisk | HealthLevel::Critical)
}

/// One customer-month scored: the month start, the score and level then,
/// and the loss that followed within the horizon.
#[derive(Debug, Clone, Copy)]
struct Month {
    start: NaiveDate,
    score: i32,
    level: HealthLevel,
    loss: Option<NaiveDate>,
}

const SCORED_LEVELS: [HealthLevel; 4] =
    [HealthLevel::Healthy, HealthLevel::Watch, HealthLevel::AtRisk, HealthLevel::Critical];

/// The figures, tallied one customer at a time.
#[derive(Debug, Default)]
struct Tally {
    /// Customer-months and losses per level, in the order of [`SCORED_LEVELS`].
    levels: [(i64, i64); 4],
    /// Customer-months kept and lost per risk (`100 - score`, 0 to 100).
    risks: Vec<(i64, i64)>,
    /// Losses (each loss once, however many month starts it followed).
    events: i64,
    /// Days from the first flag to each flagged loss.
    ahead: Vec<f64>,
}

impl Tally {
    /// Adds the figures of other customers.
    fn merge(&mut self, other: Tally) {
        if self.risks.is_empty() {
            self.risks = vec![(0, 0); 101];
        }
        for (mine, theirs) in self.levels.iter_mut().zip(other.levels) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        for (mine, theirs) in self.risks.iter_mut().zip(other.risks) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        self.events += other.events;
        self.ahead.extend(other.ahead);
    }

    /// Adds one customer's scored months.
    fn add(&mut self, months: &[Month]) {
        if self.risks.is_empty() {
            self.risks = vec![(0, 0); 101];
        }
        for m in months {
            let level = SCORED_LEVELS.iter().position(|l| *l == m.level).unwrap_or(0);
            let lost = i64::from(m.loss.is_some());
            self.levels[level].0 += 1;
            self.levels[level].1 += lost;
            let risk = &mut self.risks[(100 - m.score).clamp(0, 100) as usize];
            risk.0 += 1 - lost;
            risk.1 += lost;
        }
        // Each loss once: flagged when a month start within the horizon before it found the customer AT_RISK or worse.
        let mut losses: Vec<NaiveDate> = months.iter().filter_map(|m| m.loss).collect();
        losses.sort_unstable();
        losses.dedup();
        for loss in losses {
            self.events += 1;
            let flagged = months.iter().filter(|m| m.loss == Some(loss) && flags(m.level)).map(|m| m.start).min();
            if let Some(flagged) = flagged {
                self.ahead.push((loss - flagged).num_days() as f64);
            }
        }
    }

    fn figures(mut self) -> Backtest {
        let total: i64 = self.levels.iter().map(|l| l.0).sum();
        let lost: i64 = self.levels.iter().map(|l| l.1).sum();
        let (total, lost) = (total as f64, lost as f64);
        let base_rate = ratio(lost, total);
        let levels = SCORED_LEVELS
            .iter()
            .zip(self.levels)
            .map(|(&level, (customers, losses))| {
                let loss_rate = ratio(losses as f64, customers as f64);
                let lift = match (loss_rate, base_rate) {
                    (Some(rate), Some(base)) if base > 0.0 => Some(rate / base),
                    _ => None,
                };
                LevelFigures { level, customers, losses, loss_rate, lift }
            })
            .collect();
        // Mann-Whitney: the risks ranked from the lowest, ties sharing their mean rank.
        let (mut positive_ranks, mut below) = (0.0, 0.0);
        for (kept, lost_here) in &self.risks {
            let tied = (kept + lost_here) as f64;
            positive_ranks += (below + (tied + 1.0) / 2.0) * *lost_here as f64;
            below += tied;
        }
        let negatives = total - lost;
        let auc =
            (lost > 0.0 && negatives > 0.0).then(|| (positive_ranks - lost * (lost + 1.0) / 2.0) / (lost * negatives));
        let recall = ratio(self.ahead.len() as f64, self.events as f64);
        self.ahead.sort_by(f64::total_cmp);
        let ahead = &self.ahead;
        let median_days_ahead = match ahead.len() {
            0 => None,
            n if n % 2 == 1 => Some(ahead[n / 2]),
            n => Some((ahead[n / 2 - 1] + ahead[n / 2]) / 2.0),
        };
        Backtest { customers_scored: total as i64, base_rate, auc, recall, median_days_ahead, levels }
    }
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

    fn auc(months: &[Month]) -> Option<f64> {
        let mut tally = Tally::default();
        for m in months {
            tally.add(std::slice::from_ref(m));
        }
        tally.figures().auc
    }

    #[test]
    fn each_loss_counts_once_from_its_first_flag_whichever_chunk_tallies_it() {
        let month = |start, score, level, loss| Month { start, score, level, loss };
        let lost_in_march = Some(d(3, 20));
        // One customer flagged AT_RISK on 1 February, lost on 20 March; another lost twice, never flagged.
        let first = [
            month(d(1, 1), 80, HealthLevel::Healthy, lost_in_march),
            month(d(2, 1), 50, HealthLevel::AtRisk, lost_in_march),
            month(d(3, 1), 40, HealthLevel::AtRisk, lost_in_march),
        ];
        let second = [
            month(d(1, 1), 90, HealthLevel::Healthy, Some(d(1, 10))),
            month(d(4, 1), 90, HealthLevel::Healthy, Some(d(4, 2))),
        ];
        let mut one = Tally::default();
        one.add(&first);
        one.add(&second);
        let mut merged = Tally::default();
        for months in [&first[..], &second[..]] {
            let mut chunk = Tally::default();
            chunk.add(months);
            merged.merge(chunk);
        }
        for figures in [one.figures(), merged.figures()] {
            assert_eq!(figures.customers_scored, 5);
            assert_eq!(figures.recall, Some(1.0 / 3.0), "3 losses, 1 flagged");
            assert_eq!(figures.median_days_ahead, Some(47.0), "1 February to 20 March");
            let at_risk = &figures.levels[2];
            assert_eq!((at_risk.customers, at_risk.losses), (2, 2));
            assert_eq!(at_risk.lift, Some(1.0));
        }
    }

    #[test]
    fn a_perfect_score_has_an_auc_of_one_and_ties_count_half() {
        let row = |score, lost: bool| Month {
            start: d(1, 1),
            score,
            level: HealthLevel::Healthy,
            loss: lost.then(|| d(2, 1)),
        };
        assert_eq!(auc(&[row(10, true), row(90, false)]), Some(1.0));
        assert_eq!(auc(&[row(50, true), row(50, false)]), Some(0.5));
        assert_eq!(auc(&[row(90, true), row(10, false)]), Some(0.0));
        assert_eq!(auc(&[row(40, true), row(50, true), row(50, false), row(60, false)]), Some(0.875));
    }
}
