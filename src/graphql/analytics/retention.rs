//! `retentionReport` and `silentChurn`.

use async_graphql::{
    Context, Enum, Object, Result, SimpleObject,
    connection::{Connection, EmptyFields},
};

use crate::{
    analytics::{
        retention::{self as report, Basis, Counts, GroupBy, RetentionQuery},
        silent_churn,
    },
    graphql::{
        customers::Customer,
        loaders::load_error,
        support::{
            context::request,
            enums::ChurnReason,
            guards,
            pagination::{Cursors, page_size},
            scalars::{Date, Money},
        },
    },
    policy::{self, SensitiveField},
};

const REVENUE: SensitiveField = SensitiveField::Revenue;

/// How to split a retention report.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetentionGroupBy {
    /// No split: `groups` is empty.
    #[default]
    None,
    /// By the account owner.
    Owner,
    /// By the owner's team.
    Team,
    /// By partnership tier.
    Tier,
    /// By the segment each customer had on `from` (ranked over the last 12 complete months then, among the
    /// customers live then).
    Segment,
    /// By sales region.
    Region,
    /// By industry.
    Industry,
    /// By group: each customer's top visible ancestor, by the hierarchy as it is now (not as it was in the
    /// window); the group's key is `Customer:<id>` and its label the top customer's name.
    Group,
}

/// What "active on day d" means for a report.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetentionBasis {
    /// `customerSince <= d`, not archived, and the latest churn event on or before d is not LOST.
    #[default]
    Events,
    /// Some revenue in the `inactiveMonths` months up to d, whatever churn events say.
    Activity,
}

/// Retention and churn of a set of customers over the window `(from, to]`.
pub struct RetentionFigures(Counts);

/// Retention and churn of a set of customers over the window `(from, to]` (a customer
/// gained or lost on `from` belongs to the previous window). Archived customers are left out.
#[Object]
impl RetentionFigures {
    /// Customers active on `from`.
    async fn customers_at_start(&self) -> i64 {
        self.0.at_start
    }
    /// Customers whose `customerSince` is in `(from, to]` (activity basis: whose first revenue month is).
    async fn gained(&self) -> i64 {
        self.0.gained
    }
    /// Customers active at some point in the window whose latest churn event in it is LOST and who are
    /// not active on `to` (activity basis: active on `from` or in the window, not active on `to`).
    async fn lost(&self) -> i64 {
        self.0.lost
    }
    /// Customers not active on `from` (they had been lost) whose latest churn event in the window is
    /// WON_BACK (activity basis: who bought before, were inactive on `from`, and bought in the window).
    async fn won_back(&self) -> i64 {
        self.0.won_back
    }
    /// Customers at start still active on `to`.
    async fn retained(&self) -> i64 {
        self.0.retained
    }
    /// Customers active on `to`.
    async fn customers_at_end(&self) -> i64 {
        self.0.at_end
    }
    /// `retained / customersAtStart` (0.4 means 40%); null when there were no customers at the start.
    async fn retention_rate(&self) -> Option<f64> {
        self.0.retention_rate()
    }
    /// Lost customers among those at start, over `customersAtStart`; null when there were none at the start.
    async fn churn_rate(&self) -> Option<f64> {
        self.0.churn_rate()
    }
    /// `gained / customersAtStart`; null when there were no customers at the start.
    async fn gain_rate(&self) -> Option<f64> {
        self.0.gain_rate()
    }
    /// `(customersAtEnd - customersAtStart) / customersAtStart`; null when there were none at the start.
    async fn net_change_rate(&self) -> Option<f64> {
        self.0.net_change_rate()
    }
    /// Revenue in the 12 months before `from` (months dated in `[from - 12 months, from)`) of the customers at
    /// start; null when you may not read REVENUE (as every revenue figure of the report).
    async fn revenue_before(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.0.revenue_before);
        Ok(request(ctx)?.sensitive(REVENUE, "RetentionFigures.revenueBefore", revenue))
    }
    /// The part of `revenueBefore` from the customers lost in the window.
    async fn lost_customers_revenue_before(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.0.lost_revenue_before);
        Ok(request(ctx)?.sensitive(REVENUE, "RetentionFigures.lostCustomersRevenueBefore", revenue))
    }
    /// Revenue of the gained customers in the last 12 months of the window (months in `(to - 12 months, to]`).
    async fn gained_customers_revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.0.gained_revenue);
        Ok(request(ctx)?.sensitive(REVENUE, "RetentionFigures.gainedCustomersRevenue", revenue))
    }
    /// `lostCustomersRevenueBefore / revenueBefore`; null when `revenueBefore` is zero.
    async fn lost_revenue_share(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let share = self.0.lost_revenue_share();
        Ok(request(ctx)?.sensitive(REVENUE, "RetentionFigures.lostRevenueShare", share).flatten())
    }
    /// Mean revenue per gained customer in the window's last 12 months over mean revenue per lost customer
    /// (among those at start) in the 12 months before `from`; null when either mean is undefined.
    async fn new_customer_revenue_ratio(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let ratio = self.0.new_customer_revenue_ratio();
        Ok(request(ctx)?.sensitive(REVENUE, "RetentionFigures.newCustomerRevenueRatio", ratio).flatten())
    }
}

