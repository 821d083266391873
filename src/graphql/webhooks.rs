//! Webhook endpoints and deliveries in the API (ADMIN only).

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint, webhook_event};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::OnceCell;

use crate::{
    error::AppError,
    graphql::{
        loaders::page_cost,
        support::{
            context::request,
            ids,
            pagination::{Conn, PageArgs, connection, order_by},
            patch::patch,
        },
    },
    service::{
        outbox::{DeliveryStatus, EventType},
        webhooks::{self as service, EndpointChanges},
    },
};

/// An event a webhook announces (the payload's `type` is in parentheses).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::service::outbox::EventType")]
pub enum WebhookEventType {
    /// A ticket was opened (`ticket.created`).
    TicketCreated,
    /// A ticket moved to another status (`ticket.status_changed`).
    TicketStatusChanged,
    /// A ticket passed its first-response or resolution target (`ticket.sla_breached`).
    TicketSlaBreached,
    /// A customer was marked lost (`customer.lost`).
    CustomerLost,
    /// A lost customer was won back (`customer.won_back`).
    CustomerWonBack,
    /// A customer got a new owner (`customer.reassigned`).
    CustomerReassigned,
    /// Duplicates were merged into a customer (`customer.merged`: `customerId` the survivor, `mergedIds` the
    /// customers merged into it, now archived).
    CustomerMerged,
    /// A commitment passed its due date unfulfilled (`commitment.overdue`).
    CommitmentOverdue,
    /// A customer's health level changed (`health.level_changed`).
    HealthLevelChanged,
    /// A task was created, by hand, by a playbook or from a follow-up (`task.created`).
    TaskCreated,
    /// An open task passed its due date (`task.overdue`).
    TaskOverdue,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::service::outbox::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt (see `nextAttemptAt`).
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Given up: retries exhausted, or the receiver refused it (a 4xx other than 408 or 429).
    Failed,
}

/// A URL that receives signed webhooks (Standard Webhooks).
pub struct WebhookEndpoint(webhook_endpoint::Model);

/// A URL that receives signed webhooks (Standard Webhooks). Its secret is
/// shown only when it is created or rotated.
#[Object]
impl WebhookEndpoint {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("WebhookEndpoint", self.0.id)
    }
    /// Where events are posted.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The events it receives; null means every event type.
    async fn event_types(&self) -> Option<Vec<WebhookEventType>> {
        let names = self.0.event_types.trim();
        (!names.is_empty()).then(|| names.split_whitespace().filter_map(EventType::parse).map(Into::into).collect())
    }
    /// False once disabled: nothing is posted, and pending deliveries wait.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Until when the secret before the last rotation also signs (null when none does).
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        service::previous_secret(&self.0, crate::db::now()).and(self.0.previous_secret_until)
    }
    /// Version, for optimistic locking.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new endpoint or secret, with the secret: store it now, it is never shown again.
