//! Communications: every touchpoint with a customer, with the contacts who took part.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    communication, communication_contact, contact,
    enums::{Channel, Direction},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait, Select, Set,
};
use serde_json::json;

use crate::service::write::Write;
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        audit,
        changes::{Change, ChangeEntity, Operation},
        now, validate,
    },
};

/// At most this many contacts per communication.
pub const MAX_PARTICIPANTS: usize = 50;

#[derive(Debug, Default, Clone)]
pub struct CommunicationFilter {
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub user_id: Option<i64>,
    pub channels: Vec<Channel>,
    pub occurred_after: Option<DateTime<Utc>>,
    pub occurred_before: Option<DateTime<Utc>>,
    pub include_archived: bool,
}

pub fn select(viewer: &Viewer, filter: &CommunicationFilter) -> Select<communication::Entity> {
    let mut query =
        communication::Entity::find().filter(policy::visible_through(viewer, communication::Column::CustomerId));
    if !filter.include_archived {
        query = query.filter(communication::Column::ArchivedAt.is_null());
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(communication::Column::CustomerId.eq(customer));
    }
    if let Some(contact) = filter.contact_id {
        let with_contact = communication_contact::Entity::find()
            .select_only()
            .column(communication_contact::Column::CommunicationId)
            .filter(communication_contact::Column::ContactId.eq(contact));
        query = query.filter(communication::Column::Id.in_subquery(with_contact.into_query()));
    }
    if let Some(user) = filter.user_id {
        query = query.filter(communication::Column::UserId.eq(user));
    }
    if !filter.channels.is_empty() {
        query = query.filter(communication::Column::Channel.is_in(filter.channels.iter().copied()));
    }
    if let Some(after) = filter.occurred_after {
        query = query.filter(communication::Column::OccurredAt.gte(after));
    }
    if let Some(before) = filter.occurred_before {
        query = query.filter(communication::Column::OccurredAt.lt(before));
    }
    query
}

#[derive(Debug, Clone)]
pub struct NewCommunication {
    pub customer_id: i64,
    pub channel: Channel,
    pub direction: Direction,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub follow_up_on: Option<NaiveDate>,
    pub contact_ids: Vec<i64>,
}

/// Changes to a logged touchpoint; `contact_ids` replaces the participants.
#[derive(Debug, Clone, Default)]
pub struct CommunicationChanges {
    pub channel: Option<Channel>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub follow_up_on: Option<Option<NaiveDate>>,
    pub contact_ids: Option<Vec<i64>>,
}

/// Deduplicates participants and checks they all belong to the customer.
async fn participants(
    txn: &impl sea_orm::ConnectionTrait,
    customer_id: i64,
    mut contact_ids: Vec<i64>,
) -> AppResult<Vec<i64>> {
    contact_ids.sort_unstable();
    contact_ids.dedup();
    if contact_ids.len() > MAX_PARTICIPANTS {
        return Err(AppError::bad_input("contactIds", format!("at most {MAX_PARTICIPANTS} contacts")));
    }
    if !contact_ids.is_empty() {
        let found = contact::Entity::find()
            .filter(contact::Column::Id.is_in(contact_ids.iter().copied()))
            .filter(contact::Column::CustomerId.eq(customer_id))
            .count(txn)
            .await?;
        if found != contact_ids.len() as u64 {
            return Err(AppError::bad_input("contactIds", "every contact must belong to the customer"));
        }
    }
    Ok(contact_ids)
}