/// One group of a split report.
#[derive(SimpleObject)]
pub struct RetentionGroup {
    /// Stable key: the owner's or team's global ID, the tier, segment, region or industry; `NONE` when unset.
    pub key: String,
    /// Readable name of the group.
    pub label: String,
    /// The group's figures; counts and amounts of all groups add up to the total.
    pub figures: RetentionFigures,
}

/// Lost customers by the reason of their loss.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ChurnReasonFigure {
    /// The reason recorded with the loss; null when none was recorded (activity basis).
    pub reason: Option<ChurnReason>,
    /// Whether the cause was in our hands: PRICE, QUALITY, SERVICE, COMMUNICATION, COMPETITOR_OFFER,
    /// BROKEN_PROMISE and REP_DEPARTURE were; CHANGED_BUSINESS and BECAME_COMPETITOR were not; null is
    /// unknown (OTHER, or no reason recorded).
    pub controllable: Option<bool>,
    /// Lost customers with this reason.
    pub count: i64,
    #[graphql(skip)]
    pub lost_revenue_before: Money,
}

#[async_graphql::ComplexObject]
impl ChurnReasonFigure {
    /// Their revenue in the 12 months before `from` (customers at start only); null when you may not read
    /// REVENUE.
    async fn lost_revenue_before(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = self.lost_revenue_before;
        Ok(request(ctx)?.sensitive(REVENUE, "ChurnReasonFigure.lostRevenueBefore", revenue))
    }
}

/// One month of the window.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RetentionPoint {
    /// First day of the month.
    pub month: Date,
    /// Customers active at the month's end (at `to` for the last month).
    pub customers: i64,
    /// Customers gained in the month (they add up to `total.gained`).
    pub gained: i64,
    /// Customers lost in the month (they add up to `total.lost`).
    pub lost: i64,
    #[graphql(skip)]
    pub revenue: Money,
}

#[async_graphql::ComplexObject]
impl RetentionPoint {
    /// Revenue of the month, of the customers the report covers; null when you may not read REVENUE.
    async fn revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(REVENUE, "RetentionPoint.revenue", self.revenue))
    }
}

/// Revenue kept from the customers at start: their revenue in the window's last L months against their
/// revenue in the L months before `from`, where L is the window's length in whole months (at least 1): two
/// periods of the same length that never overlap (12 and 12 for a one-year window).
#[derive(SimpleObject)]
pub struct RevenueRetention {
    /// Each customer's later revenue capped at its earlier revenue, over the earlier revenue (at most 1);
    /// null when there was no earlier revenue.
    pub gross: Option<f64>,
    /// Later revenue over earlier revenue, uncapped (above 1 when customers grew); null when there was none.
    pub net: Option<f64>,
    /// Revenue of the customers at start in the L months before `from`.
    pub revenue_before: Money,
    /// Their revenue in the window's last L months.
    pub revenue_after: Money,
}

/// The retention report.
pub struct RetentionReport(report::RetentionReport);

