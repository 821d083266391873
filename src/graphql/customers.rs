//! Customers in the API: the type, its relations (via loaders), the list and the mutations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::customer;

use crate::{
    error::AppError,
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        churn::ChurnEvent,
        commitments::Commitment,
        communications::Communication,
        contacts::Contact,
        custom_fields::{CustomFieldCondition, CustomFieldInput, CustomFieldValue, given, values_of, wanted},
        loaders::{LatestOf, bounded, bounded_cost, fetch_one, listed, load, load_list},
        partnerships::Partnership,
        support::context::request,
        support::enums::{
            ChurnReason, CustomerStatus, OrderDirection, PartnershipTier, PurchasingFit, Segment, StrategicImportance,
            to_domain,
        },
        support::fast::Fast,
        support::ids,
        support::pagination::{self, Conn, PageArgs, Sort},
        support::patch::patch,
        support::scalars::{Date, Money},
        tickets::Ticket,
        users::User,
    },
    policy::SensitiveField,
    service::customers::{self as service, CustomerChanges, CustomerFilter, Loss, NewCustomer},
    service::validate,
};

/// Most communications `latestCommunications` returns per customer.
const MAX_LATEST: i32 = 20;
/// Most rows any other nested list returns per customer.
const MAX_NESTED: i32 = 100;

listed!(
    /// An organisation we sell to.
    Customer,
    customer::Model
);

impl Customer {
    fn ids(rows: &[std::sync::Arc<customer::Model>]) -> Vec<i64> {
        rows.iter().map(|c| c.id).collect()
    }
}

impl crate::graphql::support::fast::Plain for Customer {
    fn plain(&self, name: &str, hidden: Option<crate::policy::HiddenFields>) -> Option<async_graphql::Value> {
        use crate::graphql::support::fast::{
            enumerated, global_id, opt_enumerated, opt_scalar, opt_text, readable, scalar, text,
        };
        let m = &self.model;
        Some(match name {
            "id" => global_id("Customer", m.id),
            "name" => text(&m.name),
            "industry" => opt_text(m.industry.as_deref()),
            "region" => opt_text(m.region.as_deref()),
            "status" => enumerated(CustomerStatus::from(m.status)),
            "tier" => opt_enumerated(m.tier.map(PartnershipTier::from)),
            "purchasingFit" => opt_enumerated(m.purchasing_fit.map(PurchasingFit::from)),
            "strategicImportance" => enumerated(StrategicImportance::from(m.strategic_importance)),
            // Sensitive: here only for a viewer who may read them (the resolver notes them hidden).
            "segment" if readable(hidden, SensitiveField::GrossProfit) => opt_enumerated(m.segment.map(Segment::from)),
            "revenueLast12Months" if readable(hidden, SensitiveField::Revenue) => scalar(Money(m.revenue_t12m_cents)),
            "grossProfitLast12Months" if readable(hidden, SensitiveField::GrossProfit) => {
                scalar(Money(m.gross_profit_t12m_cents))
            }
            "customerSince" => opt_scalar(m.customer_since.map(Date)),
            "nextReviewOn" => opt_scalar(m.next_review_on.map(Date)),
            "version" => scalar(m.version),
            "createdAt" => scalar(m.created_at),
            "updatedAt" => scalar(m.updated_at),
            "archivedAt" => opt_scalar(m.archived_at),
            _ => return None,
        })
    }
}