#[derive(SimpleObject)]
pub struct WebhookEndpointCreated {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_` and base64), for the receiver's Standard Webhooks library.
    pub secret: String,
}

/// One attempt at a delivery.
#[derive(SimpleObject)]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub number: i32,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The receiver's HTTP status; null when no answer came (network error, timeout).
    pub status_code: Option<i32>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The receiver answered 2xx.
    pub succeeded: bool,
}

impl From<webhook_attempt::Model> for WebhookAttempt {
    fn from(m: webhook_attempt::Model) -> Self {
        Self {
            number: m.number,
            attempted_at: m.attempted_at,
            duration_ms: m.duration_ms,
            status_code: m.status_code,
            error: m.error,
            succeeded: m.succeeded,
        }
    }
}

/// What the deliveries of one page share: their attempts and events, each
/// read for the whole page in one statement the first time a row needs them.
struct PageRows {
    db: DatabaseConnection,
    deliveries: Vec<i64>,
    events: Vec<i64>,
    attempts: OnceCell<HashMap<i64, Vec<webhook_attempt::Model>>>,
    event_rows: OnceCell<HashMap<i64, webhook_event::Model>>,
}

impl PageRows {
    async fn attempts(&self) -> Result<&HashMap<i64, Vec<webhook_attempt::Model>>, AppError> {
        self.attempts
            .get_or_try_init(|| async {
                let mut by_delivery: HashMap<i64, Vec<webhook_attempt::Model>> = HashMap::new();
                for attempt in service::attempts_of(&self.db, &self.deliveries).await? {
                    by_delivery.entry(attempt.delivery_id).or_default().push(attempt);
                }
                Ok(by_delivery)
            })
            .await
    }

    async fn event(&self, id: i64) -> Result<Option<&webhook_event::Model>, AppError> {
        let events = self
            .event_rows
            .get_or_try_init(|| async {
                let rows = webhook_event::Entity::find()
                    .filter(webhook_event::Column::Id.is_in(self.events.iter().copied()))
                    .all(&self.db)
                    .await?;
                Ok::<_, AppError>(rows.into_iter().map(|e| (e.id, e)).collect())
            })
            .await?;
        Ok(events.get(&id))
    }
}

/// One event on its way to one endpoint.
pub struct WebhookDelivery {
    model: webhook_delivery::Model,
    page: Arc<PageRows>,
}

impl WebhookDelivery {
    fn page(db: &DatabaseConnection, rows: Vec<webhook_delivery::Model>) -> Vec<Self> {
        let page = Arc::new(PageRows {
            db: db.clone(),
            deliveries: rows.iter().map(|d| d.id).collect(),
            events: rows.iter().map(|d| d.event_id).collect(),
            attempts: OnceCell::new(),
            event_rows: OnceCell::new(),
        });
        rows.into_iter().map(|model| Self { model, page: page.clone() }).collect()
    }
}

/// One event on its way to one endpoint: its status and every attempt.
#[Object]
impl WebhookDelivery {
    /// Global ID (for `redeliverWebhook`).
    async fn id(&self) -> ID {
        ids::encode("WebhookDelivery", self.model.id)
    }
    /// The endpoint it goes to.
    async fn endpoint_id(&self) -> ID {
        ids::encode("WebhookEndpoint", self.model.endpoint_id)
    }
    /// The `webhook-id` header: the same on every attempt, for the receiver's de-duplication.
    async fn message_id(&self) -> String {
        format!("msg_{}", self.model.event_id)
    }
    /// What it announces.
    async fn event_type(&self) -> Result<Option<WebhookEventType>> {
        let event = self.page.event(self.model.event_id).await?;
        Ok(event.and_then(|e| EventType::parse(&e.event_type)).map(Into::into))
    }
    /// The JSON body posted (`type`, `timestamp`, `data`).
    async fn payload(&self) -> Result<Option<String>> {
        Ok(self.page.event(self.model.event_id).await?.map(|e| e.payload.clone()))
    }
    /// Where it stands.
    async fn status(&self) -> WebhookDeliveryStatus {
        DeliveryStatus::parse(&self.model.status).unwrap_or(DeliveryStatus::Pending).into()
    }
    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.model.attempts
    }
    /// When the next attempt is due (PENDING only).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (DeliveryStatus::parse(&self.model.status).unwrap_or(DeliveryStatus::Pending) == DeliveryStatus::Pending)
            .then_some(self.model.next_attempt_at)
    }
    /// The receiver's HTTP status at the last attempt.
    async fn last_status_code(&self) -> Option<i32> {
        self.model.last_status_code
    }
    /// Why the last attempt failed, when it did.
    async fn last_error(&self) -> Option<&str> {
        self.model.last_error.as_deref()
    }
    /// When the receiver accepted it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.model.delivered_at
    }
    /// When the event was announced.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// Every attempt, oldest first.
    async fn attempts(&self) -> Result<Vec<WebhookAttempt>> {
        let attempts = self.page.attempts().await?;
        Ok(attempts.get(&self.model.id).map(|a| a.iter().cloned().map(Into::into).collect()).unwrap_or_default())
    }
}

order_by!(
    /// Sort order of the deliveries.
    WebhookDeliveryOrder, WebhookDeliveryOrderField, webhook_delivery::Column,
    default(CreatedAt, Desc),
    {
        /// By when the event was announced.
        CreatedAt => webhook_delivery::Column::Id;
    }
);

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The webhook endpoints (ADMIN).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<WebhookEndpoint>> {
        let rc = request(ctx)?;
        let select = service::select_endpoints(&rc.viewer())?;
        let sort = WebhookEndpointOrder::default().sort(webhook_endpoint::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<webhook_endpoint::Model>| rows.into_iter().map(WebhookEndpoint).collect();
        Ok(connection(ctx, &rc.db, select, sort, args, |e| e.id, wrap).await?)
    }

    /// Deliveries and their attempts (ADMIN), newest first by default.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the deliveries to this endpoint.")] endpoint_id: Option<ID>,
        #[graphql(desc = "Only deliveries in this status.")] status: Option<WebhookDeliveryStatus>,
        #[graphql(desc = "Sort order (default: newest first).")] order_by: Option<WebhookDeliveryOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<WebhookDelivery>> {
        let rc = request(ctx)?;
        let endpoint_id = ids::decode_opt("WebhookEndpoint", "endpointId", endpoint_id.as_ref())?;
        let select = service::select_deliveries(&rc.viewer(), endpoint_id, status.map(Into::into))?;
        let sort = order_by.unwrap_or_default().sort(webhook_delivery::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let db = rc.db.clone();
        let wrap = move |rows: Vec<webhook_delivery::Model>| WebhookDelivery::page(&db, rows);
        Ok(connection(ctx, &rc.db, select, sort, args, |d| d.id, wrap).await?)
    }
}

order_by!(
    /// Sort order of the endpoints.
    WebhookEndpointOrder, WebhookEndpointOrderField, webhook_endpoint::Column,
    default(CreatedAt, Asc),
    {
        /// By creation.
        CreatedAt => webhook_endpoint::Column::Id;
    }
);

/// Changes to an endpoint; omitted fields stay as they are.
#[derive(InputObject)]
pub struct WebhookEndpointPatch {
    /// Where to post (checked like at creation).
    pub url: Option<String>,
    /// The events to receive; null for every type.
    pub event_types: MaybeUndefined<Vec<WebhookEventType>>,
    /// What it is for; null clears it.
    pub description: MaybeUndefined<String>,
    /// False stops deliveries (pending ones wait); true resumes them.
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint (ADMIN). Its URL must be http or https and, unless
    /// `RAPPORT_WEBHOOK_ALLOW_PRIVATE=true`, not a loopback, private,
    /// link-local or metadata address. Returns the signing secret, once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Where to post events.")] url: String,
        #[graphql(desc = "The events to receive; omitted means every type.")] event_types: Option<
            Vec<WebhookEventType>,
        >,
        #[graphql(desc = "What it is for.")] description: Option<String>,
    ) -> Result<WebhookEndpointCreated> {
        let rc = request(ctx)?;
        let types = event_types.map(|t| t.into_iter().map(Into::into).collect());
        let (endpoint, secret) = service::create(&rc.services, &rc.viewer(), &url, types, description).await?;
        Ok(WebhookEndpointCreated { endpoint: WebhookEndpoint(endpoint), secret })
    }

    /// Changes an endpoint (ADMIN).
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
        #[graphql(desc = "The changes.")] input: WebhookEndpointPatch,
        #[graphql(desc = "The version you read; CONFLICT if it changed since.")] expected_version: Option<i32>,
    ) -> Result<WebhookEndpoint> {
        let rc = request(ctx)?;
        let id = ids::decode("WebhookEndpoint", "id", &id)?;
        let changes = EndpointChanges {
            url: input.url,
            event_types: patch(input.event_types, |t| t.into_iter().map(Into::into).collect()),
            description: patch(input.description, |d| d),
            active: input.active,
        };
        Ok(WebhookEndpoint(service::update(&rc.services, &rc.viewer(), id, expected_version, changes).await?))
    }

    /// Stops deliveries to an endpoint (ADMIN); `updateWebhookEndpoint(active: true)` resumes them.
    async fn disable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
    ) -> Result<WebhookEndpoint> {
        let rc = request(ctx)?;
        let id = ids::decode("WebhookEndpoint", "id", &id)?;
        Ok(WebhookEndpoint(service::disable(&rc.services, &rc.viewer(), id).await?))
    }

    /// A new signing secret (ADMIN), returned once. For 24 hours messages carry
    /// signatures under both the new and the previous secret, so the receiver
    /// can switch without losing one.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
    ) -> Result<WebhookEndpointCreated> {
        let rc = request(ctx)?;
        let id = ids::decode("WebhookEndpoint", "id", &id)?;
        let (endpoint, secret) = service::rotate_secret(&rc.services, &rc.viewer(), id).await?;
        Ok(WebhookEndpointCreated { endpoint: WebhookEndpoint(endpoint), secret })
    }

    /// Sends a delivery again, now (ADMIN): one more attempt, recorded like the others.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The delivery.")] delivery_id: ID,
    ) -> Result<WebhookDelivery> {
        let rc = request(ctx)?;
        let id = ids::decode("WebhookDelivery", "deliveryId", &delivery_id)?;
        let model = service::redeliver(&rc.services, &rc.viewer(), id).await?;
        Ok(WebhookDelivery::page(&rc.db, vec![model])
            .into_iter()
            .next()
            .ok_or(AppError::NotFound("webhook delivery"))?)
    }
}
