//! The outbox: every change that announces an event writes it here in its
//! own transaction ([`emit`]), so an event is recorded exactly when its
//! change commits, and delivered at least once by the delivery job
//! (`crate::jobs::webhooks`) even across restarts.
//!
//! Payloads are thin: global IDs and the fields that changed, never contact
//! details. A receiver reads anything more through the API with its own
//! token, under that token's scopes.

use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Statement};
use serde_json::{Value, json};

use crate::{error::AppResult, gid, service::now};

crate::names::named! {
    /// What a webhook announces.
    pub enum EventType {
        TicketCreated = "ticket.created",
        TicketStatusChanged = "ticket.status_changed",
        TicketSlaBreached = "ticket.sla_breached",
        CustomerLost = "customer.lost",
        CustomerWonBack = "customer.won_back",
        CustomerReassigned = "customer.reassigned",
        CustomerMerged = "customer.merged",
        CommitmentOverdue = "commitment.overdue",
        HealthLevelChanged = "health.level_changed",
        TaskCreated = "task.created",
        TaskOverdue = "task.overdue",
    }
}

/// An event to announce.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventType,
    /// The row it is about.
    pub subject_id: i64,
    /// For events a sweep finds: which occurrence (an event is written once per subject and occurrence).
    pub occurrence: Option<String>,
    /// The payload's `data`.
    pub data: Value,
}

impl Event {
    pub fn new(kind: EventType, subject_id: i64, data: Value) -> Self {
        Self { kind, subject_id, occurrence: None, data }
    }

    pub fn ticket_created(ticket: &entity::ticket::Model) -> Self {
        Self::new(
            EventType::TicketCreated,
            ticket.id,
            json!({
                "ticketId": gid::encode("Ticket", ticket.id),
                "customerId": gid::encode("Customer", ticket.customer_id),
                "category": ticket.category.as_str(),
                "priority": ticket.priority.as_str(),
                "status": ticket.status.as_str(),
            }),
        )
    }

    pub fn ticket_status_changed(ticket: &entity::ticket::Model, from: &str) -> Self {
        Self::new(
            EventType::TicketStatusChanged,
            ticket.id,
            json!({
                "ticketId": gid::encode("Ticket", ticket.id),
                "customerId": gid::encode("Customer", ticket.customer_id),
                "from": from,
                "to": ticket.status.as_str(),
            }),
        )
    }

    pub fn customer_status(kind: EventType, customer_id: i64, detail: Value) -> Self {
        let mut data = json!({ "customerId": gid::encode("Customer", customer_id) });
        if let (Some(map), Value::Object(extra)) = (data.as_object_mut(), detail) {
            map.extend(extra);
        }
        Self::new(kind, customer_id, data)
    }

    pub fn customer_reassigned(customer_id: i64, from: i64, to: i64) -> Self {
        Self::new(
            EventType::CustomerReassigned,
            customer_id,
            json!({
                "customerId": gid::encode("Customer", customer_id),
                "fromOwnerId": gid::encode("User", from),
                "toOwnerId": gid::encode("User", to),
            }),
        )
    }
}

/// Writes events to the outbox, each with a delivery to every active
/// endpoint subscribed to its type. Call it inside the change's transaction.
/// An event whose (type, subject, occurrence) was already written is skipped,
/// and so is a change event no active endpoint subscribes to.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn emit(txn: &impl ConnectionTrait, events: &[Event]) -> AppResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let endpoints = webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::Active.eq(true)).all(txn).await?;
    let dialect = crate::db::Dialect::of(txn);
    let backend = dialect.0;
    let sql = dialect.numbered(
        "INSERT INTO webhook_event (event_type, subject_id, occurrence, payload, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING RETURNING id",
    );
    let at = now();
    let mut deliveries = Vec::new();
    let mut written = 0;
    for event in events {
        let listeners: Vec<&webhook_endpoint::Model> = endpoints.iter().filter(|e| subscribed(e, event.kind)).collect();
        // A change nobody listens to costs no write; an event found by a sweep
        // is written anyway, as the mark that it was announced.
        if listeners.is_empty() && event.occurrence.is_none() {
            continue;
        }
        let payload = json!({ "type": event.kind.as_str(), "timestamp": at.to_rfc3339(), "data": event.data });
        let values: Vec<sea_orm::Value> = vec![
            event.kind.as_str().into(),
            event.subject_id.into(),
            event.occurrence.clone().into(),
            payload.to_string().into(),
            at.into(),
        ];
        let Some(row) = txn.query_one_raw(Statement::from_sql_and_values(backend, sql.clone(), values)).await? else {
            continue;
        };
        written += 1;
        let event_id: i64 = row.try_get("", "id")?;
        for endpoint in listeners {
            deliveries.push(webhook_delivery::ActiveModel {
                endpoint_id: Set(endpoint.id),
                event_id: Set(event_id),
                status: Set(DeliveryStatus::Pending.as_str().to_owned()),
                attempts: Set(0),
                next_attempt_at: Set(at),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            });
        }
    }
    for chunk in deliveries.chunks(500) {
        webhook_delivery::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    Ok(written)
}

fn subscribed(endpoint: &webhook_endpoint::Model, kind: EventType) -> bool {
    endpoint.event_types.trim().is_empty() || endpoint.event_types.split_whitespace().any(|t| t == kind.as_str())
}

crate::names::named! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt.
        Pending = "PENDING",
        Succeeded = "SUCCEEDED",
        /// Given up (retries exhausted, or the receiver refused it for good).
        Failed = "FAILED",
    }
}

impl DeliveryStatus {}
