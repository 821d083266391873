//! Who gets scarce stock, and why. For one product line and an available
//! quantity, the demanding customers are put in one order: those with a
//! supply priority for the line by rank (1 first), then partnership tier
//! (STRATEGIC, SERVICE, PRICE, none), then revenue of the last 12 months
//! (highest first), then customer id; those without a priority after all of
//! them, by the same tier, revenue and id. Guaranteed quantities are served
//! first, in that order; what is left goes to the remaining demand, in the
//! same order. Read-only: it plans, it books nothing.
//!
//! Only live customers are served (`crate::rules::is_live`): a lost,
//! archived or prospective customer's line gets nothing (rule NOT_LIVE) and
//! comes last. A
//! priority with a peak-season window holds on the days of its window (both
//! ends included; an open end is open); on another day the customer is
//! served as one without a priority for the line.

use std::collections::{HashMap, HashSet};

use entity::{customer, enums::PartnershipTier, supply_priority};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
};

/// Most demand lines one plan takes.
pub const MAX_DEMAND_LINES: usize = 1000;

/// What a customer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    pub customer_id: i64,
    pub quantity: i64,
}

/// A demanding customer, with what orders them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    pub customer_id: i64,
    pub customer_name: String,
    pub demanded: i64,
    /// Rank and guaranteed quantity, when the customer has a priority for the line.
    pub priority: Option<(i32, i64)>,
    pub tier: Option<PartnershipTier>,
    pub revenue_cents: i64,
    /// A live customer: only those are served.
    pub live: bool,
}

/// What decided a customer's allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Its whole demand was within its guaranteed quantity.
    Guarantee,
    /// Its place in the order came from its priority rank.
    PriorityRank,
    /// Same rank as the customer before it: its partnership tier placed it.
    PartnershipTier,
    /// Same rank and tier as the customer before it: its revenue placed it.
    Revenue,
    /// It has no priority for the line (or its priority's peak season does
    /// not hold on the plan's day), so it was served after every customer who has one.
    NoPriority,
    /// It is not a live customer (lost, archived or a prospect): served nothing.
    NotLive,
}

/// One customer's line of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub customer_id: i64,
    pub customer_name: String,
    /// 1 is served first.
    pub position: usize,
    pub demanded: i64,
    /// The guaranteed quantity on record (0 without a priority).
    pub guaranteed: i64,
    pub allocated: i64,
    pub unmet: i64,
    pub rule: Rule,
    pub explanation: String,
}

/// The plan: every demand line in serving order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub available: i64,
    pub allocated: i64,
    pub remaining: i64,
    pub unmet: i64,
    pub lines: Vec<Allocation>,
}

fn tier_order(tier: Option<PartnershipTier>) -> u8 {
    match tier {
        Some(PartnershipTier::Strategic) => 0,
        Some(PartnershipTier::Service) => 1,
        Some(PartnershipTier::Price) => 2,
        None => 3,
    }
}

fn tier_name(tier: Option<PartnershipTier>) -> &'static str {
    match tier {
        Some(PartnershipTier::Strategic) => "STRATEGIC",
        Some(PartnershipTier::Service) => "SERVICE",
        Some(PartnershipTier::Price) => "PRICE",
        None => "no",
    }
}

/// Allocates `available` units among `claimants` (pure; see the module doc).
pub fn allocate(available: i64, mut claimants: Vec<Claimant>) -> Plan {
    claimants.sort_by_key(|c| {
        (
            !c.live,
            c.priority.is_none(),
            c.priority.map_or(0, |(rank, _)| rank),
            tier_order(c.tier),
            std::cmp::Reverse(c.revenue_cents),
            c.customer_id,
        )
    });
    let mut left = available;
    let mut from_guarantee = Vec::with_capacity(claimants.len());
    for c in &claimants {
        let guaranteed = if c.live { c.priority.map_or(0, |(_, g)| g) } else { 0 };
        let take = c.demanded.min(guaranteed).min(left);
        left -= take;
        from_guarantee.push(take);
    }
    let mut lines = Vec::with_capacity(claimants.len());
    for (i, c) in claimants.iter().enumerate() {
        let first = from_guarantee[i];
        let more = if c.live { (c.demanded - first).min(left) } else { 0 };
        left -= more;
        let allocated = first + more;
        let guaranteed = c.priority.map_or(0, |(_, g)| g);
        let previous = i.checked_sub(1).map(|p| &claimants[p]);
        let rule = match (c.priority, previous) {
            _ if !c.live => Rule::NotLive,
            _ if c.priority.is_some() && c.demanded <= guaranteed => Rule::Guarantee,
            (None, _) => Rule::NoPriority,
            (Some(_), None) => Rule::PriorityRank,
            (Some((rank, _)), Some(p)) if p.priority.map(|(r, _)| r) != Some(rank) => Rule::PriorityRank,
            (Some(_), Some(p)) if tier_order(p.tier) != tier_order(c.tier) => Rule::PartnershipTier,
            (Some(_), Some(_)) => Rule::Revenue,
        };
        let explanation = explain(c, i + 1, rule, first, more);
        lines.push(Allocation {
            customer_id: c.customer_id,
            customer_name: c.customer_name.clone(),
            position: i + 1,
            demanded: c.demanded,
            guaranteed,
            allocated,
            unmet: c.demanded - allocated,
            rule,
            explanation,
        });
    }
    let allocated = available - left;
    let unmet = lines.iter().map(|l| l.unmet).sum();
    Plan { available, allocated, remaining: left, unmet, lines }
}

