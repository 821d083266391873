//! Account health in the API: `Customer.health`, `atRiskCustomers`,
//! `accountStatus` and `refreshAccountHealth`.

use async_graphql::{
    ComplexObject, Context, Enum, ID, Object, Result, SimpleObject,
    connection::{Connection, Edge},
};
use chrono::{DateTime, Utc};

use crate::{
    analytics::{
        account_status, at_risk,
        health::{self as model, SignalKind},
    },
    error::AppError,
    graphql::{
        analytics::care_dates::CareDateKind,
        customers::Customer,
        loaders::{fetch_one, load_error},
        support::{
            context::{RequestContext, request},
            enums::{PartnershipTier, Segment},
            guards, ids,
            pagination::{Conn, ConnectionTotals, Cursors, page_size, wants_total},
            scalars::{Date, Money},
        },
    },
    policy::SensitiveField,
};

/// Where a health score stands, from best to worst (thresholds: `RAPPORT_HEALTH_LEVELS`).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum HealthLevel {
    /// 75 to 100 by default: nothing needs attention.
    Healthy,
    /// 55 to 74 by default: something is slipping; look at the signals.
    Watch,
    /// 35 to 54 by default: the account may be lost without action.
    AtRisk,
    /// Below 35 by default: act now.
    Critical,
}

impl From<model::HealthLevel> for HealthLevel {
    fn from(level: model::HealthLevel) -> Self {
        match level {
            model::HealthLevel::Healthy => Self::Healthy,
            model::HealthLevel::Watch => Self::Watch,
            model::HealthLevel::AtRisk => Self::AtRisk,
            model::HealthLevel::Critical => Self::Critical,
        }
    }
}

impl From<HealthLevel> for model::HealthLevel {
    fn from(level: HealthLevel) -> Self {
        match level {
            HealthLevel::Healthy => Self::Healthy,
            HealthLevel::Watch => Self::Watch,
            HealthLevel::AtRisk => Self::AtRisk,
            HealthLevel::Critical => Self::Critical,
        }
    }
}

/// What a health signal measures. Default weights (the most points each can take off) in brackets.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum HealthSignalKind {
    /// [20] Organisational levels with a current contact; single-threaded (one contact or one level) costs 75%.
    RelationshipBreadth,
    /// [15] A key contact (EXECUTIVE, or influence or relationship strength 4+) left in the last 90 days.
    ChampionLeft,
    /// [10] Days since the last EXECUTIVE_MEETING or communication with an EXECUTIVE contact (90 to 180 days ramps up).
    ExecutiveContact,
    /// [15] Days since the last communication of any kind (30 to 90 days ramps up).
    CommunicationRecency,
    /// [15] Open tickets past their first-response or resolution deadline (a third per ticket).
    TicketsPastSla,
    /// [10] Tickets opened in the last 90 days against the 90 before (doubling costs all).
    ComplaintTrend,
    /// [15] Open commitments past their due date, with their amount (a third per commitment).
    OverdueCommitments,
    /// [20] Revenue of the last 6 full months against the 6 before, in percent (a 50% fall costs all).
    RevenueTrend,
    /// [15] Purchasing-criteria fit: SAFE 0, WARNING half, ALARM all.
    PurchasingFit,
    /// [15] Latest satisfaction score (below 8 of 10 ramps up to 4) and its fall since the previous one.
    Satisfaction,
    /// [10] The owner is deactivated.
    OwnerInactive,
    /// [10] Partnership tier: PRICE all, SERVICE 30%, none half; STRATEGIC adds half the weight.
    PartnershipTier,
    /// [10] Open tasks past their due date: a third of the weight each.
    OverdueTasks,
}

impl HealthSignalKind {
    fn of(kind: &str) -> Self {
        match SignalKind::parse(kind) {
            Some(SignalKind::RelationshipBreadth) | None => Self::RelationshipBreadth,
            Some(SignalKind::ChampionLeft) => Self::ChampionLeft,
            Some(SignalKind::ExecutiveContact) => Self::ExecutiveContact,
            Some(SignalKind::CommunicationRecency) => Self::CommunicationRecency,
            Some(SignalKind::TicketsPastSla) => Self::TicketsPastSla,
            Some(SignalKind::ComplaintTrend) => Self::ComplaintTrend,
            Some(SignalKind::OverdueCommitments) => Self::OverdueCommitments,
            Some(SignalKind::RevenueTrend) => Self::RevenueTrend,
            Some(SignalKind::PurchasingFit) => Self::PurchasingFit,
            Some(SignalKind::Satisfaction) => Self::Satisfaction,
            Some(SignalKind::OwnerInactive) => Self::OwnerInactive,
            Some(SignalKind::PartnershipTier) => Self::PartnershipTier,
            Some(SignalKind::OverdueTasks) => Self::OverdueTasks,
        }
    }
}

