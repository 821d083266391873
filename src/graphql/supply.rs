//! Supply priorities in the API.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::supply_priority;

use crate::{
    analytics::supply_plan::{self, Demand, Rule},
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::scalars::Date,
    },
    service::supply::{self as service, SupplyFilter, SupplyTerms},
};

/// What a customer asks for in a supply allocation plan.
#[derive(InputObject)]
pub struct SupplyDemandInput {
    /// The customer (one line per customer).
    pub customer_id: ID,
    /// Units demanded (not negative).
    pub quantity: i64,
}

/// What decided a customer's allocation.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum AllocationRule {
    /// The whole demand was within the customer's guaranteed quantity.
    Guarantee,
    /// The customer's priority rank placed it (it is first, or ranked below the customer before it).
    PriorityRank,
    /// Same rank as the customer before it; the partnership tier (STRATEGIC, SERVICE, PRICE, none) placed it.
    PartnershipTier,
    /// Same rank and tier as the customer before it; the higher revenue of the last 12 months went first.
    Revenue,
    /// No supply priority for the line, or its peak-season window does not hold on the plan's day: served
    /// after every customer with one.
    NoPriority,
    /// Not a live customer (LOST, archived or a PROSPECT): served nothing, listed last.
    NotLive,
}

impl From<Rule> for AllocationRule {
    fn from(rule: Rule) -> Self {
        match rule {
            Rule::Guarantee => Self::Guarantee,
            Rule::PriorityRank => Self::PriorityRank,
            Rule::PartnershipTier => Self::PartnershipTier,
            Rule::Revenue => Self::Revenue,
            Rule::NoPriority => Self::NoPriority,
            Rule::NotLive => Self::NotLive,
        }
    }
}

/// One customer's line of a supply allocation plan.
#[derive(SimpleObject)]
pub struct SupplyAllocation {
    /// The customer.
    pub customer_id: ID,
    /// The customer's name.
    pub customer_name: String,
    /// Serving order, 1 first.
    pub position: i32,
    /// Units demanded.
    pub demanded: i64,
    /// Guaranteed quantity on record for the line (0 without a supply priority).
    pub guaranteed: i64,
    /// Units allocated: guaranteed units first, then the rest in serving order.
    pub allocated: i64,
    /// Demanded but not allocated.
    pub unmet: i64,
    /// What decided the allocation.
    pub rule: AllocationRule,
    /// One sentence with the numbers: position, why, guaranteed and further units (the revenue amount only when
    /// you may read REVENUE).
    pub explanation: String,
}

/// Who gets how much of a product line's available stock, in serving order.
#[derive(SimpleObject)]
pub struct SupplyAllocationPlan {
    /// The product line.
    pub product_line: String,
    /// Units available.
    pub available: i64,
    /// Units allocated in all.
    pub allocated: i64,
    /// Units left after every demand was served.
    pub remaining: i64,
    /// Units demanded but not allocated, in all.
    pub unmet: i64,
    /// Every demand line, in serving order.
    pub lines: Vec<SupplyAllocation>,
}

