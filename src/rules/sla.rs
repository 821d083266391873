//! Service-level agreements of tickets: due times from priority and partnership
//! tier, and the one definition of an SLA breach ([`missed`]), rendered side
//! by side in Rust (a ticket's state), as SQL text (reports, health, the
//! webhook sweep) and as a typed condition (the ticket list's filter). A deadline is
//! breached when it passed without the response or resolution, or when the
//! response or resolution came after it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{
    enums::{PartnershipTier, TicketPriority, TicketStatus},
    ticket,
};
use sea_orm::{
    ColumnTrait, Condition,
    sea_query::{Expr, ExprTrait},
};

/// Statuses in which a ticket still needs work.
pub const OPEN_STATUSES: [TicketStatus; 4] =
    [TicketStatus::Open, TicketStatus::InProgress, TicketStatus::WaitingOnCustomer, TicketStatus::Reopened];

/// [`OPEN_STATUSES`] as a literal SQL condition on `ticket`: the partial
/// index of open tickets (`ix_ticket_open_by_customer`) serves only queries
/// whose condition implies its own, which a bound parameter never does.
pub const OPEN_STATUS_CONDITION: &str = "ticket.status IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'REOPENED')";

/// [`OPEN_STATUSES`] as a condition on the ticket aliased `t`.
pub fn open_ticket_sql(t: &str) -> String {
    OPEN_STATUS_CONDITION.replacen("ticket.", &format!("{t}."), 1)
}

/// First-response and resolution targets per priority, scaled per tier.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Hours to first response and to resolution.
    pub hours: HashMap<TicketPriority, (i64, i64)>,
    /// Percent of the target a tier gets (STRATEGIC accounts the tightest).
    pub tier_percent: HashMap<PartnershipTier, i64>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            hours: HashMap::from([
                (TicketPriority::Urgent, (2, 24)),
                (TicketPriority::High, (4, 48)),
                (TicketPriority::Medium, (8, 120)),
                (TicketPriority::Low, (24, 240)),
            ]),
            tier_percent: HashMap::from([
                (PartnershipTier::Strategic, 50),
                (PartnershipTier::Service, 75),
                (PartnershipTier::Price, 100),
            ]),
        }
    }
}

impl SlaPolicy {
    /// Parses `URGENT=2/24,HIGH=4/48,...` and `STRATEGIC=50,SERVICE=75,...`;
    /// entries not given keep their defaults.
    pub fn parse(hours: Option<&str>, tier_percent: Option<&str>) -> Result<Self, String> {
        use sea_orm::ActiveEnum;
        let mut policy = Self::default();
        for item in hours.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, targets) =
                item.split_once('=').ok_or(format!("{item:?}: expected PRIORITY=response/resolution"))?;
            let priority = TicketPriority::try_from_value(&name.trim().to_owned())
                .map_err(|_| format!("unknown priority {name:?}"))?;
            let (response, resolution) = targets.split_once('/').ok_or(format!("{item:?}: expected hours/hours"))?;
            let parse = |v: &str| {
                v.trim().parse::<i64>().ok().filter(|h| *h > 0).ok_or(format!("{item:?}: hours must be positive"))
            };
            policy.hours.insert(priority, (parse(response)?, parse(resolution)?));
        }
        for item in tier_percent.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, percent) = item.split_once('=').ok_or(format!("{item:?}: expected TIER=percent"))?;
            let tier = PartnershipTier::try_from_value(&name.trim().to_owned())
                .map_err(|_| format!("unknown tier {name:?}"))?;
            let percent = percent
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=1000).contains(p))
                .ok_or(format!("{item:?}: percent must be 1 to 1000"))?;
            policy.tier_percent.insert(tier, percent);
        }
        Ok(policy)
    }

    /// (first response due, resolution due) for a ticket opened at `opened`.
    pub fn due(
        &self,
        priority: TicketPriority,
        tier: Option<PartnershipTier>,
        opened: DateTime<Utc>,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let (response, resolution) = self.hours.get(&priority).copied().unwrap_or((8, 120));
        let percent = tier.and_then(|t| self.tier_percent.get(&t).copied()).unwrap_or(100);
        let scaled = |hours: i64| Duration::minutes(hours * 60 * percent / 100);
        (opened + scaled(response), opened + scaled(resolution))
    }
}