/// Who the company kept, gained, lost and won back over a window, what the lost customers were worth,
/// and why they left.
#[Object]
impl RetentionReport {
    /// Start of the window (exclusive for gains and losses).
    async fn from(&self) -> Date {
        Date(self.0.query.from)
    }
    /// End of the window (inclusive).
    async fn to(&self) -> Date {
        Date(self.0.query.to)
    }
    /// The figures of every customer the report covers.
    async fn total(&self) -> RetentionFigures {
        RetentionFigures(self.0.total)
    }
    /// The figures per group (empty with `groupBy: NONE`), by label.
    async fn groups(&self) -> Vec<RetentionGroup> {
        self.0
            .groups
            .iter()
            .map(|g| RetentionGroup { key: g.key.clone(), label: g.label.clone(), figures: RetentionFigures(g.counts) })
            .collect()
    }
    /// Lost customers by reason, most frequent first.
    async fn reasons(&self) -> Result<Vec<ChurnReasonFigure>> {
        Ok(self
            .0
            .reasons
            .iter()
            .map(|r| ChurnReasonFigure {
                reason: r.reason.map(Into::into),
                controllable: r.controllable,
                count: r.count,
                lost_revenue_before: Money(r.lost_revenue_before),
            })
            .collect())
    }
    /// Share of the lost customers whose reason was controllable (unknown reasons count as not);
    /// null when none was lost.
    async fn controllable_share(&self) -> Option<f64> {
        self.0.controllable_share()
    }
    /// One point per month of the window, for charts.
    async fn points(&self) -> Result<Vec<RetentionPoint>> {
        Ok(self
            .0
            .points
            .iter()
            .map(|p| RetentionPoint {
                month: Date(p.month),
                customers: p.customers,
                gained: p.gained,
                lost: p.lost,
                revenue: Money(p.revenue),
            })
            .collect())
    }
    /// Your customers the report left out, by reason (archived; on the EVENTS basis those without a start,
    /// neither `customerSince` nor revenue; on the ACTIVITY basis those that never bought). Empty when every
    /// customer counts.
    async fn excluded(&self) -> Vec<super::excluded::ExcludedCustomers> {
        super::excluded::excluded(self.0.excluded.clone())
    }
    /// Gross and net revenue retention of the customers at start; null when you may not read REVENUE.
    async fn revenue_retention(&self, ctx: &Context<'_>) -> Result<Option<RevenueRetention>> {
        let t = &self.0.total;
        let retention = || RevenueRetention {
            gross: t.gross_revenue_retention(),
            net: t.net_revenue_retention(),
            revenue_before: Money(t.retention_base),
            revenue_after: Money(t.revenue_after),
        };
        Ok(request(ctx)?.may_read(REVENUE, "RetentionReport.revenueRetention").then(retention))
    }
}

/// A customer that stopped buying without a recorded loss.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SilentChurn {
    /// The customer (still ACTIVE or WON_BACK).
    pub customer: Customer,
    /// The last month with revenue.
    pub last_revenue_month: Date,
    #[graphql(skip)]
    pub revenue_before: Money,
}

#[async_graphql::ComplexObject]
impl SilentChurn {
    /// Revenue in the 12 months up to and including that month; null when you may not read REVENUE.
    async fn revenue_before(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(request(ctx)?.sensitive(REVENUE, "SilentChurn.revenueBefore", self.revenue_before))
    }
}

/// The list's totals: how many went quiet, and who could not be judged.
#[derive(SimpleObject)]
pub struct SilentChurnTotals {
    /// Number of rows that match the filter, ignoring pagination.
    pub total_count: u64,
    /// Your live customers left out, by reason: those that never bought anything cannot have stopped
    /// (a book loaded without its revenue shows no silent churn at all).
    pub excluded: Vec<super::excluded::ExcludedCustomers>,
}

#[derive(Default)]
pub struct RetentionQueryRoot;