/// One explained contribution to a health score.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct HealthSignal {
    /// What it measures.
    pub kind: HealthSignalKind,
    /// The most points it can take off (configuration: `RAPPORT_HEALTH_WEIGHTS`).
    pub weight: f64,
    /// The measured number: levels covered, days, tickets, commitments, percent change, satisfaction score,
    /// 0/1/2 for SAFE/WARNING/ALARM, 1/2/3 for PRICE/SERVICE/STRATEGIC, 1 for an inactive owner; null when there
    /// is nothing to measure (no communication, no survey, no revenue to compare).
    pub value: Option<f64>,
    /// Points it took off (negative) or added (positive), one decimal.
    pub impact: f64,
    #[graphql(skip)]
    pub explanation: String,
    /// The explanation without the amounts it quotes, when it quotes any.
    #[graphql(skip)]
    pub without_amounts: Option<String>,
}

#[async_graphql::ComplexObject]
impl HealthSignal {
    /// One sentence with the numbers in it (the revenue trend quotes its amounts only when you may read REVENUE).
    async fn explanation(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(explained(&self.explanation, self.without_amounts.as_deref(), request(ctx)?, "HealthSignal.explanation"))
    }
}

impl From<&model::Signal> for HealthSignal {
    fn from(s: &model::Signal) -> Self {
        Self {
            kind: HealthSignalKind::of(&s.kind),
            weight: s.weight,
            value: s.value,
            impact: s.impact,
            explanation: s.explanation.clone(),
            without_amounts: s.explanation_without_amounts(),
        }
    }
}

/// An explanation as the viewer may read it: without the amounts it quotes when they may not read REVENUE.
fn explained(full: &str, without_amounts: Option<&str>, rc: &RequestContext, coordinate: &'static str) -> String {
    match without_amounts {
        Some(text) if !rc.may_read(SensitiveField::Revenue, coordinate) => text.to_owned(),
        _ => full.to_owned(),
    }
}

/// A customer's health: a 0–100 score (higher is healthier) made of explained signals.
/// The score is 100 plus the sum of the impacts, kept within 0 and 100.
#[derive(SimpleObject)]
pub struct AccountHealth {
    /// 0 to 100, higher is healthier.
    pub score: i32,
    /// Where the score stands.
    pub level: HealthLevel,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
    /// Every signal, worst first (by impact ascending).
    pub signals: Vec<HealthSignal>,
    /// With `asOf`: the first day from which every input of the score keeps its history. Before it, the inputs
    /// whose history had not begun (purchasing fit, whether the owner is active, contacts' level, influence and
    /// strength; owner and tier) are read as they are now. Null on the live score.
    pub history_complete_from: Option<Date>,
}

impl From<&model::AccountHealth> for AccountHealth {
    fn from(h: &model::AccountHealth) -> Self {
        Self {
            score: h.score,
            level: h.level.into(),
            computed_at: h.computed_at,
            signals: h.signals.iter().map(HealthSignal::from).collect(),
            history_complete_from: None,
        }
    }
}

/// A customer on the at-risk list, with the signals that hurt it most.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AtRiskCustomer {
    #[graphql(skip)]
    pub customer_id: i64,
    /// Health score, 0 to 100.
    pub score: i32,
    /// Where the score stands.
    pub level: HealthLevel,
    #[graphql(skip)]
    pub revenue_cents: i64,
    /// When this score was computed (the list ranks the health snapshot; see `atRiskCustomers`).
    pub computed_at: DateTime<Utc>,
    /// The three signals that took the most points off, worst first.
    pub top_signals: Vec<HealthSignal>,
}

/// One day of a customer's health history.
#[derive(SimpleObject)]
pub struct HealthHistoryPoint {
    /// The day (the figures are the day's last).
    pub day: Date,
    /// The score that day.
    pub score: i64,
    /// The level that day.
    pub level: HealthLevel,
}