/// An organisation we sell to: its status, tier, segment, owner, group, and the
/// relations that show how the account stands.
#[Object]
impl Customer {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Customer", self.model.id)
    }
    /// Trading name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// Industry, free text.
    async fn industry(&self) -> Option<&str> {
        self.model.industry.as_deref()
    }
    /// Sales region, free text.
    async fn region(&self) -> Option<&str> {
        self.model.region.as_deref()
    }
    /// Life-cycle status.
    async fn status(&self) -> CustomerStatus {
        self.model.status.into()
    }
    /// Current partnership tier, if a partnership exists.
    async fn tier(&self) -> Option<PartnershipTier> {
        self.model.tier.map(Into::into)
    }
    /// Our offer against the customer's purchasing standard.
    async fn purchasing_fit(&self) -> Option<PurchasingFit> {
        self.model.purchasing_fit.map(Into::into)
    }
    /// Strategic importance beyond revenue.
    async fn strategic_importance(&self) -> StrategicImportance {
        self.model.strategic_importance.into()
    }
    /// Impact segment (80/20), computed from the last 12 complete months' revenue rank, gross profit and strategic
    /// importance (see `segmentationSummary` for the thresholds); null without revenue in those months.
    /// Kept current within seconds of a revenue change and every day. Null too when you may not read
    /// GROSS_PROFIT (the segment ranks by margin).
    async fn segment(&self, ctx: &Context<'_>) -> Result<Option<Segment>> {
        let segment = self.model.segment.map(Segment::from);
        Ok(request(ctx)?.sensitive(SensitiveField::GrossProfit, "Customer.segment", segment).flatten())
    }
    /// Revenue of the last 12 complete months (the month in progress does not count), as of the last
    /// segment computation. Null when you may not read REVENUE.
    async fn revenue_last_12_months(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.model.revenue_t12m_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "Customer.revenueLast12Months", revenue))
    }
    /// Gross profit of the last 12 complete months, as of the last segment computation. Null when you may not
    /// read GROSS_PROFIT.
    async fn gross_profit_last_12_months(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let profit = Money(self.model.gross_profit_t12m_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::GrossProfit, "Customer.grossProfitLast12Months", profit))
    }
    /// When the customer first bought from us (its anniversary).
    async fn customer_since(&self) -> Option<Date> {
        self.model.customer_since.map(Date)
    }
    /// Next planned account review.
    async fn next_review_on(&self) -> Option<Date> {
        self.model.next_review_on.map(Date)
    }
    /// Optimistic-locking version; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// When the row was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When the row last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
    /// When the customer was archived; archived customers leave lists but keep their history.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.model.archived_at
    }
    /// The rep who owns the account.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Fast<User>>> {
        let rc = request(ctx)?;
        let owners = |rows: &[std::sync::Arc<customer::Model>]| rows.iter().map(|c| c.owner_id).collect();
        let user =
            load(self.siblings.as_deref(), "owner", rc.loaders.user_by_id(), owners, self.model.owner_id).await?;
        Ok(user.map(|u| Fast(User::one(u))))
    }
    /// The customer this one was merged into (`mergeCustomers`; it is archived since); null otherwise, or when
    /// you cannot see it.
    async fn merged_into(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(into) = self.model.merged_into_id else {
            return Ok(None);
        };
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| rows.iter().filter_map(|c| c.merged_into_id).collect();
        Ok(load(self.siblings.as_deref(), "mergedInto", rc.loaders.customer_by_id(), keys, into)
            .await?
            .map(Customer::one))
    }
    /// The group this customer belongs to; null when it has none or you cannot see it.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(parent_id) = self.model.parent_id else {
            return Ok(None);
        };
        let rc = request(ctx)?;
        let parents = |rows: &[std::sync::Arc<customer::Model>]| rows.iter().filter_map(|c| c.parent_id).collect();
        let parent = load(self.siblings.as_deref(), "parent", rc.loaders.customer_by_id(), parents, parent_id).await?;
        Ok(parent.map(Customer::one))
    }
    /// The groups above this customer, nearest first, up to the first one you cannot see.
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Customer>> {
        let rc = request(ctx)?;
        let loader = rc.loaders.ancestors_by_customer_id();
        let rows = load(self.siblings.as_deref(), "ancestors", loader, Self::ids, self.model.id).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Customer::one).collect())
    }
    /// The customers directly below this one in the group (visible to you, not archived), by name.
    /// The full list is `customers(filter: {parentId})`.
    #[graphql(complexity = "bounded_cost(first, child_complexity)")]
    async fn subsidiaries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many, 1 to 100 (default 20).")] first: i32,
    ) -> Result<Vec<Customer>> {
        let limit = bounded("first", first, MAX_NESTED)?;
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| {
            rows.iter().map(|c| LatestOf { parent_id: c.id, limit }).collect()
        };
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.subsidiaries_by_parent_id();
        let relation = if first == 20 { "subsidiaries" } else { "subsidiariesN" };
        let (rows, shared) = load_list(self.siblings.as_deref(), relation, loader, keys, key).await?;
        Ok(Customer::shared(rows, &shared))
    }
    /// Current contacts (not archived), by name. The full history is `contacts(filter: {customerId})`.
    #[graphql(complexity = "bounded_cost(first, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many, 1 to 100 (default 20).")] first: i32,
    ) -> Result<Vec<Fast<Contact>>> {
        let limit = bounded("first", first, MAX_NESTED)?;
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| {
            rows.iter().map(|c| LatestOf { parent_id: c.id, limit }).collect()
        };
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.contacts_by_customer_id();
        let relation = if first == 20 { "contacts" } else { "contactsN" };
        let (rows, shared) = load_list(self.siblings.as_deref(), relation, loader, keys, key).await?;
        Ok(Contact::shared(rows, &shared).into_iter().map(Fast).collect())
    }
    /// The most recent communications, newest first. The full history is
    /// `communications(filter: {customerId})`.
    #[graphql(complexity = "bounded_cost(first, child_complexity)")]
    async fn latest_communications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5, desc = "How many, 1 to 20 (default 5).")] first: i32,
    ) -> Result<Vec<Fast<Communication>>> {
        let limit = bounded("first", first, MAX_LATEST)?;
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| {
            rows.iter().map(|c| LatestOf { parent_id: c.id, limit }).collect()
        };
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.latest_communications_by_customer_id();
        let relation = if limit == 5 { "latest5" } else { "latestN" };
        let (rows, shared) = load_list(self.siblings.as_deref(), relation, loader, keys, key).await?;
        Ok(Communication::shared(rows, &shared).into_iter().map(Fast).collect())
    }
    /// Tickets that still need work, oldest first. All of them: `tickets(filter: {customerId, openOnly: true})`.
    #[graphql(guard = "guards::TICKETS", complexity = "bounded_cost(first, child_complexity)")]
    async fn open_tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many, 1 to 100 (default 10).")] first: i32,
    ) -> Result<Vec<Fast<Ticket>>> {
        let limit = bounded("first", first, MAX_NESTED)?;
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| {
            rows.iter().map(|c| LatestOf { parent_id: c.id, limit }).collect()
        };
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.open_tickets_by_customer_id();
        let relation = if first == 10 { "openTickets" } else { "openTicketsN" };
        let (rows, shared) = load_list(self.siblings.as_deref(), relation, loader, keys, key).await?;
        Ok(Ticket::shared(rows, &shared).into_iter().map(Fast).collect())
    }
    /// Promises not yet kept, soonest due first. All of them: `commitments(filter: {customerId, openOnly: true})`.
    #[graphql(complexity = "bounded_cost(first, child_complexity)")]
    async fn open_commitments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many, 1 to 100 (default 10).")] first: i32,
    ) -> Result<Vec<Commitment>> {
        let limit = bounded("first", first, MAX_NESTED)?;
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| {
            rows.iter().map(|c| LatestOf { parent_id: c.id, limit }).collect()
        };
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.open_commitments_by_customer_id();
        let relation = if first == 10 { "openCommitments" } else { "openCommitmentsN" };
        let rows = load(self.siblings.as_deref(), relation, loader, keys, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Commitment::from).collect())
    }
    /// The company's own fields on this customer that have a value, by key (see `customFieldDefinitions`).
    async fn custom_fields(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        let rc = request(ctx)?;
        values_of(rc, rc.loaders.custom_fields_by_customer_id(), self.model.id).await
    }
    /// Open tasks on the account, soonest due first (the overdue first). All of them:
    /// `tasks(filter: {customerId, statuses: [OPEN]})`.
    #[graphql(complexity = "bounded_cost(first, child_complexity)")]
    async fn open_tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many, 1 to 100 (default 10).")] first: i32,
    ) -> Result<Vec<crate::graphql::tasks::Task>> {
        let limit = bounded("first", first, MAX_NESTED)?;
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<customer::Model>]| {
            rows.iter().map(|c| LatestOf { parent_id: c.id, limit }).collect()
        };
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.open_tasks_by_customer_id();
        let relation = if first == 10 { "openTasks" } else { "openTasksN" };
        let (rows, shared) = load_list(self.siblings.as_deref(), relation, loader, keys, key).await?;
        Ok(crate::graphql::tasks::Task::shared(rows, &shared))
    }
    /// The account's daily health history, oldest first: a point for each day the score or level changed, from
    /// the point in force on `from` (which may be older) to `to`. Kept from the day the snapshot runs this version.
    async fn health_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (default: 90 days ago).")] from: Option<crate::graphql::support::scalars::Date>,
        #[graphql(desc = "Last day (default: today).")] to: Option<crate::graphql::support::scalars::Date>,
    ) -> Result<Vec<crate::graphql::analytics::health::HealthHistoryPoint>> {
        let rc = request(ctx)?;
        let today = crate::service::now().date_naive();
        let to: chrono::NaiveDate = to.map(Into::into).unwrap_or(today);
        let from: chrono::NaiveDate = from.map(Into::into).unwrap_or(to - chrono::Duration::days(90));
        if from > to {
            return Err(crate::error::AppError::bad_input("from", "from must not be after to").into());
        }
        let key = crate::analytics::health_history::HistoryOf { customer_id: self.model.id, from, to };
        let points =
            rc.loaders.health_history_by_customer().load_one(key).await.map_err(crate::graphql::loaders::load_error)?;
        Ok(points.unwrap_or_default().into_iter().map(Into::into).collect())
    }
    /// The account as a group: its top visible ancestor and every customer under it that you see, with the
    /// group's revenue, tickets, overdue commitments and health. Computed for a whole page of customers in one
    /// statement.
    async fn group(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::analytics::groups::CustomerGroup>> {
        let rc = request(ctx)?;
        let loader = rc.loaders.group_by_customer_id();
        let found = load(self.siblings.as_deref(), "group", loader, Self::ids, self.model.id).await?;
        Ok(found.map(crate::graphql::analytics::groups::CustomerGroup))
    }
    /// Everything that happened to the account, newest first: communications, ticket history, commitments made
    /// and kept, losses and win-backs, tier changes, health level changes, tasks created and done, survey answers.
    /// One statement per page.
    #[graphql(complexity = "crate::graphql::loaders::page_cost(first, None, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many entries (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the entry to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "Only these kinds (default: all).")] kinds: Option<
            Vec<crate::graphql::analytics::timeline::TimelineKind>,
        >,
        #[graphql(desc = "From the start of this day (UTC).")] from: Option<crate::graphql::support::scalars::Date>,
        #[graphql(desc = "To the end of this day (UTC).")] to: Option<crate::graphql::support::scalars::Date>,
    ) -> Result<Conn<Fast<crate::graphql::analytics::timeline::TimelineEntry>>> {
        crate::graphql::analytics::timeline::timeline(ctx, self.model.id, first, after, kinds, from, to).await
    }
    /// Account health now: a 0–100 score with its level and every signal explained. Computed at the time of
    /// the request, for a whole page of customers in one statement.
    async fn health(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A past instant: the score as it was then, by the same function, from every fact as it was then (an input whose history began later is read as it is now: see `historyCompleteFrom`)."
        )]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<crate::graphql::analytics::health::AccountHealth> {
        crate::graphql::analytics::health::of_customer(ctx, self, as_of).await
    }
    /// The ids other systems know this customer by (see `upsertCustomers`).
    async fn external_ids(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::external::ExternalId>> {
        let rc = request(ctx)?;
        let loader = rc.loaders.external_ids_by_customer_id();
        let refs = load(self.siblings.as_deref(), "externalIds", loader, Self::ids, self.model.id).await?;
        Ok(refs.unwrap_or_default().into_iter().map(Into::into).collect())
    }
    /// The partnership and its terms, if any.
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Option<Partnership>> {
        let rc = request(ctx)?;
        let loader = rc.loaders.partnership_by_customer_id();
        let row = load(self.siblings.as_deref(), "partnership", loader, Self::ids, self.model.id).await?.flatten();
        Ok(row.map(Partnership::from))
    }
}

