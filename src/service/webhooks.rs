//! Webhook endpoints: the company's integrations, configured by an ADMIN.
//! What they receive is written by the changes themselves to the outbox
//! (`crate::service::outbox`) and posted by the delivery job.

use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Select,
    Set,
};
use serde_json::json;

use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        Services, now,
        outbox::{DeliveryStatus, EventType},
        update_versioned, validate,
        write::{Effect, Write},
    },
    webhooks::{address, signing},
};

/// How long the secret before a rotation keeps signing beside the new one.
pub const ROTATION_GRACE: chrono::Duration = chrono::Duration::hours(24);

fn event_types_text(types: Option<Vec<EventType>>) -> AppResult<String> {
    match types {
        None => Ok(String::new()),
        Some(types) if types.is_empty() => {
            Err(AppError::bad_input("eventTypes", "name at least one event type, or omit it for every type"))
        }
        Some(mut types) => {
            types.sort_by_key(|t| t.as_str());
            types.dedup();
            Ok(types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" "))
        }
    }
}

async fn checked_url(svc: &Services, url: &str) -> AppResult<String> {
    let url = validate::required_text("url", url, 2000)?;
    address::check(&url, svc.config.webhook.allow_private).await.map_err(|e| AppError::bad_input("url", e))?;
    Ok(url)
}

/// Creates an endpoint; returns it with its secret (shown only here and at rotations).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(
    svc: &Services,
    viewer: &Viewer,
    url: &str,
    event_types: Option<Vec<EventType>>,
    description: Option<String>,
) -> AppResult<(webhook_endpoint::Model, String)> {
    policy::ensure_admin(viewer)?;
    let url = checked_url(svc, url).await?;
    let event_types = event_types_text(event_types)?;
    let description = validate::optional_text("description", description, 500)?;
    let secret = signing::new_secret();
    let mut w = Write::begin(svc, viewer).await?;
    let at = now();
    let model = webhook_endpoint::ActiveModel {
        url: Set(url.clone()),
        description: Set(description),
        event_types: Set(event_types.clone()),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        active: Set(true),
        created_by: Set(viewer.user_id),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    w.audit("create", "webhook_endpoint", model.id, json!({"url": url, "eventTypes": event_types}));
    w.commit(svc).await?;
    Ok((model, secret))
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    /// `Some(None)`: every event type.
    pub event_types: Option<Option<Vec<EventType>>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Writes an endpoint's changes if nobody changed it meanwhile (CONFLICT otherwise).
async fn save(
    txn: &impl ConnectionTrait,
    mut row: webhook_endpoint::ActiveModel,
    current: &webhook_endpoint::Model,
) -> AppResult<webhook_endpoint::Model> {
    row.version = Set(current.version + 1);
    update_versioned::<webhook_endpoint::Entity>(
        txn,
        row,
        (webhook_endpoint::Column::Id, current.id),
        (webhook_endpoint::Column::Version, current.version),
        "webhook endpoint",
    )
    .await
}

async fn admin_endpoint(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<webhook_endpoint::Model> {
    policy::ensure_admin(viewer)?;
    webhook_endpoint::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("webhook endpoint"))
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    changes: EndpointChanges,
) -> AppResult<webhook_endpoint::Model> {
    policy::ensure_admin(viewer)?;
    let url = match &changes.url {
        Some(url) => Some(checked_url(svc, url).await?),
        None => None,
    };
    let mut w = Write::begin(svc, viewer).await?;
    let current = admin_endpoint(&*w, viewer, id).await?;
    validate::version("webhook endpoint", expected_version, current.version)?;
    let mut row = webhook_endpoint::ActiveModel { ..Default::default() };
    if let Some(url) = url {
        row.url = Set(url);
    }
    if let Some(types) = changes.event_types {
        row.event_types = Set(event_types_text(types)?);
    }
    if let Some(description) = changes.description {
        row.description = Set(validate::optional_text("description", description, 500)?);
    }
    if let Some(active) = changes.active {
        row.active = Set(active);
    }
    row.updated_at = Set(now());
    let updated = save(&*w, row, &current).await?;
    let diff = json!({
        "url": [current.url, updated.url],
        "eventTypes": [current.event_types, updated.event_types],
        "active": [current.active, updated.active],
    });
    w.audit("update", "webhook_endpoint", id, diff);
    w.commit(svc).await?;
    Ok(updated)
}

/// Stops deliveries to an endpoint; its pending deliveries wait until it is enabled again.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn disable(svc: &Services, viewer: &Viewer, id: i64) -> AppResult<webhook_endpoint::Model> {
    update(svc, viewer, id, None, EndpointChanges { active: Some(false), ..Default::default() }).await
}

/// A new secret; the previous one keeps signing beside it for [`ROTATION_GRACE`],
/// so receivers can switch without losing a message.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn rotate_secret(svc: &Services, viewer: &Viewer, id: i64) -> AppResult<(webhook_endpoint::Model, String)> {
    let mut w = Write::begin(svc, viewer).await?;
    let current = admin_endpoint(&*w, viewer, id).await?;
    let secret = signing::new_secret();
    let at = now();
    let row = webhook_endpoint::ActiveModel {
        secret: Set(secret.clone()),
        previous_secret: Set(Some(current.secret.clone())),
        previous_secret_until: Set(Some(at + ROTATION_GRACE)),
        updated_at: Set(at),
        ..Default::default()
    };
    let updated = save(&*w, row, &current).await?;
    w.audit("rotate_secret", "webhook_endpoint", id, json!({}));
    w.commit(svc).await?;
    Ok((updated, secret))
}

