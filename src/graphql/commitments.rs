//! Commitments in the API.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::commitment;

use crate::{
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::patch::patch,
        support::enums::{CommitmentKind, to_domain},
        support::ids,
        support::pagination::{Conn, PageArgs, Sort, connection},
        support::scalars::Money,
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
    pub due_on: NaiveDate,
    /// When it was kept.
    pub fulfilled_on: Option<NaiveDate>,
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
            due_on: m.due_on,
            fulfilled_on: m.fulfilled_on,
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
    pub due_after: Option<NaiveDate>,
    /// Due before.
    pub due_before: Option<NaiveDate>,
}

#[derive(Default)]
pub struct CommitmentQuery;

#[Object]
impl CommitmentQuery {
    /// Commitments to the customers you can see, soonest due first.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn commitments(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommitmentFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Commitment>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = CommitmentFilter {
            customer_id: ids::decode_opt("Customer", "customerId", f.customer_id.as_ref())?,
            owner_id: ids::decode_opt("User", "ownerId", f.owner_id.as_ref())?,
            kinds: to_domain(f.kinds),
            fulfilled: f.fulfilled,
            overdue_only: f.overdue_only,
            due_after: f.due_after,
            due_before: f.due_before,
            include_archived: false,
        };
        let sort = Sort::new(commitment::Column::DueOn, commitment::Column::Id, false);
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
    pub due_on: Option<NaiveDate>,
    /// Responsible user (default: you).
    pub owner_id: Option<ID>,
}

impl CommitmentInput {
    fn into_fields(self) -> crate::error::AppResult<CommitmentFields> {
        Ok(CommitmentFields {
            kind: self.kind.map(Into::into),
            description: self.description,
            amount_cents: patch(self.amount, Money::cents),
            due_on: self.due_on,
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
        customer_id: ID,
        input: CommitmentInput,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let customer_id = ids::decode("Customer", "customerId", &customer_id)?;
        Ok(service::create(&rc.db, &rc.viewer(), customer_id, input.into_fields()?).await?.into())
    }

    /// Updates a commitment.
    async fn update_commitment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        input: CommitmentInput,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let id = ids::decode("Commitment", "id", &id)?;
        Ok(service::update(&rc.db, &rc.viewer(), id, expected_version, input.into_fields()?).await?.into())
    }

    /// Records that a promise was kept (default today); twice is a CONFLICT.
    async fn fulfil_commitment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        fulfilled_on: Option<NaiveDate>,
    ) -> Result<Commitment> {
        let rc = request(ctx)?;
        let id = ids::decode("Commitment", "id", &id)?;
        Ok(service::fulfil(&rc.db, &rc.viewer(), id, expected_version, fulfilled_on).await?.into())
    }

    /// Archives a commitment.
    async fn archive_commitment(&self, ctx: &Context<'_>, id: ID) -> Result<Commitment> {
        let rc = request(ctx)?;
        let id = ids::decode("Commitment", "id", &id)?;
        Ok(service::archive(&rc.db, &rc.viewer(), id).await?.into())
    }
}