/// Filters of the customer list; all given filters must match.
#[derive(InputObject, Default)]
pub struct CustomerFilterInput {
    /// Any of these statuses.
    pub statuses: Option<Vec<CustomerStatus>>,
    /// Any of these tiers.
    pub tiers: Option<Vec<PartnershipTier>>,
    /// Any of these segments.
    pub segments: Option<Vec<Segment>>,
    /// Owned by this user.
    pub owner_id: Option<ID>,
    /// Owned by a member of this team.
    pub team_id: Option<ID>,
    /// Subsidiaries of this customer.
    pub parent_id: Option<ID>,
    /// Exact region.
    pub region: Option<String>,
    /// Exact industry.
    pub industry: Option<String>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// Include archived customers (default false).
    #[graphql(default)]
    pub include_archived: bool,
    /// Conditions on custom fields (customer fields; see `customFieldDefinitions`), all of which must hold.
    pub custom: Option<Vec<CustomFieldCondition>>,
}

impl CustomerFilterInput {
    /// The filter checked for `viewer`: filtering by a segment needs GROSS_PROFIT (the segment ranks by
    /// margin), by a sensitive custom field SENSITIVE_CUSTOM_FIELDS (FORBIDDEN otherwise).
    pub async fn into_domain(
        self,
        db: &impl sea_orm::ConnectionTrait,
        viewer: &crate::policy::Viewer,
    ) -> crate::error::AppResult<CustomerFilter> {
        if self.segments.is_some() {
            crate::policy::ensure_may_use(viewer, SensitiveField::GrossProfit, "filter.segments")?;
        }
        let custom = crate::service::custom_fields::conditions(
            db,
            viewer,
            entity::enums::CustomFieldEntity::Customer,
            wanted(self.custom),
        )
        .await?;
        Ok(CustomerFilter {
            statuses: to_domain(self.statuses),
            tiers: to_domain(self.tiers),
            segments: to_domain(self.segments),
            owner_id: ids::decode_opt("User", "ownerId", self.owner_id.as_ref())?,
            team_id: ids::decode_opt("Team", "teamId", self.team_id.as_ref())?,
            parent_id: ids::decode_opt("Customer", "parentId", self.parent_id.as_ref())?,
            region: validate::filter_text("filter.region", self.region)?,
            industry: validate::filter_text("filter.industry", self.industry)?,
            search: validate::filter_text("filter.search", self.search)?,
            created_after: self.created_after,
            created_before: self.created_before,
            include_archived: self.include_archived,
            custom,
        })
    }
}

