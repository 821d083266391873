//! Supply priorities in the API.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::supply_priority;

use crate::{
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
        Ok(service::upsert(&rc.db, &rc.viewer(), terms).await?.into())
    }

    /// Archives a supply priority.
    async fn archive_supply_priority(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supply priority.")] id: ID,
    ) -> Result<SupplyPriority> {
        let rc = request(ctx)?;
        let id = ids::decode("SupplyPriority", "id", &id)?;
        Ok(service::archive(&rc.db, &rc.viewer(), id).await?.into())
    }
}