/// Who gets scarce stock of a product line first, and how much is guaranteed.
#[derive(SimpleObject)]
pub struct SupplyPriority {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// Product line.
    pub product_line: String,
    /// 1 is served first.
    pub priority_rank: i32,
    /// Quantity guaranteed in peak season.
    pub guaranteed_quantity: i64,
    /// Lead time in days.
    pub lead_time_days: Option<i32>,
    /// Peak season start.
    pub peak_starts_on: Option<Date>,
    /// Peak season end.
    pub peak_ends_on: Option<Date>,
    /// Optimistic-locking version.
    pub version: i32,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<supply_priority::Model> for SupplyPriority {
    fn from(m: supply_priority::Model) -> Self {
        Self {
            id: ids::encode("SupplyPriority", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            product_line: m.product_line,
            priority_rank: m.priority_rank,
            guaranteed_quantity: m.guaranteed_quantity,
            lead_time_days: m.lead_time_days,
            peak_starts_on: m.peak_starts_on.map(Into::into),
            peak_ends_on: m.peak_ends_on.map(Into::into),
            version: m.version,
            updated_at: m.updated_at,
            archived_at: m.archived_at,
        }
    }
}

order_by!(
    /// Sort order of the list.
    SupplyPriorityOrder, SupplyPriorityOrderField, supply_priority::Column,
    default(PriorityRank, Asc),
    {
        /// By priority rank (1 first).
        PriorityRank => supply_priority::Column::PriorityRank;
    }
);

#[derive(Default)]
pub struct SupplyQuery;

#[Object]
impl SupplyQuery {
    /// Supply priorities of the customers you can see, by rank (1 first).
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn supply_priorities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default: highest priority first).")] order_by: Option<SupplyPriorityOrder>,
        #[graphql(desc = "The customer.")] customer_id: Option<ID>,
        #[graphql(desc = "Only this product line.")] product_line: Option<String>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<SupplyPriority>> {
        let rc = request(ctx)?;
        let filter = SupplyFilter {
            customer_id: ids::decode_opt("Customer", "customerId", customer_id.as_ref())?,
            product_line,
            include_archived: false,
        };
        let sort = order_by.unwrap_or_default().sort(supply_priority::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<supply_priority::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |s| s.id, wrap).await?)
    }

    /// Who would get how much of `available` units of a product line, for the
    /// given demand, and why. Guaranteed quantities are served first, then the
    /// rest of the demand, both in serving order: customers with a supply
    /// priority for the line by rank (1 first), then partnership tier
    /// (STRATEGIC, SERVICE, PRICE, none), then revenue of the last 12 months
    /// (highest first); customers without a priority for the line come after
    /// them all. A priority with a peak-season window holds on the days of its window only. Lost, archived and
    /// prospective customers are served nothing (rule NOT_LIVE). Read-only: nothing is booked. A customer you cannot see
    /// is NOT_FOUND.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn supply_allocation_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product line.")] product_line: String,
        #[graphql(desc = "Units available to allocate (not negative).")] available: i64,
        #[graphql(desc = "What each customer asks for; at most 1000 lines, one per customer.")] demand: Vec<
            SupplyDemandInput,
        >,
        #[graphql(desc = "The day the stock is allocated on, for the peak-season windows (default: today, UTC).")]
        on: Option<Date>,
    ) -> Result<SupplyAllocationPlan> {
        let rc = request(ctx)?;
        let demand = demand
            .iter()
            .map(|d| {
                Ok(Demand { customer_id: ids::decode("Customer", "customerId", &d.customer_id)?, quantity: d.quantity })
            })
            .collect::<Result<Vec<_>>>()?;
        let on = on.map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
        let plan = supply_plan::plan(&rc.db, &rc.viewer(), &product_line, available, &demand, on).await?;
        if plan.lines.iter().any(|l| l.rule == supply_plan::Rule::Revenue) {
            // The explanations of lines placed by revenue quote it only to a reader of REVENUE.
            rc.may_read(crate::policy::SensitiveField::Revenue, "SupplyAllocation.explanation");
        }
        let lines = plan
            .lines
            .into_iter()
            .map(|l| SupplyAllocation {
                customer_id: ids::encode("Customer", l.customer_id),
                customer_name: l.customer_name,
                position: i32::try_from(l.position).unwrap_or(i32::MAX),
                demanded: l.demanded,
                guaranteed: l.guaranteed,
                allocated: l.allocated,
                unmet: l.unmet,
                rule: l.rule.into(),
                explanation: l.explanation,
            })
            .collect();
        Ok(SupplyAllocationPlan {
            product_line,
            available: plan.available,
            allocated: plan.allocated,
            remaining: plan.remaining,
            unmet: plan.unmet,
            lines,
        })
    }
}

/// A customer's priority for a product line.
#[derive(InputObject)]
pub struct SupplyPriorityInput {
    /// The customer.
    pub customer_id: ID,
    /// Product line, 1 to 100 characters.
    pub product_line: String,
    /// Rank, 1 (first) to 10000.
    pub priority_rank: i32,
    /// Guaranteed quantity (not negative).
    #[graphql(default)]
    pub guaranteed_quantity: i64,
    /// Lead time in days.
    pub lead_time_days: Option<i32>,
    /// Peak season start.
    pub peak_starts_on: Option<Date>,
    /// Peak season end (not before the start).
    pub peak_ends_on: Option<Date>,
}

#[derive(Default)]
pub struct SupplyMutation;

#[Object]
impl SupplyMutation {
    /// Creates or replaces the priority of a customer for a product line.
    async fn set_supply_priority(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: SupplyPriorityInput,
    ) -> Result<SupplyPriority> {
        let rc = request(ctx)?;
        let terms = SupplyTerms {
            customer_id: ids::decode("Customer", "customerId", &input.customer_id)?,
            product_line: input.product_line,
            priority_rank: input.priority_rank,
            guaranteed_quantity: input.guaranteed_quantity,
            lead_time_days: input.lead_time_days,
            peak_starts_on: input.peak_starts_on.map(Into::into),
            peak_ends_on: input.peak_ends_on.map(Into::into),
        };
        Ok(service::upsert(&rc.services, &rc.viewer(), terms).await?.into())
    }

    /// Archives a supply priority.
    async fn archive_supply_priority(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supply priority.")] id: ID,
    ) -> Result<SupplyPriority> {
        let rc = request(ctx)?;
        let id = ids::decode("SupplyPriority", "id", &id)?;
        Ok(service::archive(&rc.services, &rc.viewer(), id).await?.into())
    }
}
