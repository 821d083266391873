//! Key dates on a customer or one of its contacts: project starts, contract
//! renewals, once or every year. They show up among the care dates.

use chrono::NaiveDate;
use entity::key_date;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

use crate::service::write::Write;
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{contacts, now, validate},
};

/// The kinds of key date, as stored.
pub const KINDS: [&str; 4] = ["PROJECT_START", "CONTRACT_RENEWAL", "COMPANY_ANNIVERSARY", "OTHER"];

#[derive(Debug, Clone)]
pub struct NewKeyDate {
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub kind: &'static str,
    pub note: Option<String>,
    pub on_date: NaiveDate,
    pub recurring: bool,
}

/// Records a key date on a customer the viewer may write to.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn record(svc: &crate::service::Services, viewer: &Viewer, input: NewKeyDate) -> AppResult<key_date::Model> {
    policy::ensure_can_write(viewer)?;
    if !KINDS.contains(&input.kind) {
        return Err(AppError::bad_input("kind", format!("one of {}", KINDS.join(", "))));
    }
    let note = validate::optional_text("note", input.note, 1000)?;
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, input.customer_id).await?;
    if let Some(contact_id) = input.contact_id {
        contacts::ensure_of_customer(&*w, input.customer_id, contact_id).await?;
    }
    let at = now();
    let model = key_date::ActiveModel {
        customer_id: Set(input.customer_id),
        contact_id: Set(input.contact_id),
        kind: Set(input.kind.to_owned()),
        note: Set(note),
        on_date: Set(input.on_date),
        recurring: Set(input.recurring),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    let fields = json!({"kind": input.kind, "on_date": input.on_date, "recurring": input.recurring});
    w.audit("create", "key_date", model.id, fields);
    w.commit(svc).await?;
    Ok(model)
}

/// Archives a key date: it leaves the care dates and keeps its history.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<key_date::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let columns = (key_date::Column::Id, key_date::Column::CustomerId);
    let current = policy::writable::<key_date::Entity>(&*w, viewer, columns, id, "key date").await?;
    let mut row: key_date::ActiveModel = current.clone().into();
    let at = now();
    row.archived_at = Set(Some(current.archived_at.unwrap_or(at)));
    row.updated_at = Set(at);
    let model = row.update(&*w).await?;
    w.audit("archive", "key_date", id, json!({"archived_at": model.archived_at}));
    w.commit(svc).await?;
    Ok(model)
}
