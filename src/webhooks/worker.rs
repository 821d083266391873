//! The delivery worker, one per instance.
//!
//! Each round claims due deliveries: on PostgreSQL with `FOR UPDATE SKIP
//! LOCKED`, so instances sharing a database never claim the same delivery,
//! and by moving the claimed rows' next attempt a lease ahead, so a delivery
//! whose instance died mid-flight is taken up again when the lease ends.
//! Each is posted with a timeout; every attempt is recorded. Network errors,
//! timeouts, 408, 429 and 5xx are retried on the configured schedule (about a
//! day by default) with ±20% jitter, after which the delivery is FAILED; any
//! other answer outside 2xx fails it at once (the receiver refused it).
//!
//! The worker also sweeps for events that no write announces because time
//! makes them: a ticket past its SLA, a promise past its due date.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint, webhook_event};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{LockBehavior, LockType},
};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::db::Dialect;
use crate::db::rows::{date, int, timestamp};
use crate::{
    config::WebhookConfig,
    error::AppResult,
    gid,
    service::{
        now,
        webhooks::{DeliveryStatus, Event, EventType, emit, previous_secret},
    },
    webhooks::{address, signing},
};

/// Deliveries claimed per round.
const BATCH: u64 = 16;
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

/// Posts due deliveries until stopped.
pub struct Worker {
    db: DatabaseConnection,
    config: WebhookConfig,
    client: reqwest::Client,
    handle: WebhookHandle,
}

/// How one attempt ended.
struct Outcome {
    status_code: Option<u16>,
    error: Option<String>,
    duration_ms: i64,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }

    /// Worth another attempt: no answer, or an answer that says "later".
    fn retryable(&self) -> bool {
        match self.status_code {
            None => true,
            Some(code) => code >= 500 || code == 408 || code == 429,
        }
    }
}

impl Worker {
    pub fn new(db: DatabaseConnection, config: WebhookConfig, handle: WebhookHandle) -> anyhow::Result<Self> {
        let client = client(&config, None)?;
        Ok(Self { db, config, client, handle })
    }