/// The deadlines of a ticket whose priority changes. Each one still open
/// (its response or resolution not given, its time not passed) is set for
/// the new priority from the ticket's opening; when that moment has already
/// passed (an old ticket escalated), the new target runs from the change
/// instead, but never past the deadline it had. A new priority therefore
/// cannot make a ticket late in the past. A deadline already met or already
/// missed stays as it was, so a breach already recorded stays.
pub fn reprioritised(
    policy: &SlaPolicy,
    t: &ticket::Model,
    priority: TicketPriority,
    tier: Option<PartnershipTier>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let (response, resolution) = policy.due(priority, tier, t.created_at);
    let (response_from_now, resolution_from_now) = policy.due(priority, tier, now);
    let moved = |old: DateTime<Utc>, done: Option<DateTime<Utc>>, new: DateTime<Utc>, from_now: DateTime<Utc>| {
        if done.is_some() || old < now {
            old
        } else if new >= now {
            new
        } else {
            Ord::min(from_now, old)
        }
    };
    (
        moved(t.first_response_due_at, t.first_responded_at, response, response_from_now),
        moved(t.resolution_due_at, t.resolved_at, resolution, resolution_from_now),
    )
}

/// Where a ticket stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    OnTrack,
    /// Less than a quarter of the time to the next deadline is left.
    AtRisk,
    /// A deadline passed without the response or resolution.
    Breached,
}

fn missed(due: DateTime<Utc>, done: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    done.map_or(now > due, |at| at > due)
}

/// [`missed`] as SQL on the ticket aliased `t`, for one deadline: `due` and
/// `done` are the deadline's and the answer's columns, `now` an instant.
fn missed_sql(t: &str, due: &str, done: &str, now: &str) -> String {
    format!("(({t}.{done} IS NULL AND {t}.{due} < {now}) OR {t}.{done} > {t}.{due})")
}

/// Either deadline of a ticket missed as known at the past instant `at`: an
/// answer given after `at` was not known then, so a deadline counts as
/// missed only if it had passed by `at`.
pub fn breached_as_of(
    first_response_due_at: DateTime<Utc>,
    first_responded_at: Option<DateTime<Utc>>,
    resolution_due_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> bool {
    let known = |done: Option<DateTime<Utc>>| done.filter(|done| *done <= at);
    missed(first_response_due_at, known(first_responded_at), at) || missed(resolution_due_at, known(resolved_at), at)
}

/// [`missed`] as a typed condition on `ticket` (values typed by their column
/// bind alike on every backend, which a timestamp in SQL text does not).
fn missed_condition(due: ticket::Column, done: ticket::Column, now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Condition::all().add(done.is_null()).add(due.lt(now)))
        .add(Expr::col(done.as_column_ref()).gt(Expr::col(due.as_column_ref())))
}

/// Tickets whose either deadline is breached at `now` (or, with `breached`
/// false, neither): [`breached_flag_sql`] as a typed condition on `ticket`.
pub fn breached_condition(now: DateTime<Utc>, breached: bool) -> Condition {
    use ticket::Column::{FirstRespondedAt, FirstResponseDueAt, ResolutionDueAt, ResolvedAt};
    let either = Condition::any()
        .add(missed_condition(FirstResponseDueAt, FirstRespondedAt, now))
        .add(missed_condition(ResolutionDueAt, ResolvedAt, now));
    // Compared as a flag, never negated: NOT over a NULL comparison would drop rows.
    let flag = Expr::case(either, 1).finally(0);
    Condition::all().add(Expr::expr(flag).eq(i32::from(breached)))
}

/// [`first_response_breached`] as SQL (a condition) on the ticket aliased `t` at the instant `now`.
pub fn first_response_breached_sql(t: &str, now: &str) -> String {
    missed_sql(t, "first_response_due_at", "first_responded_at", now)
}

/// [`resolution_breached`] as SQL (a condition) on the ticket aliased `t` at the instant `now`.
pub fn resolution_breached_sql(t: &str, now: &str) -> String {
    missed_sql(t, "resolution_due_at", "resolved_at", now)
}

/// A breach of either deadline as 1 or 0 (never NULL, so it can be summed
/// and negated safely) on the ticket aliased `t` at the instant `now`.
pub fn breached_flag_sql(t: &str, now: &str) -> String {
    format!(
        "CASE WHEN {} OR {} THEN 1 ELSE 0 END",
        first_response_breached_sql(t, now),
        resolution_breached_sql(t, now)
    )
}

pub fn first_response_breached(t: &ticket::Model, now: DateTime<Utc>) -> bool {
    missed(t.first_response_due_at, t.first_responded_at, now)
}

pub fn resolution_breached(t: &ticket::Model, now: DateTime<Utc>) -> bool {
    missed(t.resolution_due_at, t.resolved_at, now)
}

