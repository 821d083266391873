//! Explainable account health: a 0–100 score per customer (higher is
//! healthier) made of signals, each with its weight, the number it measured,
//! the points it took off (or added) and one sentence with the numbers in it.
//!
//! The score is 100 plus the sum of the signals' impacts, clamped to 0–100, so
//! a reader can check it by hand. A signal's impact is its weight times its
//! severity (0 to 1); the severity curves are below, next to each signal. The
//! weights and level thresholds are configuration (`RAPPORT_HEALTH_WEIGHTS`,
//! `RAPPORT_HEALTH_LEVELS`); the windows (90 days, 6 months) are fixed.

use chrono::{DateTime, Utc};

pub use crate::rules::health::{HealthLevel, HealthRules, SignalKind};

use crate::analytics::health_facts::{
    CHAMPION_WINDOW_DAYS, COMPLAINT_WINDOW_DAYS, Facts, LEVELS, REVENUE_WINDOW_MONTHS,
};

/// One explained contribution to a score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signal {
    pub kind: String,
    pub weight: f64,
    /// The measured number; `None` when there is nothing to measure.
    pub value: Option<f64>,
    /// Points taken off (negative) or added, one decimal.
    pub impact: f64,
    pub explanation: String,
}

/// A customer's health as of `computed_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountHealth {
    pub customer_id: i64,
    pub score: i32,
    pub level: HealthLevel,
    pub computed_at: DateTime<Utc>,
    /// Worst first: by impact ascending, then in the order of [`SignalKind::ALL`].
    pub signals: Vec<Signal>,
}

impl AccountHealth {
    /// The signals that moved the score, worst first, at most `n`.
    pub fn top(&self, n: usize) -> impl Iterator<Item = &Signal> {
        self.signals.iter().filter(|s| s.impact != 0.0).take(n)
    }
}

/// Scores one customer's facts, each signal explained.
pub fn assess(facts: &Facts, rules: &HealthRules) -> AccountHealth {
    let mut signals: Vec<(SignalKind, Signal)> = SignalKind::ALL
        .iter()
        .copied()
        .map(|kind| {
            let (severity, value, explanation) = measure(kind, facts, true);
            let weight = rules.weight(kind);
            let impact = impact(weight, severity);
            (kind, Signal { kind: kind.as_str().to_owned(), weight, value, impact, explanation })
        })
        .collect();
    let score = total(signals.iter().map(|(_, s)| s.impact));
    signals.sort_by(|(ka, a), (kb, b)| a.impact.total_cmp(&b.impact).then(ka.index().cmp(&kb.index())));
    AccountHealth {
        customer_id: facts.customer_id,
        score,
        level: rules.level(score),
        computed_at: facts.now,
        signals: signals.into_iter().map(|(_, s)| s).collect(),
    }
}

/// The score and level [`assess`] gives, without writing the explanations:
/// what a backtest needs for each of millions of customer-months.
pub fn score(facts: &Facts, rules: &HealthRules) -> (i32, HealthLevel) {
    let score = total(SignalKind::ALL.iter().map(|&kind| impact(rules.weight(kind), measure(kind, facts, false).0)));
    (score, rules.level(score))
}

/// A signal's points: its weight times its severity, taken off, one decimal.
fn impact(weight: f64, severity: f64) -> f64 {
    round1(-weight * severity)
}

/// 100 plus the impacts, clamped to 0–100. The impacts have one decimal and
/// are summed as whole tenths: a float sum would depend on the order and
/// could round a total of x.5 either way.
fn total(impacts: impl Iterator<Item = f64>) -> i32 {
    let tenths: i64 = impacts.map(|impact| (impact * 10.0).round() as i64).sum();
    ((1000 + tenths) as f64 / 10.0).round().clamp(0.0, 100.0) as i32
}

fn round1(value: f64) -> f64 {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// `from` at 0, rising linearly to 1 at `to`.
fn ramp(value: f64, from: f64, to: f64) -> f64 {
    ((value - from) / (to - from)).clamp(0.0, 1.0)
}

/// Cents as `1,234.50`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{:02}", cents % 100)
}