/// The endpoints (ADMIN).
pub fn select_endpoints(viewer: &Viewer) -> AppResult<Select<webhook_endpoint::Entity>> {
    policy::ensure_admin(viewer)?;
    Ok(webhook_endpoint::Entity::find())
}

/// The deliveries (ADMIN), of one endpoint and in one status if given.
pub fn select_deliveries(
    viewer: &Viewer,
    endpoint_id: Option<i64>,
    status: Option<DeliveryStatus>,
) -> AppResult<Select<webhook_delivery::Entity>> {
    policy::ensure_admin(viewer)?;
    let mut query = webhook_delivery::Entity::find();
    if let Some(endpoint) = endpoint_id {
        query = query.filter(webhook_delivery::Column::EndpointId.eq(endpoint));
    }
    if let Some(status) = status {
        query = query.filter(webhook_delivery::Column::Status.eq(status.as_str()));
    }
    Ok(query)
}

/// Every attempt of these deliveries, oldest first, in one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn attempts_of(db: &DatabaseConnection, deliveries: &[i64]) -> AppResult<Vec<webhook_attempt::Model>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(deliveries.iter().copied()))
        .order_by_asc(webhook_attempt::Column::DeliveryId)
        .order_by_asc(webhook_attempt::Column::Number)
        .all(db)
        .await?)
}

/// Sends a delivery again now (one more attempt; retried no further if it fails).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn redeliver(svc: &Services, viewer: &Viewer, id: i64) -> AppResult<webhook_delivery::Model> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current =
        webhook_delivery::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("webhook delivery"))?;
    let mut row: webhook_delivery::ActiveModel = current.into();
    let at = now();
    row.status = Set(DeliveryStatus::Pending.as_str().to_owned());
    row.next_attempt_at = Set(at);
    row.updated_at = Set(at);
    let updated = row.update(&*w).await?;
    w.audit("redeliver", "webhook_delivery", id, json!({}));
    w.after(Effect::WakeWebhooks);
    w.commit(svc).await?;
    Ok(updated)
}

/// Deliveries waiting for an attempt.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn queue_depth(db: &DatabaseConnection) -> AppResult<i64> {
    use sea_orm::PaginatorTrait;
    let pending = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .count(db)
        .await?;
    Ok(i64::try_from(pending).unwrap_or(i64::MAX))
}

/// When the previous secret stops signing, if it still does.
pub fn previous_secret(endpoint: &webhook_endpoint::Model, at: DateTime<Utc>) -> Option<&str> {
    match (&endpoint.previous_secret, endpoint.previous_secret_until) {
        (Some(secret), Some(until)) if until > at => Some(secret.as_str()),
        _ => None,
    }
}