async fn link_participants(
    txn: &impl sea_orm::ConnectionTrait,
    communication_id: i64,
    contact_ids: &[i64],
) -> AppResult<()> {
    if !contact_ids.is_empty() {
        communication_contact::Entity::insert_many(contact_ids.iter().map(|contact_id| {
            communication_contact::ActiveModel { communication_id: Set(communication_id), contact_id: Set(*contact_id) }
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

fn not_in_future(at: DateTime<Utc>) -> AppResult<()> {
    if at > now() + chrono::Duration::days(1) {
        return Err(AppError::bad_input("occurredAt", "occurredAt must not be in the future"));
    }
    Ok(())
}

/// Logs a touchpoint and its participants in one transaction.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn log(
    svc: &crate::service::Services,
    viewer: &Viewer,
    input: NewCommunication,
) -> AppResult<communication::Model> {
    policy::ensure_can_write(viewer)?;
    let summary = validate::required_text("summary", &input.summary, 10_000)?;
    not_in_future(input.occurred_at)?;
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, input.customer_id).await?;
    let contact_ids = participants(&*w, input.customer_id, input.contact_ids).await?;
    let at = now();
    let model = communication::ActiveModel {
        customer_id: Set(input.customer_id),
        user_id: Set(viewer.user_id),
        channel: Set(input.channel),
        direction: Set(input.direction),
        occurred_at: Set(input.occurred_at),
        summary: Set(summary),
        follow_up_on: Set(input.follow_up_on),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    if !contact_ids.is_empty() {
        communication_contact::Entity::insert_many(contact_ids.iter().map(|contact_id| {
            communication_contact::ActiveModel { communication_id: Set(model.id), contact_id: Set(*contact_id) }
        }))
        .exec(&*w)
        .await?;
    }
    w.audit("create", "communication", model.id, json!({"customerId": input.customer_id, "contactIds": contact_ids}));
    let created = Change::new(ChangeEntity::Communication, model.id, Operation::Created, input.customer_id);
    w.changes([created]);
    w.commit(svc).await?;
    Ok(model)
}

async fn writable(txn: &impl sea_orm::ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<communication::Model> {
    let columns = (communication::Column::Id, communication::Column::CustomerId);
    policy::writable::<communication::Entity>(txn, viewer, columns, id, "communication").await
}

/// Corrects a logged touchpoint; new participants replace the old ones.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    changes: CommunicationChanges,
) -> AppResult<communication::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    let customer_id = current.customer_id;
    let mut row: communication::ActiveModel = current.clone().into();
    let mut participants_changed = None;
    if let Some(channel) = changes.channel {
        row.channel = Set(channel);
    }
    if let Some(at) = changes.occurred_at {
        not_in_future(at)?;
        row.occurred_at = Set(at);
    }
    if let Some(summary) = changes.summary {
        row.summary = Set(validate::required_text("summary", &summary, 10_000)?);
    }
    if let Some(follow_up) = changes.follow_up_on {
        row.follow_up_on = Set(follow_up);
    }
    if let Some(contact_ids) = changes.contact_ids {
        let contact_ids = participants(&*w, customer_id, contact_ids).await?;
        communication_contact::Entity::delete_many()
            .filter(communication_contact::Column::CommunicationId.eq(id))
            .exec(&*w)
            .await?;
        link_participants(&*w, id, &contact_ids).await?;
        participants_changed = Some(contact_ids);
    }
    row.updated_at = Set(now());
    let updated = row.update(&*w).await?;
    let mut changes = audit::diff(&current, &updated);
    if let (Some(ids), Some(map)) = (participants_changed, changes.as_object_mut()) {
        map.insert("contactIds".to_owned(), json!(ids));
    }
    w.audit("update", "communication", id, changes);
    let change = Change::new(ChangeEntity::Communication, id, Operation::Updated, updated.customer_id);
    w.changes([change]);
    w.commit(svc).await?;
    Ok(updated)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<communication::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    if current.archived_at.is_some() {
        return Ok(current);
    }
    let mut row: communication::ActiveModel = current.into();
    let at = now();
    row.archived_at = Set(Some(at));
    row.updated_at = Set(at);
    let updated = row.update(&*w).await?;
    w.audit("archive", "communication", id, json!({}));
    let change = Change::new(ChangeEntity::Communication, id, Operation::Archived, updated.customer_id);
    w.changes([change]);
    w.commit(svc).await?;
    Ok(updated)
}
