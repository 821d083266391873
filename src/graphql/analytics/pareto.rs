//! `paretoReport`.

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::{
    analytics::pareto as report,
    graphql::support::{
        context::request,
        guards,
        scalars::{Date, Money},
    },
    policy::SensitiveField,
};

const REVENUE: SensitiveField = SensitiveField::Revenue;
const GROSS_PROFIT: SensitiveField = SensitiveField::GrossProfit;

/// One point of the Lorenz curve.
#[derive(SimpleObject)]
pub struct LorenzPoint {
    /// Share of the customers, smallest first (0 to 1).
    pub customer_share: f64,
    /// Share of the revenue they bring (0 to 1).
    pub revenue_share: f64,
}

/// The 80/20 report.
pub struct ParetoReport(report::ParetoReport);

/// How concentrated revenue and profit are: the top fifth's shares, the loss makers, the Lorenz curve.
#[Object]
impl ParetoReport {
    /// First day of the period.
    async fn from(&self) -> Date {
        Date(self.0.from)
    }
    /// Last day of the period.
    async fn to(&self) -> Date {
        Date(self.0.to)
    }
    /// Customers with revenue or gross profit in the period.
    async fn customers(&self) -> i64 {
        self.0.customers
    }
    /// Your customers left out, by reason: archived, or without revenue or gross profit in the period.
    async fn excluded(&self) -> Vec<super::excluded::ExcludedCustomers> {
        super::excluded::excluded(self.0.excluded.clone())
    }
    /// Their revenue; null when you may not read REVENUE.
    async fn revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(REVENUE, "ParetoReport.revenue", Money(self.0.revenue_cents)))
    }
    /// Their gross profit; null when you may not read GROSS_PROFIT.
    async fn gross_profit(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(GROSS_PROFIT, "ParetoReport.grossProfit", Money(self.0.gross_profit_cents)))
    }
    /// The top 20% of customers by revenue: `ceil(customers × 0.2)`.
    async fn top_customers(&self) -> i64 {
        self.0.top_customers
    }
    /// Share of the revenue from the top 20%; null without revenue, or when you may not read REVENUE.
    async fn top_revenue_share(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(request(ctx)?.sensitive(REVENUE, "ParetoReport.topRevenueShare", self.0.top_revenue_share()).flatten())
    }
    /// Share of the gross profit from the top 20%; null without gross profit, or when you may not read
    /// GROSS_PROFIT.
    async fn top_gross_profit_share(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let share = self.0.top_gross_profit_share();
        Ok(request(ctx)?.sensitive(GROSS_PROFIT, "ParetoReport.topGrossProfitShare", share).flatten())
    }
    /// Customers with negative gross profit in the period; null when you may not read GROSS_PROFIT.
    async fn loss_making_customers(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        let count = self.0.loss_making_customers;
        Ok(request(ctx)?.sensitive(GROSS_PROFIT, "ParetoReport.lossMakingCustomers", count))
    }
    /// Their losses over the gross profit of the profitable customers: the share of profit they eat;
    /// null when no customer made a profit, or when you may not read GROSS_PROFIT.
    async fn profit_eaten_by_loss_makers(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let share = self.0.profit_eaten_share();
        Ok(request(ctx)?.sensitive(GROSS_PROFIT, "ParetoReport.profitEatenByLossMakers", share).flatten())
    }
    /// The fewest customers (largest first) that make 80% of the revenue; null when you may not read REVENUE.
    async fn customers_for_80_percent_revenue(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        let count = self.0.customers_for_80_percent;
        Ok(request(ctx)?.sensitive(REVENUE, "ParetoReport.customersFor80PercentRevenue", count))
    }
    /// The Lorenz curve: customers sorted by revenue ascending, at most 101 points from (0, 0) to (1, 1); null
    /// when you may not read REVENUE.
    async fn points(&self, ctx: &Context<'_>) -> Result<Option<Vec<LorenzPoint>>> {
        let points = || {
            self.0
                .points
                .iter()
                .map(|p| LorenzPoint { customer_share: p.customer_share, revenue_share: p.revenue_share })
                .collect()
        };
        Ok(request(ctx)?.may_read(REVENUE, "ParetoReport.points").then(points))
    }
}

#[derive(Default)]
pub struct ParetoQuery;

#[Object]
impl ParetoQuery {
    /// The 80/20 report of your customers over the months of `[from, to]`.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn pareto_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day of the period (its month counts whole; default: the first day of the last 12 \
                           complete months).")]
        from: Option<Date>,
        #[graphql(desc = "Last day of the period (default: the last day of the last complete month).")] to: Option<
            Date,
        >,
    ) -> Result<ParetoReport> {
        let rc = request(ctx)?;
        let (first, last) = crate::rules::default_window(chrono::Utc::now().date_naive());
        let (from, to) = (from.map_or(first, |d| d.0), to.map_or(last, |d| d.0));
        Ok(ParetoReport(report::report(&rc.db, &rc.viewer(), from, to).await?))
    }
}
