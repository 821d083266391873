//! Revenue in the API.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::revenue_entry;

use crate::{
    error::AppError,
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::scalars::{Date, Money},
    },
    policy::SensitiveField,
    service::revenue::{self as service, RevenueFilter, RevenueRow},
};

/// Revenue and gross profit of a customer for one month.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RevenueEntry {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// First day of the month.
    pub month: Date,
    #[graphql(skip)]
    pub revenue: Money,
    #[graphql(skip)]
    pub gross_profit: Money,
    /// When it was last pushed.
    pub updated_at: DateTime<Utc>,
}

#[async_graphql::ComplexObject]
impl RevenueEntry {
    /// Revenue; null when you may not read REVENUE.
    async fn revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "RevenueEntry.revenue", self.revenue))
    }
    /// Gross profit; null when you may not read GROSS_PROFIT.
    async fn gross_profit(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(SensitiveField::GrossProfit, "RevenueEntry.grossProfit", self.gross_profit))
    }
}

impl From<revenue_entry::Model> for RevenueEntry {
    fn from(m: revenue_entry::Model) -> Self {
        Self {
            id: ids::encode("RevenueEntry", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            month: m.month.into(),
            revenue: Money(m.revenue_cents),
            gross_profit: Money(m.gross_profit_cents),
            updated_at: m.updated_at,
        }
    }
}

order_by!(
    /// Sort order of the list.
    RevenueEntryOrder, RevenueEntryOrderField, revenue_entry::Column,
    default(Month, Asc),
    {
        /// By month.
        Month => revenue_entry::Column::Month;
    }
);

#[derive(Default)]
pub struct RevenueQuery;

#[Object]
impl RevenueQuery {
    /// Monthly revenue of the customers you can see, oldest month first.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn revenue_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default: oldest month first).")] order_by: Option<RevenueEntryOrder>,
        #[graphql(desc = "The customer.")] customer_id: Option<ID>,
        #[graphql(desc = "First month included.")] from_month: Option<Date>,
        #[graphql(desc = "Last month included.")] to_month: Option<Date>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<RevenueEntry>> {
        let rc = request(ctx)?;
        let filter = RevenueFilter {
            customer_id: ids::decode_opt("Customer", "customerId", customer_id.as_ref())?,
            from_month: from_month.map(Into::into),
            to_month: to_month.map(Into::into),
        };
        let sort = order_by.unwrap_or_default().sort(revenue_entry::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<revenue_entry::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |r| r.id, wrap).await?)
    }
}

/// One month of revenue for a customer.
#[derive(InputObject)]
pub struct RevenueEntryInput {
    /// The customer; or give `customerExternalId` instead.
    pub customer_id: Option<ID>,
    /// The customer's id in the `source` system (see `upsertCustomers`), instead of `customerId`.
    pub customer_external_id: Option<String>,
    /// First day of the month.
    pub month: Date,
    /// Revenue.
    pub revenue: Money,
    /// Gross profit.
    pub gross_profit: Money,
}

/// Result of a bulk revenue push.
#[derive(SimpleObject)]
pub struct UpsertRevenuePayload {
    /// Rows inserted or replaced.
    pub upserted: i32,
}

#[derive(Default)]
pub struct RevenueMutation;

#[Object]
impl RevenueMutation {
    /// Inserts or replaces up to 1,000 monthly entries, idempotent on customer and
    /// month, all or nothing. Service accounts need the `revenue:write` scope.
    async fn upsert_revenue_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rows, at most 1,000; all are written or none.")] entries: Vec<RevenueEntryInput>,
        #[graphql(desc = "The system whose ids `customerExternalId` gives (required with them).")] source: Option<
            String,
        >,
    ) -> Result<UpsertRevenuePayload> {
        let rc = request(ctx)?;
        let external: Vec<String> = entries.iter().filter_map(|e| e.customer_external_id.clone()).collect();
        let known = match (&source, external.is_empty()) {
            (_, true) => Default::default(),
            (Some(source), false) => service::resolve_external(&rc.db, &rc.viewer(), source, external).await?,
            (None, false) => {
                return Err(AppError::bad_input("source", "source is required with customerExternalId").into());
            }
        };
        let rows = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let customer_id = match (&e.customer_id, &e.customer_external_id) {
                    (Some(id), None) => ids::decode("Customer", &format!("entries[{i}].customerId"), id)?,
                    (None, Some(external)) => *known.get(external).ok_or_else(|| {
                        AppError::bad_input(&format!("entries[{i}].customerExternalId"), "customer not found")
                    })?,
                    _ => {
                        return Err(AppError::bad_input(
                            &format!("entries[{i}]"),
                            "give exactly one of customerId and customerExternalId",
                        ));
                    }
                };
                Ok(RevenueRow {
                    customer_id,
                    month: e.month.into(),
                    revenue_cents: e.revenue.cents(),
                    gross_profit_cents: e.gross_profit.cents(),
                })
            })
            .collect::<crate::error::AppResult<Vec<_>>>()?;
        let upserted = service::upsert(&rc.services, &rc.viewer(), rows).await?;
        Ok(UpsertRevenuePayload { upserted: i32::try_from(upserted).unwrap_or(i32::MAX) })
    }
}