fn revenue_quote(cents: i64) -> String {
    format!("12-month revenue of {:.2}", cents as f64 / 100.0)
}

fn explain(c: &Claimant, position: usize, rule: Rule, from_guarantee: i64, more: i64) -> String {
    let why = match (rule, c.priority) {
        (Rule::Guarantee, Some((_, g))) => format!("demand of {} is within its guarantee of {g}", c.demanded),
        (Rule::PriorityRank, Some((rank, _))) => format!("priority rank {rank}"),
        (Rule::PartnershipTier, Some((rank, _))) => {
            format!("priority rank {rank}, then {} partnership", tier_name(c.tier))
        }
        (Rule::Revenue, Some((rank, _))) => {
            format!(
                "priority rank {rank} and {} partnership, then {}",
                tier_name(c.tier),
                revenue_quote(c.revenue_cents)
            )
        }
        _ if rule == Rule::NotLive => {
            return format!(
                "Not served (#{position}): only live customers get stock (not lost, archived or prospects); 0 of {} demanded.",
                c.demanded
            );
        }
        _ => "no supply priority for this line: served after every customer with one".to_owned(),
    };
    format!(
        "Served #{position} ({why}): {from_guarantee} guaranteed + {more} more = {} of {} demanded.",
        from_guarantee + more,
        c.demanded
    )
}