pub fn state(t: &ticket::Model, now: DateTime<Utc>) -> SlaState {
    if first_response_breached(t, now) || resolution_breached(t, now) {
        return SlaState::Breached;
    }
    if matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed) {
        return SlaState::OnTrack;
    }
    let due = if t.first_responded_at.is_none() { t.first_response_due_at } else { t.resolution_due_at };
    let window = due - t.created_at;
    let left = due - now;
    if left * 4 < window { SlaState::AtRisk } else { SlaState::OnTrack }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_open_condition_names_exactly_the_open_statuses() {
        let listed: Vec<String> = OPEN_STATUSES.iter().map(|s| format!("'{}'", s.as_str())).collect();
        assert_eq!(OPEN_STATUS_CONDITION, format!("ticket.status IN ({})", listed.join(", ")));
        assert_eq!(open_ticket_sql("t"), format!("t.status IN ({})", listed.join(", ")));
    }

    #[test]
    fn an_escalated_old_ticket_gets_the_new_target_from_the_change_and_keeps_a_recorded_breach() {
        let policy = SlaPolicy::default();
        let opened = Utc::now() - Duration::hours(10);
        let mut t = ticket(opened, &policy);
        t.priority = TicketPriority::Low;
        (t.first_response_due_at, t.resolution_due_at) = policy.due(TicketPriority::Low, None, opened);
        let now = Utc::now();
        // LOW: 24 h / 240 h from the opening. URGENT from the opening (2 h, 24 h): the first has passed.
        let (response, resolution) = reprioritised(&policy, &t, TicketPriority::Urgent, None, now);
        assert_eq!(response, now + Duration::hours(2), "2 h from the change, not late already");
        assert_eq!(resolution, opened + Duration::hours(24));
        // A deadline already missed stays missed.
        t.first_response_due_at = now - Duration::hours(1);
        let (response, _) = reprioritised(&policy, &t, TicketPriority::Low, None, now);
        assert_eq!(response, now - Duration::hours(1));
    }

    fn ticket(opened: DateTime<Utc>, policy: &SlaPolicy) -> ticket::Model {
        let (response, resolution) = policy.due(TicketPriority::High, None, opened);
        ticket::Model {
            id: 1,
            customer_id: 1,
            contact_id: None,
            assignee_id: None,
            title: "t".into(),
            description: "d".into(),
            category: entity::enums::TicketCategory::Quality,
            priority: TicketPriority::High,
            status: TicketStatus::Open,
            first_response_due_at: response,
            resolution_due_at: resolution,
            first_responded_at: None,
            resolved_at: None,
            version: 1,
            archived_at: None,
            created_at: opened,
            updated_at: opened,
        }
    }

    #[test]
    fn strategic_accounts_get_half_the_time() {
        let policy = SlaPolicy::default();
        let opened = Utc::now();
        let (response, resolution) = policy.due(TicketPriority::High, Some(PartnershipTier::Strategic), opened);
        assert_eq!(response - opened, Duration::hours(2));
        assert_eq!(resolution - opened, Duration::hours(24));
    }

    #[test]
    fn state_moves_from_on_track_to_at_risk_to_breached() {
        let policy = SlaPolicy::default();
        let opened = Utc::now();
        let mut t = ticket(opened, &policy);
        assert_eq!(state(&t, opened + Duration::hours(1)), SlaState::OnTrack);
        assert_eq!(state(&t, opened + Duration::minutes(200)), SlaState::AtRisk);
        assert_eq!(state(&t, opened + Duration::hours(5)), SlaState::Breached);
        t.first_responded_at = Some(opened + Duration::hours(1));
        assert_eq!(state(&t, opened + Duration::hours(5)), SlaState::OnTrack);
        t.resolved_at = Some(opened + Duration::hours(50));
        t.status = TicketStatus::Resolved;
        assert_eq!(state(&t, opened + Duration::hours(60)), SlaState::Breached);
    }

    #[test]
    fn policy_is_configurable() {
        let policy = SlaPolicy::parse(Some("URGENT=1/4"), Some("SERVICE=50")).unwrap_or_default();
        assert_eq!(policy.hours[&TicketPriority::Urgent], (1, 4));
        assert_eq!(policy.hours[&TicketPriority::Low], (24, 240));
        assert_eq!(policy.tier_percent[&PartnershipTier::Service], 50);
        assert!(SlaPolicy::parse(Some("SOON=1/2"), None).is_err());
    }
}
