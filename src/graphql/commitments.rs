//! Commitments in the API.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::commitment;

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::enums::{CommitmentKind, to_domain},
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::patch::patch,
        support::scalars::{Date, Money},
    },
    service::{
        commitments::{self as service, CommitmentFields, CommitmentFilter},
        now,
    },
};

/// A promise made to a customer.
#[derive(SimpleObject)]
pub struct Commitment {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// What kind of promise.
    pub kind: CommitmentKind,
    /// What was promised.
    pub description: String,
    /// Amount involved (e.g. a rebate).
    pub amount: Option<Money>,
    /// Due date.
    pub due_on: Date,
    /// When it was kept.
    pub fulfilled_on: Option<Date>,
    /// Open and past its due date.
    pub overdue: bool,
    /// Who is responsible.
    pub owner_id: ID,
    /// Optimistic-locking version.
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<commitment::Model> for Commitment {
    fn from(m: commitment::Model) -> Self {
        Self {
            id: ids::encode("Commitment", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            kind: m.kind.into(),
            description: m.description,
            amount: m.amount_cents.map(Money),
            due_on: m.due_on.into(),
            fulfilled_on: m.fulfilled_on.map(Into::into),
            overdue: m.fulfilled_on.is_none() && m.due_on < now().date_naive(),
            owner_id: ids::encode("User", m.owner_id),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            archived_at: m.archived_at,
        }
    }
}

/// Filters of the commitment list.
#[derive(InputObject, Default)]
pub struct CommitmentFilterInput {
    /// Of this customer.
    pub customer_id: Option<ID>,
    /// Owned by this user.
    pub owner_id: Option<ID>,
    /// Any of these kinds.
    pub kinds: Option<Vec<CommitmentKind>>,
    /// true: only kept; false: only open.
    pub fulfilled: Option<bool>,
    /// Only open and past due.
    #[graphql(default)]
    pub overdue_only: bool,
    /// Due on or after.
    pub due_after: Option<Date>,
    /// Due before.
    pub due_before: Option<Date>,
}

order_by!(
    /// Sort order of the list.
    CommitmentOrder, CommitmentOrderField, commitment::Column,
    default(DueOn, Asc),
    {
        /// By due date.
        DueOn => commitment::Column::DueOn;
        /// By creation time.
        CreatedAt => commitment::Column::CreatedAt;
    }
);

#[derive(Default)]
pub struct CommitmentQuery;

#[Object]
impl CommitmentQuery {
    /// Commitments to the customers you can see, soonest due first.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn commitments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<CommitmentFilterInput>,
        #[graphql(desc = "Sort order (default: soonest due first).")] order_by: Option<CommitmentOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Commitment>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = CommitmentFilter {
            customer_id: ids::decode_opt("Customer", "customerId", f.customer_id.as_ref())?,
            owner_id: ids::decode_opt("User", "ownerId", f.owner_id.as_ref())?,
            kinds: to_domain(f.kinds),
            fulfilled: f.fulfilled,
            overdue_only: f.overdue_only,
            due_after: f.due_after.map(Into::into),
            due_before: f.due_before.map(Into::into),
            include_archived: false,
        };
        let sort = order_by.unwrap_or_default().sort(commitment::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<commitment::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |c| c.id, wrap).await?)
    }
}

/// A commitment's fields; on create `kind`, `description` and `dueOn` are required.
#[derive(InputObject, Default)]
pub struct CommitmentInput {
    /// Kind of promise.
    pub kind: Option<CommitmentKind>,
    /// What was promised.
    pub description: Option<String>,
    /// Amount involved (not negative).
    pub amount: MaybeUndefined<Money>,
    /// Due date.
    pub due_on: Option<Date>,
    /// Responsible user (default: you).
    pub owner_id: Option<ID>,
}

impl CommitmentInput {
    fn into_fields(self) -> crate::error::AppResult<CommitmentFields> {
        Ok(CommitmentFields {
            kind: self.kind.map(Into::into),
            description: self.description,
            amount_cents: patch(self.amount, Money::cents),
            due_on: self.due_on.map(Into::into),
            owner_id: ids::decode_opt("User", "ownerId", self.owner_id.as_ref())?,
        })
    }
}

#[derive(Default)]
pub struct CommitmentMutation;

#[Object]
impl CommitmentMutation {
    /// Records a promise to a customer.
    async fn create_commitment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] customer_id: ID,
        #[graphql(desc = "What to record.")] input: CommitmentInput,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let customer_id = ids::decode("Customer", "customerId", &customer_id)?;
        Ok(service::create(&rc.services, &rc.viewer(), customer_id, input.into_fields()?).await?.into())
    }

    /// Updates a commitment.
    async fn update_commitment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The commitment.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "The changes: omitted fields stay as they are, `null` clears a field.")]
        input: CommitmentInput,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let id = ids::decode("Commitment", "id", &id)?;
        Ok(service::update(&rc.services, &rc.viewer(), id, expected_version, input.into_fields()?).await?.into())
    }

    /// Records that a promise was kept (default today); twice is a CONFLICT.
    async fn fulfil_commitment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The commitment.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "When the promise was kept (default: today).")] fulfilled_on: Option<Date>,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let id = ids::decode("Commitment", "id", &id)?;
        Ok(service::fulfil(&rc.services, &rc.viewer(), id, expected_version, fulfilled_on.map(Into::into))
            .await?
            .into())
    }

    /// Archives a commitment.
    async fn archive_commitment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The commitment.")] id: ID,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let id = ids::decode("Commitment", "id", &id)?;
        Ok(service::archive(&rc.services, &rc.viewer(), id).await?.into())
    }
}