fn days(facts: &Facts, at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(|at| (facts.now - at).num_days().max(0))
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// (severity 0..=1, measured value, explanation) of one signal.
type Measured = (f64, Option<f64>, String);

/// The explanation when it is wanted (`$explain`), else an empty string that
/// costs nothing: the text is formatted only for a reader.
macro_rules! say {
    ($explain:expr, $($text:tt)*) => {
        if $explain { format!($($text)*) } else { String::new() }
    };
}

/// Measures one signal: each has its own function below, with its reason.
/// `explain` false leaves the explanation empty.
fn measure(kind: SignalKind, f: &Facts, explain: bool) -> Measured {
    let e = explain;
    match kind {
        SignalKind::RelationshipBreadth => relationship_breadth(f, e),
        SignalKind::ChampionLeft => champion_left(f, e),
        SignalKind::ExecutiveContact => executive_contact(f, e),
        SignalKind::CommunicationRecency => communication_recency(f, e),
        SignalKind::TicketsPastSla => tickets_past_sla(f, e),
        SignalKind::ComplaintTrend => complaint_trend(f, e),
        SignalKind::OverdueCommitments => overdue_commitments(f, e),
        SignalKind::RevenueTrend => revenue_trend(f, e),
        SignalKind::PurchasingFit => purchasing_fit(f, e),
        SignalKind::Satisfaction => satisfaction(f, e),
        SignalKind::OwnerInactive => owner_inactive(f, e),
        SignalKind::PartnershipTier => partnership_tier(f, e),
        SignalKind::OverdueTasks => overdue_tasks(f, e),
    }
}

/// Breadth: several people at several levels keep the account when one
/// of them leaves; one thread is lost with that one person.
fn relationship_breadth(f: &Facts, e: bool) -> Measured {
    let levels = f.levels.len() as i64;
    let value = Some(levels as f64);
    let total = LEVELS.len();
    let covered = || f.levels.join(", ");
    if f.current_contacts == 0 {
        (1.0, value, say!(e, "No current contact at the customer: nobody to call"))
    } else if f.current_contacts == 1 {
        (
            0.75,
            value,
            say!(
                e,
                "Single-threaded: one current contact, in {}; 1 of {total} organisational levels covered",
                covered()
            ),
        )
    } else if levels == 1 {
        (0.75, value, say!(e, "Only 1 of {total} organisational levels covered: every contact is in {}", covered()))
    } else {
        let severity = match levels {
            2 => 0.4,
            3 => 0.15,
            _ => 0.0,
        };
        let contacts = f.current_contacts;
        (
            severity,
            value,
            say!(e, "{levels} of {total} organisational levels covered ({}) by {contacts} current contacts", covered()),
        )
    }
}

/// A champion's departure is the moment a competitor gets in.
fn champion_left(f: &Facts, e: bool) -> Measured {
    let n = f.champions_left;
    match (&f.last_champion_left, n) {
        (Some(d), 1) => {
            let ago = (f.now.date_naive() - d.ended_on).num_days();
            (1.0, Some(1.0), say!(e, "Champion {} ({}) left {} ago", d.name, d.org_level, plural(ago, "day", "days")))
        }
        (Some(d), _) => {
            let ago = (f.now.date_naive() - d.ended_on).num_days();
            (
                1.0,
                Some(n as f64),
                say!(
                    e,
                    "{n} key contacts left in the last {CHAMPION_WINDOW_DAYS} days, the latest {} ({}) {} ago",
                    d.name,
                    d.org_level,
                    plural(ago, "day", "days")
                ),
            )
        }
        _ => (0.0, Some(0.0), say!(e, "No key contact left in the last {CHAMPION_WINDOW_DAYS} days")),
    }
}

/// Executive access: none for a quarter starts to cost, none for half a year costs all.
fn executive_contact(f: &Facts, e: bool) -> Measured {
    match days(f, f.last_executive_at) {
        None => (1.0, None, say!(e, "No executive-level communication on record")),
        Some(d) => (
            ramp(d as f64, 90.0, 180.0),
            Some(d as f64),
            say!(e, "Last executive-level communication {} ago", plural(d, "day", "days")),
        ),
    }
}

/// Any touchpoint: a month of silence is normal, a quarter is neglect.
fn communication_recency(f: &Facts, e: bool) -> Measured {
    match days(f, f.last_communication_at) {
        None => (1.0, None, say!(e, "No communication on record")),
        Some(d) => {
            (ramp(d as f64, 30.0, 90.0), Some(d as f64), say!(e, "Last communication {} ago", plural(d, "day", "days")))
        }
    }
}

/// Each unanswered complaint past its deadline; three take the full weight.
fn tickets_past_sla(f: &Facts, e: bool) -> Measured {
    let n = f.tickets_past_sla;
    let text = if n == 0 {
        say!(e, "No open ticket past its SLA ({} open)", f.open_tickets)
    } else {
        say!(e, "{} past their SLA, of {} open", plural(n, "open ticket", "open tickets"), f.open_tickets)
    };
    ((n as f64 / 3.0).min(1.0), Some(n as f64), text)
}

/// Complaints rising: the growth over the earlier window (at least 2), doubling takes the full weight.
fn complaint_trend(f: &Facts, e: bool) -> Measured {
    let (recent, prior) = (f.tickets_recent, f.tickets_prior);
    let severity = if recent > prior { ((recent - prior) as f64 / prior.max(2) as f64).min(1.0) } else { 0.0 };
    (
        severity,
        Some(recent as f64),
        say!(
            e,
            "{} in the last {COMPLAINT_WINDOW_DAYS} days against {prior} in the {COMPLAINT_WINDOW_DAYS} before",
            plural(recent, "ticket", "tickets")
        ),
    )
}

/// Broken promises: each overdue commitment a third of the weight.
fn overdue_commitments(f: &Facts, e: bool) -> Measured {
    let n = f.overdue_commitments;
    let text = if n == 0 {
        say!(e, "No overdue commitment")
    } else if f.overdue_amount_cents != 0 {
        say!(e, "{} overdue, worth {}", plural(n, "commitment", "commitments"), money(f.overdue_amount_cents))
    } else {
        say!(e, "{} overdue", plural(n, "commitment", "commitments"))
    };
    ((n as f64 / 3.0).min(1.0), Some(n as f64), text)
}

/// Work left undone: agreed next steps nobody took. Each open task past its
/// due date takes a third of the weight.
fn overdue_tasks(f: &Facts, e: bool) -> Measured {
    let n = f.overdue_tasks;
    let text = if n == 0 { say!(e, "No overdue task") } else { say!(e, "{} overdue", plural(n, "task", "tasks")) };
    ((n as f64 / 3.0).min(1.0), Some(n as f64), text)
}

/// Falling revenue: purchases moving elsewhere; a 50% fall takes the full weight.
fn revenue_trend(f: &Facts, e: bool) -> Measured {
    let (recent, prior) = (f.revenue_recent_cents, f.revenue_prior_cents);
    if prior <= 0 {
        (0.0, None, if e { revenue_trend_text(None, recent > 0, Some((recent, prior))) } else { String::new() })
    } else {
        let change = round1((recent - prior) as f64 * 100.0 / prior as f64);
        let text = if e { revenue_trend_text(Some(change), true, Some((recent, prior))) } else { String::new() };
        (ramp(-change, 0.0, 50.0), Some(change), text)
    }
}

/// The revenue trend in words: the change, and the two amounts when they may be quoted.
fn revenue_trend_text(change: Option<f64>, recent_revenue: bool, amounts: Option<(i64, i64)>) -> String {
    let m = REVENUE_WINDOW_MONTHS;
    match (change, amounts) {
        (Some(change), amounts) => {
            let direction = if change < 0.0 { "down" } else { "up" };
            let quoted = amounts
                .map(|(recent, prior)| format!(" ({} against {})", money(recent), money(prior)))
                .unwrap_or_default();
            format!("Revenue of the last {m} months {direction} {:.1}% on the {m} before{quoted}", change.abs())
        }
        (None, _) if !recent_revenue => format!("No revenue in the last {} months", 2 * m),
        (None, Some((recent, _))) => {
            format!("Revenue of {} in the last {m} months, none in the {m} before", money(recent))
        }
        (None, None) => format!("Revenue in the last {m} months, none in the {m} before"),
    }
}

impl Signal {
    /// The explanation with no amount in it, for a viewer who may not read
    /// revenue: the revenue trend without its two amounts (the change in
    /// percent stays: a ratio, not an amount). `None` when the explanation
    /// quotes no amount.
    pub fn explanation_without_amounts(&self) -> Option<String> {
        if self.kind != SignalKind::RevenueTrend.as_str() {
            return None;
        }
        let recent_revenue = !self.explanation.starts_with("No revenue");
        Some(revenue_trend_text(self.value, recent_revenue, None)).filter(|bare| *bare != self.explanation)
    }
}

/// Only competitors meeting the standard is the alarm; both meeting it leaves price to decide.
fn purchasing_fit(f: &Facts, e: bool) -> Measured {
    match f.purchasing_fit.as_deref() {
        Some("ALARM") => {
            (1.0, Some(2.0), say!(e, "ALARM: only competitors' offers meet the customer's purchasing standard"))
        }
        Some("WARNING") => (
            0.5,
            Some(1.0),
            say!(e, "WARNING: our offer and competitors' both meet the customer's purchasing standard"),
        ),
        Some(_) => (
            0.0,
            Some(0.0),
            say!(e, "SAFE: our offer meets the customer's purchasing standard and competitors' do not"),
        ),
        None => (0.0, None, say!(e, "Purchasing-criteria fit not assessed")),
    }
}

/// Satisfaction below 8 of 10 starts to cost (4 or less: all of it), and a fall adds an eighth per point.
fn satisfaction(f: &Facts, e: bool) -> Measured {
    match (f.satisfaction_latest, f.satisfaction_previous) {
        (None, _) => (0.0, None, say!(e, "No satisfaction survey answered")),
        (Some(latest), previous) => {
            let fall = previous.map_or(0, |p| (p - latest).max(0));
            let severity = (ramp(-(latest as f64), -8.0, -4.0) + fall as f64 / 8.0).min(1.0);
            let change = match previous {
                Some(p) if p > latest => say!(e, ", down {} from {p}", p - latest),
                Some(p) if p < latest => say!(e, ", up {} from {p}", latest - p),
                Some(p) => say!(e, ", as before ({p})"),
                None => String::new(),
            };
            (severity, Some(latest as f64), say!(e, "Latest satisfaction {latest}/10{change}"))
        }
    }
}

/// Nobody active looks after the account.
fn owner_inactive(f: &Facts, e: bool) -> Measured {
    let owner = f.owner_name.as_deref().unwrap_or("unknown");
    if f.owner_active {
        (0.0, Some(0.0), say!(e, "Owner {owner} is active"))
    } else {
        (1.0, Some(1.0), say!(e, "Owner {owner} is deactivated: nobody looks after the account"))
    }
}

/// What holds the customer: discounts are copied overnight, lock-in costs both sides to leave.
fn partnership_tier(f: &Facts, e: bool) -> Measured {
    match f.tier.as_deref() {
        Some("PRICE") => {
            (1.0, Some(1.0), say!(e, "PRICE partnership: held by discounts, the easiest for a competitor to copy"))
        }
        Some("SERVICE") => (0.3, Some(2.0), say!(e, "SERVICE partnership: held by personal service and relationships")),
        Some(_) => (-0.5, Some(3.0), say!(e, "STRATEGIC partnership: lock-in makes leaving costly for both sides")),
        None => (0.5, None, say!(e, "No partnership tier: nothing but the last order holds the customer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_start_below_their_thresholds() {
        let rules = HealthRules::default();
        assert_eq!(rules.level(100), HealthLevel::Healthy);
        assert_eq!(rules.level(75), HealthLevel::Healthy);
        assert_eq!(rules.level(74), HealthLevel::Watch);
        assert_eq!(rules.level(55), HealthLevel::Watch);
        assert_eq!(rules.level(54), HealthLevel::AtRisk);
        assert_eq!(rules.level(35), HealthLevel::AtRisk);
        assert_eq!(rules.level(34), HealthLevel::Critical);
        assert_eq!(rules.level(0), HealthLevel::Critical);
    }

    #[test]
    fn rules_parse_with_defaults_and_refuse_nonsense() {
        let rules = HealthRules::parse(Some("REVENUE_TREND=30"), Some("WATCH=80")).unwrap_or_default();
        assert_eq!(rules.weight(SignalKind::RevenueTrend), 30.0);
        assert_eq!(rules.weight(SignalKind::ChampionLeft), 15.0);
        assert_eq!(rules.watch_below, 80);
        assert!(HealthRules::parse(Some("MOOD=3"), None).is_err());
        assert!(HealthRules::parse(Some("REVENUE_TREND=101"), None).is_err());
        assert!(HealthRules::parse(None, Some("WATCH=30")).is_err());
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(150_000), "1,500.00");
        assert_eq!(money(123_456_789), "1,234,567.89");
        assert_eq!(money(-5), "-0.05");
    }
}