/// Sortable fields of customers.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerOrderField {
    /// By name.
    #[default]
    Name,
    /// By creation time.
    CreatedAt,
    /// By last change.
    UpdatedAt,
    /// By segment: LARGE_QUALITY first, BLEEDING last, none after.
    Segment,
    /// By revenue over the last 12 complete months.
    RevenueLast12Months,
}

/// Sort order of the customer list: by one of its fields, or by a custom field.
#[derive(InputObject, Default)]
pub struct CustomerOrder {
    /// Field to sort by (default NAME); leave it out when sorting by `custom`.
    pub field: Option<CustomerOrderField>,
    /// Key of a customer custom field to sort by instead (see `customFieldDefinitions`): customers without a
    /// value come last in either direction; MONEY and NUMBER sort as numbers, DATE by day, STRING and ENUM by
    /// their text (the database's collation on PostgreSQL, bytes on SQLite), BOOLEAN false first.
    pub custom: Option<String>,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// Customers you can see, paginated, filtered and sorted (default: by name).
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<CustomerFilterInput>,
        #[graphql(desc = "Sort order; ties are broken by ID.")] order_by: Option<CustomerOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Fast<Customer>>> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let filter = filter.unwrap_or_default().into_domain(&rc.db, &viewer).await?;
        let order = order_by.unwrap_or_default();
        let descending = order.direction.descending();
        let sort = match (order.field, order.custom) {
            (Some(_), Some(_)) => {
                return Err(AppError::bad_input("orderBy", "sort by field or by custom, not both").into());
            }
            (None, Some(key)) => {
                let entity = entity::enums::CustomFieldEntity::Customer;
                let value = crate::service::custom_fields::sort_value(&rc.db, &viewer, entity, &key).await?;
                Sort::by_value(value, customer::Column::Id, descending)
            }
            (field, None) => match field.unwrap_or_default() {
                CustomerOrderField::Name => Sort::text(customer::Column::Name, customer::Column::Id, descending),
                CustomerOrderField::CreatedAt => {
                    Sort::new(customer::Column::CreatedAt, customer::Column::Id, descending)
                }
                CustomerOrderField::Segment => {
                    crate::policy::ensure_may_use(&viewer, SensitiveField::GrossProfit, "orderBy.field")?;
                    Sort::new(customer::Column::SegmentRank, customer::Column::Id, descending)
                }
                CustomerOrderField::RevenueLast12Months => {
                    crate::policy::ensure_may_use(&viewer, SensitiveField::Revenue, "orderBy.field")?;
                    Sort::new(customer::Column::RevenueT12mCents, customer::Column::Id, descending)
                }
                CustomerOrderField::UpdatedAt => {
                    Sort::new(customer::Column::UpdatedAt, customer::Column::Id, descending)
                }
            },
        };
        let args = PageArgs::new(first, after, last, before);
        let (window, cursors) = pagination::window(ctx, rc, "customer", &args)?;
        // A bulk read of the account book: it counts toward the export audit.
        let page = service::page(&rc.services, &viewer, &filter, &sort, window).await?;
        Ok(pagination::wrap(page, &cursors, |c| c.id, |rows| Customer::page(rows).into_iter().map(Fast).collect()))
    }

    /// One customer you can see; NOT_FOUND otherwise.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn customer(&self, ctx: &Context<'_>, #[graphql(desc = "The customer.")] id: ID) -> Result<Fast<Customer>> {
        let rc = request(ctx)?;
        let id = ids::decode("Customer", "id", &id)?;
        // An account screen asks for the customer and the first page of its timeline at once: one
        // statement reads both (and counts toward the export audit), the `timeline` field takes the page.
        if let Some((window, first)) = crate::graphql::analytics::timeline::first_page_wanted(ctx) {
            let viewer = rc.viewer();
            let found = crate::service::relations::customer_with_timeline(&rc.services, &viewer, id, &window, first)
                .await?
                .ok_or(AppError::NotFound("customer"))?;
            let (entries, more) = (found.entries, found.more);
            rc.keep_timeline(crate::analytics::timeline::ReadAhead { customer_id: id, window, first, entries, more });
            return Ok(Fast(Customer::one(found.customer)));
        }
        // Through the loader, so this read counts toward the export audit like every other.
        let found = fetch_one(rc.loaders.customer_by_id(), id).await?;
        Ok(Fast(Customer::one(found.ok_or(AppError::NotFound("customer"))?)))
    }
}