impl From<crate::analytics::health_history::Point> for HealthHistoryPoint {
    fn from(p: crate::analytics::health_history::Point) -> Self {
        let level = model::HealthLevel::parse(&p.level).unwrap_or(model::HealthLevel::Healthy);
        Self { day: p.day.into(), score: p.score, level: level.into() }
    }
}

/// How a score moved over the last 30 days.
#[derive(SimpleObject)]
pub struct HealthTrend {
    /// The level 30 days ago.
    pub level_a_month_ago: HealthLevel,
    /// The score 30 days ago.
    pub score_a_month_ago: i64,
    /// The score now minus the score then (negative: worse).
    pub change: i64,
}

#[ComplexObject]
impl AtRiskCustomer {
    /// Revenue of the last 12 months: of two equal scores, the bigger account comes first. Null when you may
    /// not read REVENUE.
    async fn revenue_last_12_months(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.revenue_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "AtRiskCustomer.revenueLast12Months", revenue))
    }
    /// How the score moved over the last 30 days, from the daily health history (null when the history does not
    /// reach back that far).
    async fn trend(&self, ctx: &Context<'_>) -> Result<Option<HealthTrend>> {
        let rc = request(ctx)?;
        let then =
            rc.loaders.health_a_month_ago_by_customer_id().load_one(self.customer_id).await.map_err(load_error)?;
        Ok(then.map(|p| {
            let level = model::HealthLevel::parse(&p.level).unwrap_or(model::HealthLevel::Healthy);
            HealthTrend {
                level_a_month_ago: level.into(),
                score_a_month_ago: p.score,
                change: i64::from(self.score) - p.score,
            }
        }))
    }
    /// The customer.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let rc = request(ctx)?;
        let row = rc.loaders.customer_by_id().load_one(self.customer_id).await.map_err(load_error)?;
        Ok(Customer::one(row.ok_or(AppError::NotFound("customer"))?))
    }
}

#[async_graphql::ComplexObject]
impl AccountStatus {
    /// Impact segment (80/20), null without revenue in the last 12 months, or when you may not read
    /// GROSS_PROFIT.
    async fn segment(&self, ctx: &Context<'_>) -> Result<Option<Segment>> {
        Ok(request(ctx)?.sensitive(SensitiveField::GrossProfit, "AccountStatus.segment", self.segment).flatten())
    }
    /// The next birthday, anniversary or key date within a year (birthdays left out when you may not read
    /// CONTACT_BIRTHDAY, as `CareDateKind.BIRTHDAY` in `extensions.hiddenFields`).
    async fn next_care_date(&self, ctx: &Context<'_>) -> Result<Option<&NextCareDate>> {
        // Birthdays were left out for a viewer who may not read them.
        request(ctx)?.may_read(SensitiveField::ContactBirthday, "CareDateKind.BIRTHDAY");
        Ok(self.next_care_date.as_ref())
    }
    /// The explanation of the signal that took the most points off (as `HealthSignal.explanation`); null when
    /// none did.
    async fn top_signal(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let rc = request(ctx)?;
        Ok(self
            .top
            .as_ref()
            .map(|s| explained(&s.explanation, s.without_amounts.as_deref(), rc, "AccountStatus.topSignal")))
    }
}

/// The next care date of an account.
#[derive(SimpleObject)]
pub struct NextCareDate {
    /// The day.
    pub date: Date,
    /// What kind of day.
    pub kind: CareDateKind,
    /// The contact it concerns; null for the customer's own anniversary.
    pub contact_name: Option<String>,
}

/// One account at a glance, small enough for a phone on a slow network.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AccountStatus {
    /// The customer's global ID.
    pub customer_id: ID,
    /// Trading name.
    pub name: String,
    /// Partnership tier, if any.
    pub tier: Option<PartnershipTier>,
    #[graphql(skip)]
    pub segment: Option<Segment>,
    /// Health score now, 0 to 100.
    pub health_score: i32,
    /// Where the score stands.
    pub health_level: HealthLevel,
    #[graphql(skip)]
    pub top: Option<HealthSignal>,
    /// Open tickets.
    pub open_tickets: i32,
    /// Open tickets past their SLA.
    pub sla_breached_tickets: i32,
    /// Open commitments past their due date.
    pub overdue_commitments: i32,
    #[graphql(skip)]
    pub next_care_date: Option<NextCareDate>,
    /// The owner's name.
    pub owner_name: Option<String>,
    /// The owner's phone; null unless you may see the owner's details (as `User.phone`), or none is recorded.
    pub owner_phone: Option<String>,
    /// The day of the last communication (UTC).
    pub last_contact_on: Option<Date>,
}

