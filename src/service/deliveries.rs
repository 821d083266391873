//! Webhook deliveries as the delivery job (`crate::jobs::webhooks`) handles
//! them: claiming due ones, recording each attempt, and the sweeps that find
//! the events no write announces because time makes them (a ticket past its
//! SLA, a promise past its due date).
//!
//! Claims take, on PostgreSQL, `FOR UPDATE SKIP LOCKED`, so instances sharing
//! a database never claim the same delivery, and move the claimed rows' next
//! attempt a lease ahead, so a delivery whose instance died mid-flight is
//! taken up again when the lease ends.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint, webhook_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{LockBehavior, LockType},
};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::{
    db::{
        Dialect,
        rows::{date, int, timestamp},
    },
    error::AppResult,
    gid,
    rules::sla,
    service::{
        now,
        outbox::{DeliveryStatus, Event, EventType, emit},
    },
};

/// Deliveries claimed per round.
pub const BATCH: u64 = 16;
/// Sweep candidates per round.
const SWEEP_BATCH: usize = 500;

/// Wakes the worker, and stops it.
#[derive(Clone)]
pub struct WebhookHandle {
    wake: Arc<Notify>,
    stop: Arc<watch::Sender<bool>>,
}

impl Default for WebhookHandle {
    fn default() -> Self {
        Self { wake: Arc::default(), stop: Arc::new(watch::channel(false).0) }
    }
}

impl WebhookHandle {
    /// Makes the worker look for due deliveries now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the worker after its current round.
    pub fn stop(&self) {
        self.stop.send_replace(true);
        self.wake.notify_one();
    }
}

impl WebhookHandle {
    /// Resolves when the job is woken (or stopped).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Whether the job was stopped, and a receiver that changes when it is.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// How one attempt ended.
pub struct Outcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }

    /// Worth another attempt: no answer, or an answer that says "later".
    pub fn retryable(&self) -> bool {
        match self.status_code {
            None => true,
            Some(code) => code >= 500 || code == 408 || code == 429,
        }
    }
}

/// A claimed delivery, with its event and endpoint.
pub struct Claimed {
    pub delivery: webhook_delivery::Model,
    pub event: webhook_event::Model,
    pub endpoint: webhook_endpoint::Model,
}

