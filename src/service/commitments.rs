//! Commitments: promises made to a customer, tracked to fulfilment. An overdue
//! promise is a churn signal.

use chrono::NaiveDate;
use entity::{commitment, enums::CommitmentKind};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set};
use serde_json::json;

use crate::service::write::Write;
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        audit,
        changes::{Change, ChangeEntity, Operation},
        now, update_versioned, validate,
    },
};

#[derive(Debug, Default, Clone)]
pub struct CommitmentFilter {
    pub customer_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub kinds: Vec<CommitmentKind>,
    /// Some(true): only fulfilled; Some(false): only open.
    pub fulfilled: Option<bool>,
    /// Open and due before today.
    pub overdue_only: bool,
    pub due_after: Option<NaiveDate>,
    pub due_before: Option<NaiveDate>,
    pub include_archived: bool,
}

pub fn select(viewer: &Viewer, filter: &CommitmentFilter) -> Select<commitment::Entity> {
    let mut query = commitment::Entity::find().filter(policy::visible_through(viewer, commitment::Column::CustomerId));
    if !filter.include_archived {
        query = query.filter(commitment::Column::ArchivedAt.is_null());
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(commitment::Column::CustomerId.eq(customer));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(commitment::Column::OwnerId.eq(owner));
    }
    if !filter.kinds.is_empty() {
        query = query.filter(commitment::Column::Kind.is_in(filter.kinds.iter().copied()));
    }
    match filter.fulfilled {
        Some(true) => query = query.filter(commitment::Column::FulfilledOn.is_not_null()),
        Some(false) => query = query.filter(commitment::Column::FulfilledOn.is_null()),
        None => {}
    }
    if filter.overdue_only {
        query = query
            .filter(commitment::Column::FulfilledOn.is_null())
            .filter(commitment::Column::DueOn.lt(now().date_naive()));
    }
    if let Some(after) = filter.due_after {
        query = query.filter(commitment::Column::DueOn.gte(after));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(commitment::Column::DueOn.lt(before));
    }
    query
}

#[derive(Debug, Clone, Default)]
pub struct CommitmentFields {
    pub kind: Option<CommitmentKind>,
    pub description: Option<String>,
    pub amount_cents: Option<Option<i64>>,
    pub due_on: Option<NaiveDate>,
    pub owner_id: Option<i64>,
}

fn apply(row: &mut commitment::ActiveModel, fields: CommitmentFields) -> AppResult<()> {
    if let Some(kind) = fields.kind {
        row.kind = Set(kind);
    }
    if let Some(description) = fields.description {
        row.description = Set(validate::required_text("description", &description, 4000)?);
    }
    if let Some(amount) = fields.amount_cents {
        if amount.is_some_and(|a| a < 0) {
            return Err(AppError::bad_input("amount", "amount must not be negative"));
        }
        row.amount_cents = Set(amount);
    }
    if let Some(due) = fields.due_on {
        row.due_on = Set(due);
    }
    if let Some(owner) = fields.owner_id {
        row.owner_id = Set(owner);
    }
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(
    svc: &crate::service::Services,
    viewer: &Viewer,
    customer_id: i64,
    fields: CommitmentFields,
) -> AppResult<commitment::Model> {
    policy::ensure_can_write(viewer)?;
    if fields.kind.is_none() || fields.description.is_none() || fields.due_on.is_none() {
        return Err(AppError::bad_input("description", "kind, description and dueOn are required"));
    }
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, customer_id).await?;
    if let Some(owner) = fields.owner_id {
        policy::assignable_user(&*w, viewer, owner, "ownerId").await?;
    }
    let at = now();
    let mut row = commitment::ActiveModel {
        customer_id: Set(customer_id),
        amount_cents: Set(None),
        fulfilled_on: Set(None),
        owner_id: Set(viewer.user_id),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    apply(&mut row, fields)?;
    let model = row.insert(&*w).await?;
    w.audit("create", "commitment", model.id, json!({"customerId": customer_id}));
    w.changes([Change::new(ChangeEntity::Commitment, model.id, Operation::Created, customer_id)]);
    w.commit(svc).await?;
    Ok(model)
}

async fn writable(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<commitment::Model> {
    let columns = (commitment::Column::Id, commitment::Column::CustomerId);
    policy::writable::<commitment::Entity>(db, viewer, columns, id, "commitment").await
}

async fn change(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    action: &str,
    edit: impl FnOnce(&commitment::Model, &mut commitment::ActiveModel) -> AppResult<()>,
) -> AppResult<commitment::Model> {
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    validate::version("commitment", expected_version, current.version)?;
    let mut row = commitment::ActiveModel { ..Default::default() };
    edit(&current, &mut row)?;
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let updated = update_versioned::<commitment::Entity>(
        &*w,
        row,
        (commitment::Column::Id, id),
        (commitment::Column::Version, current.version),
        "commitment",
    )
    .await?;
    w.audit(action, "commitment", id, audit::diff(&current, &updated));
    let operation = if updated.archived_at.is_some() && current.archived_at.is_none() {
        Operation::Archived
    } else {
        Operation::Updated
    };
    w.changes([Change::new(ChangeEntity::Commitment, id, operation, current.customer_id)]);
    w.commit(svc).await?;
    Ok(updated)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    fields: CommitmentFields,
) -> AppResult<commitment::Model> {
    policy::ensure_can_write(viewer)?;
    if let Some(owner) = fields.owner_id {
        policy::assignable_user(&svc.db, viewer, owner, "ownerId").await?;
    }
    change(svc, viewer, id, expected_version, "update", |_, row| apply(row, fields)).await
}

/// Records that the promise was kept; fulfilling twice is a CONFLICT.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn fulfil(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    fulfilled_on: Option<NaiveDate>,
) -> AppResult<commitment::Model> {
    policy::ensure_can_write(viewer)?;
    change(svc, viewer, id, expected_version, "fulfil", |current, row| {
        if current.fulfilled_on.is_some() {
            return Err(AppError::conflict("the commitment is already fulfilled"));
        }
        let on = fulfilled_on.unwrap_or_else(|| now().date_naive());
        if on > now().date_naive() {
            return Err(AppError::bad_input("fulfilledOn", "fulfilledOn must not be in the future"));
        }
        row.fulfilled_on = Set(Some(on));
        Ok(())
    })
    .await
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<commitment::Model> {
    policy::ensure_can_write(viewer)?;
    change(svc, viewer, id, None, "archive", |current, row| {
        row.archived_at = Set(Some(current.archived_at.unwrap_or_else(now)));
        Ok(())
    })
    .await
}