#[Object]
impl RetentionQueryRoot {
    /// Retention and churn of your customers over `(from, to]`, with their revenue impact and reasons.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn retention_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the window, excluded: the window is `(from, to]` (default: the day before the \
                           last 12 complete months).")]
        from: Option<Date>,
        #[graphql(desc = "End of the window (at most 120 months after `from`; default: the last day of the last \
                           complete month).")]
        to: Option<Date>,
        #[graphql(desc = "How to split the report (default NONE).", default_with = "Some(RetentionGroupBy::None)")]
        group_by: Option<RetentionGroupBy>,
        #[graphql(desc = "What \"active\" means (default EVENTS).", default_with = "Some(RetentionBasis::Events)")]
        basis: Option<RetentionBasis>,
        #[graphql(
            desc = "Activity basis: months without revenue after which a customer counts as lost (1 to 36, default 6).",
            default_with = "Some(6)"
        )]
        inactive_months: Option<i32>,
    ) -> Result<RetentionReport> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let (group_by, basis, inactive_months) =
            (group_by.unwrap_or_default(), basis.unwrap_or_default(), inactive_months.unwrap_or(6));
        if group_by == RetentionGroupBy::Segment {
            policy::ensure_may_use(&viewer, SensitiveField::GrossProfit, "groupBy")?;
        }
        let group_by = match group_by {
            RetentionGroupBy::None => GroupBy::None,
            RetentionGroupBy::Owner => GroupBy::Owner,
            RetentionGroupBy::Team => GroupBy::Team,
            RetentionGroupBy::Tier => GroupBy::Tier,
            RetentionGroupBy::Segment => GroupBy::Segment,
            RetentionGroupBy::Region => GroupBy::Region,
            RetentionGroupBy::Industry => GroupBy::Industry,
            RetentionGroupBy::Group => GroupBy::Group,
        };
        let basis = match basis {
            RetentionBasis::Events => Basis::Events,
            RetentionBasis::Activity => {
                Basis::Activity { inactive_months: u32::try_from(inactive_months).unwrap_or(0) }
            }
        };
        let (first, last) = crate::rules::default_window(chrono::Utc::now().date_naive());
        let from = from.map_or(first.pred_opt().unwrap_or(first), |d| d.0);
        let query = RetentionQuery { from, to: to.map_or(last, |d| d.0), group_by, basis };
        let rules = rc.services.config.segment_rules;
        Ok(RetentionReport(report::report(&rc.db, &viewer, rules, query).await?))
    }

    /// Your customers still ACTIVE (or WON_BACK) that bought nothing for `inactiveMonths` whole months,
    /// without a recorded loss: the most valuable first (the longest quiet first when you may not read
    /// REVENUE). Confirm each with `markCustomerLost`.
    #[graphql(
        guard = "guards::CUSTOMERS",
        complexity = "crate::graphql::loaders::page_cost(first, None, child_complexity)"
    )]
    async fn silent_churn(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Months without revenue (1 to 36, default 6).", default_with = "Some(6)")]
        inactive_months: Option<i32>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
    ) -> Result<Connection<String, SilentChurn, SilentChurnTotals, EmptyFields>> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let size = page_size(first)?;
        let cursors = Cursors::new(&rc.services.config.cursor_secret, "silent_churn", viewer.user_id);
        let offset = after.as_deref().map(|c| cursors.decode("after", c)).transpose()?.map_or(0, |o| o + 1);
        let today = chrono::Utc::now().date_naive();
        let months = u32::try_from(inactive_months.unwrap_or(6)).unwrap_or(0);
        let (rows, total) =
            silent_churn::silent_churn(&rc.db, &viewer, months, today, u64::try_from(offset).unwrap_or(0), size + 1)
                .await?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let has_next = rows.len() > size;
        let rows: Vec<_> = rows.into_iter().take(size).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
        let customers = rc.loaders.customer_by_id().load_many(ids).await.map_err(load_error)?;
        let excluded = silent_churn::excluded(&rc.db, &viewer).await?;
        let mut connection = Connection::with_additional_fields(
            offset > 0,
            has_next,
            SilentChurnTotals {
                total_count: u64::try_from(total).unwrap_or(0),
                excluded: super::excluded::excluded(excluded),
            },
        );
        for (i, row) in rows.into_iter().enumerate() {
            let Some(customer) = customers.get(&row.customer_id).cloned() else { continue };
            let position = offset + i64::try_from(i).unwrap_or(0);
            connection.edges.push(async_graphql::connection::Edge::new(
                cursors.encode(position),
                SilentChurn {
                    customer: Customer::one(customer),
                    last_revenue_month: Date(row.last_revenue_month),
                    revenue_before: Money(row.revenue_before_cents),
                },
            ));
        }
        Ok(connection)
    }
}
