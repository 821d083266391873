//! Contacts: the people at a customer, at every organisational level.

use chrono::NaiveDate;
use entity::{
    contact,
    enums::{CustomFieldEntity, OrgLevel},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set};
use serde_json::json;

use crate::service::custom_fields::{self, Given};
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
pub struct ContactFilter {
    pub customer_id: Option<i64>,
    pub org_levels: Vec<OrgLevel>,
    pub search: Option<String>,
    /// Only contacts still at the customer (no `ended_on`).
    pub current_only: bool,
    pub include_archived: bool,
}

pub fn select(viewer: &Viewer, filter: &ContactFilter) -> Select<contact::Entity> {
    let mut query = contact::Entity::find().filter(policy::visible_through(viewer, contact::Column::CustomerId));
    if !filter.include_archived {
        query = query.filter(contact::Column::ArchivedAt.is_null());
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(contact::Column::CustomerId.eq(customer));
    }
    if !filter.org_levels.is_empty() {
        query = query.filter(contact::Column::OrgLevel.is_in(filter.org_levels.iter().copied()));
    }
    if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
        query = query.filter(crate::db::name_contains(contact::Column::Name, term));
    }
    if filter.current_only {
        query = query.filter(contact::Column::EndedOn.is_null());
    }
    query
}

/// The fields of a contact; on update `None` keeps and `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct ContactFields {
    pub name: Option<String>,
    pub title: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub org_level: Option<OrgLevel>,
    pub influence: Option<Option<i32>>,
    pub relationship_strength: Option<Option<i32>>,
    pub birthday: Option<Option<NaiveDate>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub started_on: Option<Option<NaiveDate>>,
    pub ended_on: Option<Option<NaiveDate>>,
    /// Custom field values to set (null clears one).
    pub custom_fields: Vec<Given>,
}

/// Applies validated fields onto an active model.
fn apply(row: &mut contact::ActiveModel, fields: ContactFields) -> AppResult<()> {
    if let Some(name) = fields.name {
        row.name = Set(validate::required_text("name", &name, 200)?);
    }
    if let Some(title) = fields.title {
        row.title = Set(validate::optional_text("title", title, 200)?);
    }
    if let Some(department) = fields.department {
        row.department = Set(validate::optional_text("department", department, 200)?);
    }
    if let Some(level) = fields.org_level {
        row.org_level = Set(level);
    }
    if let Some(influence) = fields.influence {
        row.influence = Set(validate::optional_in_range("influence", influence, 1, 5)?);
    }
    if let Some(strength) = fields.relationship_strength {
        row.relationship_strength = Set(validate::optional_in_range("relationshipStrength", strength, 1, 5)?);
    }
    if let Some(birthday) = fields.birthday {
        if birthday.is_some_and(|b| b > now().date_naive()) {
            return Err(AppError::bad_input("birthday", "birthday must not be in the future"));
        }
        row.birthday = Set(birthday);
    }
    if let Some(email) = fields.email {
        row.email = Set(validate::optional_email("email", email)?);
    }
    if let Some(phone) = fields.phone {
        row.phone = Set(validate::optional_text("phone", phone, 50)?);
    }
    if let Some(started) = fields.started_on {
        row.started_on = Set(started);
    }
    if let Some(ended) = fields.ended_on {
        row.ended_on = Set(ended);
    }
    Ok(())
}

fn check_dates(model: &contact::Model) -> AppResult<()> {
    match (model.started_on, model.ended_on) {
        (Some(start), Some(end)) if end < start => Err(AppError::bad_input("endedOn", "endedOn is before startedOn")),
        _ => Ok(()),
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(
    svc: &crate::service::Services,
    viewer: &Viewer,
    customer_id: i64,
    mut fields: ContactFields,
) -> AppResult<contact::Model> {
    policy::ensure_can_write(viewer)?;
    if fields.name.is_none() || fields.org_level.is_none() {
        return Err(AppError::bad_input("name", "name and orgLevel are required"));
    }
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, customer_id).await?;
    let given = std::mem::take(&mut fields.custom_fields);
    let custom = custom_fields::checked(&*w, CustomFieldEntity::Contact, &given, true).await?;
    let at = now();
    let mut row = contact::ActiveModel {
        customer_id: Set(customer_id),
        title: Set(None),
        department: Set(None),
        influence: Set(None),
        relationship_strength: Set(None),
        birthday: Set(None),
        email: Set(None),
        phone: Set(None),
        started_on: Set(None),
        ended_on: Set(None),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    apply(&mut row, fields)?;
    let model = row.insert(&*w).await?;
    check_dates(&model)?;
    let custom = custom_fields::store(&*w, CustomFieldEntity::Contact, model.id, custom).await?;
    w.audit("create", "contact", model.id, custom_fields::audited(json!({"customerId": customer_id}), custom));
    w.changes([Change::new(ChangeEntity::Contact, model.id, Operation::Created, customer_id)]);
    w.commit(svc).await?;
    Ok(model)
}

async fn writable(txn: &impl sea_orm::ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<contact::Model> {
    let columns = (contact::Column::Id, contact::Column::CustomerId);
    policy::writable::<contact::Entity>(txn, viewer, columns, id, "contact").await
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    mut fields: ContactFields,
) -> AppResult<contact::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    validate::version("contact", expected_version, current.version)?;
    let given = std::mem::take(&mut fields.custom_fields);
    let custom = custom_fields::checked(&*w, CustomFieldEntity::Contact, &given, false).await?;
    let mut row = contact::ActiveModel { ..Default::default() };
    apply(&mut row, fields)?;
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let updated = update_versioned::<contact::Entity>(
        &*w,
        row,
        (contact::Column::Id, id),
        (contact::Column::Version, current.version),
        "contact",
    )
    .await?;
    check_dates(&updated)?;
    let custom = custom_fields::store(&*w, CustomFieldEntity::Contact, id, custom).await?;
    w.audit("update", "contact", id, custom_fields::audited(audit::diff(&current, &updated), custom));
    w.changes([Change::new(ChangeEntity::Contact, id, Operation::Updated, current.customer_id)]);
    w.commit(svc).await?;
    Ok(updated)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<contact::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    if current.archived_at.is_none() {
        let at = now();
        let row = contact::ActiveModel {
            archived_at: Set(Some(at)),
            updated_at: Set(at),
            version: Set(current.version + 1),
            ..Default::default()
        };
        update_versioned::<contact::Entity>(
            &*w,
            row,
            (contact::Column::Id, id),
            (contact::Column::Version, current.version),
            "contact",
        )
        .await?;
        w.audit("archive", "contact", id, json!({}));
        w.changes([Change::new(ChangeEntity::Contact, id, Operation::Archived, current.customer_id)]);
    }
    let updated = contact::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("contact"))?;
    w.commit(svc).await?;
    Ok(updated)
}

/// Refuses a contact that is not the customer's (`BAD_USER_INPUT` on `contactId`),
/// for the records that may name one of the customer's contacts.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ensure_of_customer(db: &impl ConnectionTrait, customer_id: i64, contact_id: i64) -> AppResult<()> {
    contact::Entity::find_by_id(contact_id)
        .filter(contact::Column::CustomerId.eq(customer_id))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::bad_input("contactId", "the contact must belong to the customer"))
}
