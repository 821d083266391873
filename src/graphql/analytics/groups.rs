//! A customer's group in the API.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use crate::{
    analytics::groups::GroupFigures,
    graphql::{
        analytics::health::HealthLevel, customers::Customer, loaders::load_error, support::context::request,
        support::scalars::Money,
    },
    policy::SensitiveField,
};

/// A key account as a group: its top visible ancestor and every customer under it that you see, with the
/// figures of the whole.
pub struct CustomerGroup(pub Arc<GroupFigures>);

/// A key account as a group: its top visible ancestor and every customer under it that you see, with the
/// figures of the whole.
#[Object]
impl CustomerGroup {
    /// The top of the group: the highest ancestor you see (the customer itself when it has none).
    async fn top(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let rc = request(ctx)?;
        Ok(rc.loaders.customer_by_id().load_one(self.0.top_id).await.map_err(load_error)?.map(Customer::one))
    }
    /// Customers in the group that you see, the top included (archived ones are not).
    async fn customers(&self) -> i64 {
        self.0.customers
    }
    /// Revenue of the last 12 complete months, summed over the group; null when you may not read REVENUE.
    async fn revenue_last_12_months(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.0.revenue_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "CustomerGroup.revenueLast12Months", revenue))
    }
    /// Gross profit of the last 12 complete months, summed over the group; null when you may not read
    /// GROSS_PROFIT.
    async fn gross_profit_last_12_months(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let profit = Money(self.0.gross_profit_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::GrossProfit, "CustomerGroup.grossProfitLast12Months", profit))
    }
    /// Open tickets across the group.
    async fn open_tickets(&self) -> i64 {
        self.0.open_tickets
    }
    /// Open tickets past their first-response or resolution target.
    async fn sla_breached_tickets(&self) -> i64 {
        self.0.sla_breached_tickets
    }
    /// Commitments past their due date and not fulfilled.
    async fn overdue_commitments(&self) -> i64 {
        self.0.overdue_commitments
    }
    /// The lowest health score of a member (null before any member is scored).
    async fn worst_health_score(&self) -> Option<i64> {
        self.0.worst_score
    }
    /// The level of the lowest score.
    async fn worst_health_level(&self, ctx: &Context<'_>) -> Result<Option<HealthLevel>> {
        let rc = request(ctx)?;
        Ok(self.0.worst_score.map(|s| rc.services.health.rules().level(s as i32).into()))
    }
    /// Members' scores weighted by their revenue of the last 12 months (the plain mean when the group has no
    /// revenue), one decimal; null when you may not read REVENUE (the weights would tell the members' shares).
    async fn revenue_weighted_health_score(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let score = self.0.weighted_score;
        Ok(request(ctx)?
            .sensitive(SensitiveField::Revenue, "CustomerGroup.revenueWeightedHealthScore", score)
            .flatten())
    }
    /// Members at AT_RISK or CRITICAL.
    async fn members_at_risk(&self, ctx: &Context<'_>) -> Result<Vec<Customer>> {
        let rc = request(ctx)?;
        let found = rc.loaders.customer_by_id().load_many(self.0.at_risk.iter().copied()).await.map_err(load_error)?;
        let mut members: Vec<_> = found.into_values().collect();
        members.sort_by_key(|c| c.id);
        Ok(members.into_iter().map(Customer::one).collect())
    }
}