/// Due deliveries of active endpoints, leased to this instance for `lease`, with their events and endpoints.
pub async fn claim(db: &DatabaseConnection, lease: Duration) -> AppResult<Vec<Claimed>> {
    let txn = crate::db::write(db).await?;
    let at = now();
    let mut query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(at))
        .filter(
            webhook_delivery::Column::EndpointId.in_subquery(sea_orm::QueryTrait::into_query(
                webhook_endpoint::Entity::find()
                    .select_only()
                    .column(webhook_endpoint::Column::Id)
                    .filter(webhook_endpoint::Column::Active.eq(true)),
            )),
        )
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(BATCH);
    if Dialect::of(db).postgres() {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let claimed = query.all(&txn).await?;
    if !claimed.is_empty() {
        let lease = at + chrono::Duration::from_std(lease).unwrap_or_default();
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(lease))
            .filter(webhook_delivery::Column::Id.is_in(claimed.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let events: HashMap<i64, webhook_event::Model> = webhook_event::Entity::find()
        .filter(webhook_event::Column::Id.is_in(claimed.iter().map(|d| d.event_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let endpoints: HashMap<i64, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(claimed.iter().map(|d| d.endpoint_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    Ok(claimed
        .into_iter()
        .filter_map(|d| {
            let event = events.get(&d.event_id)?.clone();
            let endpoint = endpoints.get(&d.endpoint_id)?.clone();
            Some(Claimed { delivery: d, event, endpoint })
        })
        .collect())
}

/// Records an attempt and what comes next, in one transaction: SUCCEEDED,
/// PENDING again `retry_in` from now when the failure is worth a retry and
/// the schedule has one left, else FAILED.
pub async fn record_attempt(
    db: &DatabaseConnection,
    delivery: &webhook_delivery::Model,
    outcome: &Outcome,
    retry_in: Option<chrono::Duration>,
) -> AppResult<()> {
    let txn = crate::db::write(db).await?;
    let at = now();
    let number = delivery.attempts + 1;
    let succeeded = outcome.succeeded();
    let error = match (&outcome.error, outcome.status_code) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(code)) if !succeeded => Some(format!("the receiver answered {code}")),
        _ => None,
    };
    webhook_attempt::ActiveModel {
        delivery_id: Set(delivery.id),
        number: Set(number),
        attempted_at: Set(at),
        duration_ms: Set(outcome.duration_ms),
        status_code: Set(outcome.status_code.map(i32::from)),
        error: Set(error.clone()),
        succeeded: Set(succeeded),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let (status, next) = if succeeded {
        (DeliveryStatus::Succeeded, at)
    } else if let (true, Some(wait)) = (outcome.retryable(), retry_in) {
        (DeliveryStatus::Pending, at + wait)
    } else {
        (DeliveryStatus::Failed, at)
    };
    let mut row: webhook_delivery::ActiveModel = delivery.clone().into();
    row.status = Set(status.as_str().to_owned());
    row.attempts = Set(number);
    row.next_attempt_at = Set(next);
    row.last_attempt_at = Set(Some(at));
    row.last_status_code = Set(outcome.status_code.map(i32::from));
    row.last_error = Set(error);
    row.delivered_at = Set(succeeded.then_some(at));
    row.updated_at = Set(at);
    row.update(&txn).await?;
    txn.commit().await?;
    let outcome = if succeeded {
        "delivered"
    } else if status == DeliveryStatus::Failed {
        "failed"
    } else {
        "retry"
    };
    metrics::counter!("rapport_webhook_attempts_total", "outcome" => outcome).increment(1);
    Ok(())
}

/// Announces the open tickets whose SLA target is breached (`crate::rules::sla`)
/// and the promises and tasks past due that no event announced yet (once per
/// ticket and target, once per promise or task and due date).
pub async fn sweep(db: &DatabaseConnection) -> AppResult<usize> {
    let dialect = Dialect::of(db);
    let at = now();
    let mut events = sla_breaches(db, dialect, at).await?;
    events.extend(overdue_commitments(db, dialect, at).await?);
    events.extend(overdue_tasks(db, dialect, at).await?);
    if events.is_empty() {
        return Ok(0);
    }
    let txn = crate::db::write(db).await?;
    let written = emit(&txn, &events).await?;
    txn.commit().await?;
    Ok(written)
}

/// The breaches of open tickets not yet announced, one event per ticket and
/// target; the SQL narrows the candidates, the one rule decides.
async fn sla_breaches(db: &DatabaseConnection, dialect: Dialect, at: DateTime<Utc>) -> AppResult<Vec<Event>> {
    let unannounced = |kind: EventType, occurrence: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM webhook_event e WHERE e.event_type = '{}' AND e.subject_id = ticket.id \
             AND e.occurrence = {occurrence})",
            kind.as_str()
        )
    };
    let now = dialect.instant(at);
    let (first_breached, resolution_breached) =
        (sla::first_response_breached_sql("ticket", &now), sla::resolution_breached_sql("ticket", &now));
    let breached = format!(
        "SELECT id, customer_id, first_responded_at, first_response_due_at, resolved_at, resolution_due_at \
         FROM ticket WHERE archived_at IS NULL AND {open} AND ( \
           ({first_breached} AND {first}) OR ({resolution_breached} AND {resolution})) \
         ORDER BY id LIMIT {SWEEP_BATCH}",
        open = sla::OPEN_STATUS_CONDITION,
        first = unannounced(EventType::TicketSlaBreached, "'first_response'"),
        resolution = unannounced(EventType::TicketSlaBreached, "'resolution'"),
    );
    let mut events = Vec::new();
    for row in dialect.rows(db, breached).await? {
        let (id, customer) = (int(&row, "id")?, int(&row, "customer_id")?);
        let first_due = timestamp(&row, "first_response_due_at")?;
        let resolution_due = timestamp(&row, "resolution_due_at")?;
        let responded = timestamp(&row, "first_responded_at")?;
        let resolved = timestamp(&row, "resolved_at")?;
        // The one rule (`crate::rules::sla`): missed, or answered late.
        let missed = |due: Option<DateTime<Utc>>, done: Option<DateTime<Utc>>| {
            due.is_some_and(|due| done.map_or(at > due, |done| done > due))
        };
        let mut breach = |target: &str, due: Option<DateTime<Utc>>| {
            let data = json!({
                "ticketId": gid::encode("Ticket", id),
                "customerId": gid::encode("Customer", customer),
                "target": target.to_uppercase(),
                "dueAt": due.map(|d| d.to_rfc3339()),
            });
            events.push(Event {
                occurrence: Some(target.to_owned()),
                ..Event::new(EventType::TicketSlaBreached, id, data)
            });
        };
        if missed(first_due, responded) {
            breach("first_response", first_due);
        }
        if missed(resolution_due, resolved) {
            breach("resolution", resolution_due);
        }
    }
    Ok(events)
}

/// The open tasks past due not yet announced for their current due date
/// (`crate::service::tasks::is_overdue` in SQL): a task moved to a later date
/// and missed again is announced again.
async fn overdue_tasks(db: &DatabaseConnection, dialect: Dialect, at: DateTime<Utc>) -> AppResult<Vec<Event>> {
    let overdue = format!(
        "SELECT t.id, t.customer_id, t.owner_id, t.due_on FROM task t JOIN customer c ON c.id = t.customer_id \
         WHERE {overdue} AND {live} \
           AND NOT EXISTS (SELECT 1 FROM webhook_event e WHERE e.event_type = '{kind}' \
             AND e.subject_id = t.id AND e.occurrence = {occurrence}) \
         ORDER BY t.id LIMIT {SWEEP_BATCH}",
        overdue = crate::rules::overdue_task_sql("t", &dialect.date(at.date_naive())),
        live = crate::rules::live_customer_sql("c"),
        kind = EventType::TaskOverdue.as_str(),
        occurrence = dialect.text_of_date("t.due_on"),
    );
    let mut events = Vec::new();
    for row in dialect.rows(db, overdue).await? {
        let (id, customer, owner) = (int(&row, "id")?, int(&row, "customer_id")?, int(&row, "owner_id")?);
        let due = date(&row, "due_on")?;
        let data = json!({
            "taskId": gid::encode("Task", id),
            "customerId": gid::encode("Customer", customer),
            "ownerId": gid::encode("User", owner),
            "dueOn": due.map(|d| d.to_string()),
        });
        events.push(Event { occurrence: due.map(|d| d.to_string()), ..Event::new(EventType::TaskOverdue, id, data) });
    }
    Ok(events)
}

/// The unfulfilled promises past due not yet announced for their current due
/// date: a promise moved to a later date and missed again is announced again.
async fn overdue_commitments(db: &DatabaseConnection, dialect: Dialect, at: DateTime<Utc>) -> AppResult<Vec<Event>> {
    let overdue = format!(
        "SELECT t.id, t.customer_id, t.due_on, t.amount_cents FROM commitment t \
         WHERE {overdue} \
           AND NOT EXISTS (SELECT 1 FROM webhook_event e WHERE e.event_type = '{kind}' \
             AND e.subject_id = t.id AND e.occurrence = {occurrence}) \
         ORDER BY t.id LIMIT {SWEEP_BATCH}",
        overdue = crate::rules::overdue_commitment_sql("t", &dialect.date(at.date_naive())),
        kind = EventType::CommitmentOverdue.as_str(),
        occurrence = dialect.text_of_date("t.due_on"),
    );
    let mut events = Vec::new();
    for row in dialect.rows(db, overdue).await? {
        let (id, customer) = (int(&row, "id")?, int(&row, "customer_id")?);
        let due = date(&row, "due_on")?;
        let amount = row.try_get::<Option<i64>>("", "amount_cents")?;
        let data = json!({
            "commitmentId": gid::encode("Commitment", id),
            "customerId": gid::encode("Customer", customer),
            "dueOn": due.map(|d| d.to_string()),
            "amountCents": amount,
        });
        events.push(Event {
            occurrence: due.map(|d| d.to_string()),
            ..Event::new(EventType::CommitmentOverdue, id, data)
        });
    }
    Ok(events)
}