/// A new customer.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// Trading name, 1 to 200 characters.
    pub name: String,
    /// Industry.
    pub industry: Option<String>,
    /// Sales region.
    pub region: Option<String>,
    /// Initial status (default PROSPECT; LOST and WON_BACK go through their own mutations).
    pub status: Option<CustomerStatus>,
    /// Owner (default: you). Reps own what they create; team leads assign within their team.
    pub owner_id: Option<ID>,
    /// Parent customer of the group.
    pub parent_id: Option<ID>,
    /// Purchasing criteria fit.
    pub purchasing_fit: Option<PurchasingFit>,
    /// Strategic importance (default MEDIUM).
    pub strategic_importance: Option<StrategicImportance>,
    /// First purchase date.
    pub customer_since: Option<Date>,
    /// Next account review.
    pub next_review_on: Option<Date>,
    /// Custom field values (each key a customer field; see `customFieldDefinitions`); required fields must be given.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Changes to a customer: omitted fields stay, `null` clears.
#[derive(InputObject, Default)]
pub struct UpdateCustomerInput {
    /// Trading name.
    pub name: Option<String>,
    /// Industry.
    pub industry: MaybeUndefined<String>,
    /// Sales region.
    pub region: MaybeUndefined<String>,
    /// Status (PROSPECT or ACTIVE; use markCustomerLost / markCustomerWonBack for the others).
    pub status: Option<CustomerStatus>,
    /// New owner (reassignment).
    pub owner_id: Option<ID>,
    /// Parent customer.
    pub parent_id: MaybeUndefined<ID>,
    /// Purchasing criteria fit.
    pub purchasing_fit: MaybeUndefined<PurchasingFit>,
    /// Strategic importance.
    pub strategic_importance: Option<StrategicImportance>,
    /// First purchase date.
    pub customer_since: MaybeUndefined<Date>,
    /// Next account review.
    pub next_review_on: MaybeUndefined<Date>,
    /// Custom field values to set (null clears one; a required field cannot be cleared); the others stay.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Result of marking a customer lost or won back.
#[derive(SimpleObject)]
pub struct ChurnPayload {
    /// The customer with its new status.
    pub customer: Customer,
    /// The churn event recorded.
    pub churn_event: ChurnEvent,
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: CreateCustomerInput,
    ) -> Result<Customer> {
        let rc = request(ctx)?;
        let new = NewCustomer {
            name: input.name,
            industry: input.industry,
            region: input.region,
            status: input.status.map(Into::into),
            owner_id: ids::decode_opt("User", "ownerId", input.owner_id.as_ref())?,
            parent_id: ids::decode_opt("Customer", "parentId", input.parent_id.as_ref())?,
            purchasing_fit: input.purchasing_fit.map(Into::into),
            strategic_importance: input.strategic_importance.map(Into::into),
            customer_since: input.customer_since.map(Into::into),
            next_review_on: input.next_review_on.map(Into::into),
            custom_fields: given(input.custom_fields),
        };
        Ok(Customer::one(service::create(&rc.services, &rc.viewer(), new).await?))
    }