/// The plan for `product_line`, with the viewer's access: a demanded customer
/// the viewer cannot see is NOT_FOUND. Two statements whatever the demand.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn plan(
    db: &DatabaseConnection,
    viewer: &Viewer,
    product_line: &str,
    available: i64,
    demand: &[Demand],
    on: chrono::NaiveDate,
) -> AppResult<Plan> {
    if product_line.trim().is_empty() {
        return Err(AppError::bad_input("productLine", "must not be empty"));
    }
    if available < 0 {
        return Err(AppError::bad_input("available", "must not be negative"));
    }
    if demand.len() > MAX_DEMAND_LINES {
        return Err(AppError::bad_input("demand", format!("at most {MAX_DEMAND_LINES} lines")));
    }
    let mut seen = HashSet::new();
    for d in demand {
        if d.quantity < 0 {
            return Err(AppError::bad_input("demand.quantity", "must not be negative"));
        }
        if !seen.insert(d.customer_id) {
            return Err(AppError::bad_input("demand.customerId", "each customer at most once"));
        }
    }
    if demand.is_empty() {
        return Ok(allocate(available, Vec::new()));
    }
    let ids: Vec<i64> = demand.iter().map(|d| d.customer_id).collect();
    let customers: HashMap<i64, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids.clone()))
        .filter(policy::visible_customers(viewer))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    if customers.len() != ids.len() {
        return Err(AppError::NotFound("customer"));
    }
    let priorities: HashMap<i64, supply_priority::Model> = supply_priority::Entity::find()
        .filter(supply_priority::Column::CustomerId.is_in(ids))
        .filter(supply_priority::Column::ProductLine.eq(product_line))
        .filter(supply_priority::Column::ArchivedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter(|p| p.peak_starts_on.is_none_or(|s| s <= on) && p.peak_ends_on.is_none_or(|e| on <= e))
        .map(|p| (p.customer_id, p))
        .collect();
    let claimants: Vec<Claimant> = demand
        .iter()
        .map(|d| {
            let c = &customers[&d.customer_id];
            Claimant {
                customer_id: d.customer_id,
                customer_name: c.name.clone(),
                demanded: d.quantity,
                priority: priorities.get(&d.customer_id).map(|p| (p.priority_rank, p.guaranteed_quantity)),
                tier: c.tier,
                revenue_cents: c.revenue_t12m_cents,
                live: crate::rules::is_live(c.status.as_str(), c.archived_at.is_some()),
            }
        })
        .collect();
    let quoted: HashMap<i64, String> =
        claimants.iter().map(|c| (c.customer_id, revenue_quote(c.revenue_cents))).collect();
    let mut plan = allocate(available, claimants);
    // The order still follows revenue; the amount is left out for a viewer who may not read it.
    if !viewer.may_read(policy::SensitiveField::Revenue) {
        for line in &mut plan.lines {
            if let Some(quote) = quoted.get(&line.customer_id) {
                line.explanation = line.explanation.replace(quote.as_str(), "12-month revenue");
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimant(id: i64, demanded: i64, priority: Option<(i32, i64)>, tier: Option<PartnershipTier>) -> Claimant {
        Claimant {
            customer_id: id,
            customer_name: format!("C{id}"),
            demanded,
            priority,
            tier,
            revenue_cents: 0,
            live: true,
        }
    }

    #[test]
    fn guarantees_come_first_then_the_order_serves_the_rest() {
        // 100 units. A (rank 2, guarantee 30) wants 50; B (rank 1, guarantee 20)
        // wants 60; C (no priority) wants 40.
        // Guarantees: B 20, A 30 -> 50 left. Rest in order: B +40 (its 60), A +10
        // (the last 10), C nothing.
        let plan = allocate(
            100,
            vec![
                claimant(1, 50, Some((2, 30)), None),
                claimant(2, 60, Some((1, 20)), None),
                claimant(3, 40, None, Some(PartnershipTier::Strategic)),
            ],
        );
        let got: Vec<(i64, i64, i64, Rule)> =
            plan.lines.iter().map(|l| (l.customer_id, l.allocated, l.unmet, l.rule)).collect();
        assert_eq!(
            got,
            vec![(2, 60, 0, Rule::PriorityRank), (1, 40, 10, Rule::PriorityRank), (3, 0, 40, Rule::NoPriority)]
        );
        assert_eq!((plan.allocated, plan.remaining, plan.unmet), (100, 0, 50));
        assert_eq!(
            plan.lines[1].explanation,
            "Served #2 (priority rank 2): 30 guaranteed + 10 more = 40 of 50 demanded."
        );
    }

    #[test]
    fn ties_go_to_the_tier_then_the_revenue_then_the_id() {
        let mut rich = claimant(5, 10, Some((1, 0)), Some(PartnershipTier::Price));
        rich.revenue_cents = 900;
        let plan = allocate(
            25,
            vec![
                claimant(4, 10, Some((1, 0)), Some(PartnershipTier::Price)),
                rich,
                claimant(6, 10, Some((1, 0)), Some(PartnershipTier::Strategic)),
            ],
        );
        let got: Vec<(i64, i64, Rule)> = plan.lines.iter().map(|l| (l.customer_id, l.allocated, l.rule)).collect();
        assert_eq!(got, vec![(6, 10, Rule::PriorityRank), (5, 10, Rule::PartnershipTier), (4, 5, Rule::Revenue)]);
    }

    #[test]
    fn a_guarantee_holds_even_when_the_stock_runs_out_before_its_rank() {
        // 30 units: rank 1 wants 100 with no guarantee, rank 5 has 30 guaranteed.
        let plan = allocate(30, vec![claimant(1, 100, Some((1, 0)), None), claimant(2, 30, Some((5, 30)), None)]);
        assert_eq!(plan.lines[0].allocated, 0);
        assert_eq!((plan.lines[1].allocated, plan.lines[1].rule), (30, Rule::Guarantee));
    }
}

#[cfg(test)]
mod live_tests {
    use super::*;

    #[test]
    fn a_customer_that_is_not_live_gets_nothing_even_with_the_best_rank() {
        let lost = Claimant {
            customer_id: 1,
            customer_name: "Gone".into(),
            demanded: 10,
            priority: Some((1, 10)),
            tier: Some(PartnershipTier::Strategic),
            revenue_cents: 0,
            live: false,
        };
        let live = Claimant { customer_id: 2, live: true, priority: None, tier: None, ..lost.clone() };
        let plan = allocate(15, vec![lost, live]);
        let got: Vec<(i64, i64, Rule)> = plan.lines.iter().map(|l| (l.customer_id, l.allocated, l.rule)).collect();
        assert_eq!(got, vec![(2, 10, Rule::NoPriority), (1, 0, Rule::NotLive)]);
        assert_eq!(plan.remaining, 5);
    }
}