    pub async fn run(self) {
        let mut stop = self.handle.stop.subscribe();
        let mut swept: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            if swept.is_none_or(|at| at.elapsed() >= self.config.sweep) {
                if let Err(err) = self.sweep().await {
                    tracing::warn!(error = %err, "webhook sweep failed; retrying");
                }
                swept = Some(tokio::time::Instant::now());
            }
            loop {
                match self.round().await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "webhook delivery round failed; retrying");
                        break;
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = self.handle.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Claims and posts one batch; returns how many were claimed.
    async fn round(&self) -> AppResult<usize> {
        let claimed = self.claim().await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let events: std::collections::HashMap<i64, webhook_event::Model> = webhook_event::Entity::find()
            .filter(webhook_event::Column::Id.is_in(claimed.iter().map(|d| d.event_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let endpoints: std::collections::HashMap<i64, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(claimed.iter().map(|d| d.endpoint_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let posts = claimed.iter().filter_map(|d| Some((d, events.get(&d.event_id)?, endpoints.get(&d.endpoint_id)?)));
        let results = futures_util::future::join_all(posts.map(|(d, event, endpoint)| async move {
            let outcome = self.post(event, endpoint).await;
            self.settle(d, outcome).await
        }))
        .await;
        for result in results {
            result?;
        }
        Ok(claimed.len())
    }

    /// Due deliveries of active endpoints, leased to this instance.
    async fn claim(&self) -> AppResult<Vec<webhook_delivery::Model>> {
        let txn = crate::db::write(&self.db).await?;
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
        if Dialect::of(&self.db).postgres() {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let claimed = query.all(&txn).await?;
        if !claimed.is_empty() {
            let lease =
                at + chrono::Duration::from_std(self.config.timeout * 2 + Duration::from_secs(1)).unwrap_or_default();
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(lease))
                .filter(webhook_delivery::Column::Id.is_in(claimed.iter().map(|d| d.id)))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(claimed)
    }

    /// One attempt: the Standard Webhooks headers over the stored payload.
    async fn post(&self, event: &webhook_event::Model, endpoint: &webhook_endpoint::Model) -> Outcome {
        let started = std::time::Instant::now();
        let elapsed = |started: std::time::Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let checked = match address::check(&endpoint.url, self.config.allow_private).await {
            Ok(checked) => checked,
            Err(reason) => return Outcome { status_code: None, error: Some(reason), duration_ms: elapsed(started) },
        };
        // A host name connects to the addresses just checked, not to a fresh resolution.
        let client = match &checked.pinned {
            None => self.client.clone(),
            Some((host, addresses)) => match client(&self.config, Some((host, addresses))) {
                Ok(client) => client,
                Err(err) => {
                    return Outcome { status_code: None, error: Some(err.to_string()), duration_ms: elapsed(started) };
                }
            },
        };
        let at = now();
        let id = format!("msg_{}", event.id);
        let timestamp = at.timestamp();
        let secrets = std::iter::once(endpoint.secret.as_str()).chain(previous_secret(endpoint, at));
        let signature = signing::signature_header(secrets, &id, timestamp, &event.payload);
        let sent = client
            .post(checked.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(event.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                Outcome { status_code: Some(response.status().as_u16()), error: None, duration_ms: elapsed(started) }
            }
            Err(err) => {
                let error = if err.is_timeout() { "timed out".to_owned() } else { without_url(err) };
                Outcome { status_code: None, error: Some(error), duration_ms: elapsed(started) }
            }
        }
    }

    /// Records the attempt and decides what comes next, in one transaction.
    async fn settle(&self, delivery: &webhook_delivery::Model, outcome: Outcome) -> AppResult<()> {
        let txn = crate::db::write(&self.db).await?;
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
        let retry = usize::try_from(delivery.attempts).ok().and_then(|n| self.config.retries.get(n));
        let (status, next) = if succeeded {
            (DeliveryStatus::Succeeded, at)
        } else if let (true, Some(wait)) = (outcome.retryable(), retry) {
            (DeliveryStatus::Pending, at + jittered(*wait))
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

    /// Announces the tickets past an SLA target and the promises past due
    /// that no event announced yet (once per ticket and target, once per
    /// promise and due date).
    pub async fn sweep(&self) -> AppResult<usize> {
        let dialect = Dialect::of(&self.db);
        let at = now();
        let unannounced = |kind: EventType, occurrence: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM webhook_event e WHERE e.event_type = '{}' AND e.subject_id = ticket.id \
                 AND e.occurrence = {occurrence})",
                kind.name()
            )
        };
        let breached = format!(
            "SELECT id, customer_id, first_responded_at, first_response_due_at, resolution_due_at \
             FROM ticket WHERE archived_at IS NULL AND {open} AND ( \
               (first_responded_at IS NULL AND first_response_due_at < {now} AND {first}) \
               OR (resolution_due_at < {now} AND {resolution})) \
             ORDER BY id LIMIT {SWEEP_BATCH}",
            open = crate::service::tickets::OPEN_STATUS_CONDITION,
            now = dialect.instant(at),
            first = unannounced(EventType::TicketSlaBreached, "'first_response'"),
            resolution = unannounced(EventType::TicketSlaBreached, "'resolution'"),
        );
        let mut events = Vec::new();
        for row in dialect.rows(&self.db, breached).await? {
            let (id, customer) = (int(&row, "id")?, int(&row, "customer_id")?);
            let first_due = timestamp(&row, "first_response_due_at")?;
            let resolution_due = timestamp(&row, "resolution_due_at")?;
            let responded = timestamp(&row, "first_responded_at")?;
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
            if responded.is_none() && first_due.is_some_and(|d| d < at) {
                breach("first_response", first_due);
            }
            if resolution_due.is_some_and(|d| d < at) {
                breach("resolution", resolution_due);
            }
        }
        let overdue = format!(
            "SELECT t.id, t.customer_id, t.due_on, t.amount_cents FROM commitment t \
             WHERE t.archived_at IS NULL AND t.fulfilled_on IS NULL AND t.due_on < {today} \
               AND NOT EXISTS (SELECT 1 FROM webhook_event e WHERE e.event_type = '{kind}' \
                 AND e.subject_id = t.id AND e.occurrence = {occurrence}) \
             ORDER BY t.id LIMIT {SWEEP_BATCH}",
            today = dialect.date(at.date_naive()),
            kind = EventType::CommitmentOverdue.name(),
            occurrence = dialect.text_of_date("t.due_on"),
        );
        for row in dialect.rows(&self.db, overdue).await? {
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
        if events.is_empty() {
            return Ok(0);
        }
        let txn = crate::db::write(&self.db).await?;
        let written = emit(&txn, &events).await?;
        txn.commit().await?;
        Ok(written)
    }
}

/// The HTTP client of deliveries, optionally held to checked addresses of a host.
fn client(
    config: &WebhookConfig,
    pinned: Option<(&String, &Vec<std::net::SocketAddr>)>,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Rapport-Webhooks/1");
    if let Some((host, addresses)) = pinned {
        builder = builder.resolve_to_addrs(host, addresses);
    }
    builder.build()
}

/// A wait stretched or shrunk by up to 20%, so retries of many deliveries spread out.
fn jittered(wait: Duration) -> chrono::Duration {
    let factor = rand::rng().random_range(0.8..=1.2);
    chrono::Duration::from_std(wait.mul_f64(factor)).unwrap_or_else(|_| chrono::Duration::days(1))
}

/// A transport error without the URL (it may carry a token in its query).
fn without_url(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut cause = std::error::Error::source(&err);
    let mut detail = err.to_string();
    while let Some(inner) = cause {
        detail = format!("{detail}: {inner}");
        cause = inner.source();
    }
    detail
}