#[derive(Default)]
pub struct HealthQuery;

/// One level's figures in a backtest.
#[derive(SimpleObject)]
pub struct BacktestLevel {
    /// The level the customer-months were scored at.
    pub level: HealthLevel,
    /// Customer-months scored at this level.
    pub customers: i64,
    /// Of them, those lost within the horizon.
    pub losses: i64,
    /// `losses / customers` (null without customers).
    pub loss_rate: Option<f64>,
    /// `lossRate / baseRate`: how many times the average loss rate this level shows (null without losses).
    pub lift: Option<f64>,
}

/// Would the score have warned in time? The score, computed as of each month start of the window on the company's
/// own history, against the losses that followed (see the README's definitions).
#[derive(SimpleObject)]
pub struct HealthBacktest {
    /// Customer-months scored: each live customer at each month start in the window.
    pub customers_scored: i64,
    /// The share of customer-months lost within the horizon.
    pub base_rate: Option<f64>,
    /// The area under the ROC curve of `100 - score` as a predictor of loss (0.5: no better than chance; ties count
    /// one half). Null without both losses and keeps.
    pub auc: Option<f64>,
    /// The share of losses flagged in advance: the customer was AT_RISK or worse at a month start within the
    /// horizon before the loss.
    pub recall: Option<f64>,
    /// For the losses flagged in advance, the median of the days from the first such flag to the loss.
    pub median_days_ahead: Option<f64>,
    /// The figures per level, from HEALTHY to CRITICAL.
    pub levels: Vec<BacktestLevel>,
}

#[Object]
impl HealthQuery {
    /// Backtests the health score on your customers' history: for each month start from `from` to `to`, every
    /// live customer scored as of that day by the same function as the live score, against the losses within
    /// `horizonDays` after it. The book is read once, a chunk of customers at a time, and every month start is
    /// scored from what was read.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn health_backtest(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first day of the window (its month starts count).")] from: Date,
        #[graphql(desc = "The last day of the window (at most 60 month starts).")] to: Date,
        #[graphql(desc = "Days after a month start within which a loss counts (1 to 730; default 90).", default = 90)]
        horizon_days: i32,
    ) -> Result<HealthBacktest> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let rules = rc.services.health.rules();
        let result =
            crate::analytics::backtest::run(&rc.db, &viewer, rules, from.into(), to.into(), i64::from(horizon_days))
                .await?;
        Ok(HealthBacktest {
            customers_scored: result.customers_scored,
            base_rate: result.base_rate,
            auc: result.auc,
            recall: result.recall,
            median_days_ahead: result.median_days_ahead,
            levels: result
                .levels
                .into_iter()
                .map(|l| BacktestLevel {
                    level: l.level.into(),
                    customers: l.customers,
                    losses: l.losses,
                    loss_rate: l.loss_rate,
                    lift: l.lift,
                })
                .collect(),
        })
    }

    /// Your live accounts (ACTIVE or WON_BACK) at `minLevel` or worse, worst first: score ascending, then
    /// revenue of the last 12 months descending. The list ranks the health snapshot: each customer's row is
    /// recomputed as soon as a change to it is committed (the list catches up before it answers) and the whole
    /// book every 10 minutes for what time alone changes; `computedAt` says when. `customer { health }` is
    /// always computed at the time of the request.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn at_risk_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The best level listed (default or null: AT_RISK, listing AT_RISK and CRITICAL).",
            default_with = "Some(HealthLevel::AtRisk)"
        )]
        min_level: Option<HealthLevel>,
        #[graphql(desc = "How many, 0 to 100 (default or null: 20).", default_with = "Some(20)")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last customer of the previous page.")] after: Option<String>,
    ) -> Result<Conn<AtRiskCustomer>> {
        let rc = request(ctx)?;
        let min_level = min_level.unwrap_or(HealthLevel::AtRisk);
        let first = page_size(first)?;
        let viewer = rc.viewer();
        let cursors = Cursors::new(&rc.services.config.cursor_secret, "at_risk_customers", viewer.user_id);
        let after_id = after.as_deref().map(|c| cursors.decode("after", c)).transpose()?;
        let keeper = &rc.services.health;
        keeper.catch_up(&rc.db).await?;
        let page =
            at_risk::page(&rc.db, &viewer, keeper.rules(), min_level.into(), first, after_id, wants_total(ctx)).await?;
        let totals = ConnectionTotals { total_count: page.total.unwrap_or(0).max(0) as u64 };
        let mut conn = Connection::with_additional_fields(after_id.is_some(), page.has_next, totals);
        conn.edges.extend(page.rows.iter().map(|(health, revenue)| {
            Edge::new(
                cursors.encode(health.customer_id),
                AtRiskCustomer {
                    customer_id: health.customer_id,
                    score: health.score,
                    level: health.level.into(),
                    revenue_cents: *revenue,
                    computed_at: health.computed_at,
                    top_signals: health.top(3).map(HealthSignal::from).collect(),
                },
            )
        }));
        Ok(conn)
    }

    /// How one account stands, in one small answer for a phone: health, open tickets, overdue promises, the
    /// next care date and whom to call. Computed at the time of the request. NOT_FOUND for a customer you
    /// cannot see.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn account_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] customer_id: ID,
    ) -> Result<AccountStatus> {
        let rc = request(ctx)?;
        let id = ids::decode("Customer", "customerId", &customer_id)?;
        let status = account_status::of(&rc.db, &rc.viewer(), rc.services.health.rules(), id).await?;
        let f = &status.facts;
        use sea_orm::ActiveEnum;
        Ok(AccountStatus {
            customer_id,
            name: f.name.clone(),
            tier: f
                .tier
                .as_deref()
                .and_then(|t| entity::enums::PartnershipTier::try_from_value(&t.to_owned()).ok())
                .map(Into::into),
            segment: f
                .segment
                .as_deref()
                .and_then(|s| entity::enums::Segment::try_from_value(&s.to_owned()).ok())
                .map(Into::into),
            health_score: status.health.score,
            health_level: status.health.level.into(),
            top: status.health.top(1).next().map(HealthSignal::from),
            open_tickets: f.open_tickets as i32,
            sla_breached_tickets: f.tickets_past_sla as i32,
            overdue_commitments: f.overdue_commitments as i32,
            next_care_date: status.next_care_date.as_ref().map(|c| NextCareDate {
                date: Date(c.date),
                kind: c.kind.into(),
                contact_name: c.contact_name.clone(),
            }),
            owner_name: f.owner_name.clone(),
            owner_phone: f.owner_phone.clone(),
            last_contact_on: status.last_contact().map(|at| Date(at.date_naive())),
        })
    }
}