    /// Updates a customer. With `expectedVersion`, a stale version is a CONFLICT.
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "The changes: omitted fields stay as they are, `null` clears a field.")]
        input: UpdateCustomerInput,
    ) -> Result<Customer> {
        let rc = request(ctx)?;
        let id = ids::decode("Customer", "id", &id)?;
        let parent_id = match input.parent_id {
            MaybeUndefined::Value(p) => Some(Some(ids::decode("Customer", "parentId", &p)?)),
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Undefined => None,
        };
        let changes = CustomerChanges {
            name: input.name,
            industry: patch(input.industry, |v| v),
            region: patch(input.region, |v| v),
            status: input.status.map(Into::into),
            owner_id: ids::decode_opt("User", "ownerId", input.owner_id.as_ref())?,
            parent_id,
            purchasing_fit: patch(input.purchasing_fit, Into::into),
            strategic_importance: input.strategic_importance.map(Into::into),
            customer_since: patch(input.customer_since, |v| v.0),
            next_review_on: patch(input.next_review_on, |v| v.0),
            custom_fields: given(input.custom_fields),
        };
        Ok(Customer::one(service::update(&rc.services, &rc.viewer(), id, expected_version, changes).await?))
    }

    /// Archives a customer (it is never deleted).
    async fn archive_customer(&self, ctx: &Context<'_>, #[graphql(desc = "The customer.")] id: ID) -> Result<Customer> {
        let rc = request(ctx)?;
        let id = ids::decode("Customer", "id", &id)?;
        Ok(Customer::one(service::archive(&rc.services, &rc.viewer(), id).await?))
    }

    /// Marks an ACTIVE or WON_BACK customer LOST and records why, in one transaction.
    async fn mark_customer_lost(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] id: ID,
        #[graphql(desc = "Why the customer left.")] reason: ChurnReason,
        #[graphql(desc = "The competitor the customer went to, if any.")] competitor: Option<String>,
        #[graphql(desc = "Free-text notes.")] notes: Option<String>,
        #[graphql(desc = "Default: today.")] occurred_on: Option<Date>,
    ) -> Result<ChurnPayload> {
        let rc = request(ctx)?;
        let id = ids::decode("Customer", "id", &id)?;
        let loss = Loss { reason: reason.into(), competitor, notes, occurred_on: occurred_on.map(Into::into) };
        let (customer, event) = service::mark_lost(&rc.services, &rc.viewer(), id, loss).await?;
        Ok(ChurnPayload { customer: Customer::one(customer), churn_event: ChurnEvent::from(event) })
    }

    /// Marks a LOST customer WON_BACK and records the event, in one transaction.
    async fn mark_customer_won_back(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] id: ID,
        #[graphql(desc = "Free-text notes.")] notes: Option<String>,
        #[graphql(desc = "Default: today.")] occurred_on: Option<Date>,
    ) -> Result<ChurnPayload> {
        let rc = request(ctx)?;
        let id = ids::decode("Customer", "id", &id)?;
        let (customer, event) =
            service::mark_won_back(&rc.services, &rc.viewer(), id, notes, occurred_on.map(Into::into)).await?;
        Ok(ChurnPayload { customer: Customer::one(customer), churn_event: ChurnEvent::from(event) })
    }
}
