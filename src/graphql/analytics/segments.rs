//! `segmentationSummary`.

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::{
    analytics::segments::{self as report, SegmentRules},
    graphql::support::{
        context::request,
        enums::Segment,
        guards,
        scalars::{Date, Money},
    },
    policy::{self, SensitiveField},
};

/// The thresholds segments are computed with (configuration: `RAPPORT_SEGMENT_RULES`).
#[derive(SimpleObject)]
pub struct SegmentThresholds {
    /// Top share of revenue-earning customers, by revenue, that can be LARGE_QUALITY (percent).
    pub large_percent: u32,
    /// Top share that is at least AVERAGE (percent).
    pub average_percent: u32,
    /// Gross margin a large customer needs to be LARGE_QUALITY (percent).
    pub large_margin_percent: u32,
    /// Gross margin that makes a small customer SMALL_QUALITY (percent); HIGH strategic importance does too.
    pub quality_margin_percent: u32,
    /// Negative gross profit over the 12 months makes a customer BLEEDING, whatever its size.
    pub bleeding_below_gross_profit: Money,
}

impl From<SegmentRules> for SegmentThresholds {
    fn from(r: SegmentRules) -> Self {
        Self {
            large_percent: r.large_percent,
            average_percent: r.average_percent,
            large_margin_percent: r.large_margin_percent,
            quality_margin_percent: r.quality_margin_percent,
            bleeding_below_gross_profit: Money(0),
        }
    }
}

/// One segment of your customers.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SegmentFigure {
    /// The segment; null for customers without revenue in the 12 months.
    pub segment: Option<Segment>,
    /// Customers in it.
    pub customers: i64,
    #[graphql(skip)]
    pub revenue: Money,
    /// Their gross profit over the 12 months.
    pub gross_profit: Money,
    /// Share of your customers; null when you have none.
    pub customer_share: Option<f64>,
    #[graphql(skip)]
    pub revenue_share: Option<f64>,
    /// Share of your customers' gross profit (negative for BLEEDING); null when it is zero.
    pub gross_profit_share: Option<f64>,
}

#[async_graphql::ComplexObject]
impl SegmentFigure {
    /// Their revenue over the 12 months; null when you may not read REVENUE.
    async fn revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "SegmentFigure.revenue", self.revenue))
    }
    /// Share of your customers' revenue; null when there is none, or when you may not read REVENUE.
    async fn revenue_share(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let share = self.revenue_share;
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "SegmentFigure.revenueShare", share).flatten())
    }
}

/// Your customers by segment as of a date.
#[derive(SimpleObject)]
pub struct SegmentationSummary {
    /// The date: segments rank the last 12 complete months before its month.
    pub as_of: Date,
    /// The thresholds used.
    pub thresholds: SegmentThresholds,
    /// One entry per segment present among your live customers (ACTIVE or WON_BACK, not archived),
    /// LARGE_QUALITY first, no segment (no revenue in the 12 months) last.
    pub segments: Vec<SegmentFigure>,
    /// Your customers that take no segment slot (lost, archived, not a customer yet), by reason.
    pub excluded: Vec<super::excluded::ExcludedCustomers>,
}

#[derive(Default)]
pub struct SegmentQuery;

#[Object]
impl SegmentQuery {
    /// Your customers by segment (ranked against the whole book) as of a date: counts, revenue, gross
    /// profit and their shares, with the thresholds used. FORBIDDEN when you may not read GROSS_PROFIT.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn segmentation_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date (default: today); segments rank the last 12 complete months before its month.")]
        as_of: Option<Date>,
    ) -> Result<SegmentationSummary> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        // Segments rank by margin: the whole report is a grouping by gross profit.
        policy::ensure_may_use(&viewer, SensitiveField::GrossProfit, "segmentationSummary")?;
        let as_of = as_of.map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
        let rules = rc.services.config.segment_rules;
        let summary = report::summary(&rc.db, &viewer, rules, as_of).await?;
        Ok(SegmentationSummary {
            as_of: Date(summary.as_of),
            thresholds: summary.rules.into(),
            segments: summary
                .segments
                .into_iter()
                .map(|s| SegmentFigure {
                    segment: s.segment.map(Into::into),
                    customers: s.customers,
                    revenue: Money(s.revenue_cents),
                    gross_profit: Money(s.gross_profit_cents),
                    customer_share: s.customer_share,
                    revenue_share: s.revenue_share,
                    gross_profit_share: s.gross_profit_share,
                })
                .collect(),
            excluded: super::excluded::excluded(summary.excluded),
        })
    }
}