#[derive(Default)]
pub struct HealthMutation;

#[Object]
impl HealthMutation {
    /// Recomputes the health snapshot of the whole book now (ADMIN), for example after data was loaded
    /// outside the API. Returns how many customers' figures changed.
    async fn refresh_account_health(&self, ctx: &Context<'_>) -> Result<i32> {
        let rc = request(ctx)?;
        let changed = crate::service::health::refresh_all(&rc.services, &rc.viewer()).await?;
        Ok(i32::try_from(changed).unwrap_or(i32::MAX))
    }
}

/// `Customer.health`: computed for the whole page in one statement; as of a
/// past instant, from the one customer's dated rows (a statement per table).
pub async fn of_customer(
    ctx: &Context<'_>,
    customer: &Customer,
    as_of: Option<DateTime<Utc>>,
) -> Result<AccountHealth> {
    let rc = request(ctx)?;
    if let Some(at) = as_of {
        if at > crate::service::now() {
            return Err(AppError::bad_input("asOf", "asOf must not be in the future").into());
        }
        let facts = crate::analytics::facts_as_of::one(&rc.db, &rc.viewer(), customer.model.id, at).await?;
        let facts = facts.ok_or(AppError::NotFound("customer"))?;
        let mut health = AccountHealth::from(&model::assess(&facts, rc.services.health.rules()));
        health.history_complete_from =
            crate::analytics::health_facts::history_complete_from(&rc.db).await?.map(Into::into);
        return Ok(health);
    }
    let loader = rc.loaders.health_by_customer_id();
    let health = match customer.siblings.as_deref() {
        Some(siblings) => {
            let ids = |rows: &[std::sync::Arc<entity::customer::Model>]| rows.iter().map(|c| c.id).collect();
            crate::graphql::loaders::load(Some(siblings), "health", loader, ids, customer.model.id).await?
        }
        None => fetch_one(loader, customer.model.id).await?,
    };
    let health = health.ok_or(AppError::NotFound("customer"))?;
    Ok(AccountHealth::from(health.as_ref()))
}
