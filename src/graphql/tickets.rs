//! Service tickets in the API.

/// Live ticket updates over WebSocket.
pub mod live;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{ticket, ticket_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        contacts::Contact,
        custom_fields::{CustomFieldInput, CustomFieldValue, given, values_of},
        customers::Customer,
        loaders::{LatestOf, listed, load},
        support::context::request,
        support::enums::{
            OrderDirection, SlaState, TicketCategory, TicketEventKind, TicketPriority, TicketStatus, to_domain,
        },
        support::ids,
        support::pagination::{Conn, PageArgs, Sort, connection},
        users::User,
    },
    rules::sla,
    service::{
        now,
        tickets::{self as service, NewTicket, TicketChanges, TicketFilter},
    },
};

listed!(
    /// A service ticket or complaint.
    Ticket,
    ticket::Model
);

impl crate::graphql::support::fast::Plain for Ticket {
    fn plain(&self, name: &str, _hidden: Option<crate::policy::HiddenFields>) -> Option<async_graphql::Value> {
        use crate::graphql::support::fast::{enumerated, global_id, opt_scalar, scalar, text};
        let m = &self.model;
        Some(match name {
            "id" => global_id("Ticket", m.id),
            "title" => text(&m.title),
            "description" => text(&m.description),
            "category" => enumerated(TicketCategory::from(m.category)),
            "priority" => enumerated(TicketPriority::from(m.priority)),
            "status" => enumerated(TicketStatus::from(m.status)),
            "firstResponseDueAt" => scalar(m.first_response_due_at),
            "resolutionDueAt" => scalar(m.resolution_due_at),
            "firstRespondedAt" => opt_scalar(m.first_responded_at),
            "resolvedAt" => opt_scalar(m.resolved_at),
            "version" => scalar(m.version),
            "createdAt" => scalar(m.created_at),
            "updatedAt" => scalar(m.updated_at),
            _ => return None,
        })
    }
}

/// A service ticket or complaint, with its SLA deadlines and history.
#[Object]
impl Ticket {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Ticket", self.model.id)
    }
    /// Short title.
    async fn title(&self) -> &str {
        &self.model.title
    }
    /// What happened.
    async fn description(&self) -> &str {
        &self.model.description
    }
    /// What it is about (the error audit counts these).
    async fn category(&self) -> TicketCategory {
        self.model.category.into()
    }
    /// Urgency.
    async fn priority(&self) -> TicketPriority {
        self.model.priority.into()
    }
    /// Life-cycle status.
    async fn status(&self) -> TicketStatus {
        self.model.status.into()
    }
    /// First response is due by (SLA, from priority and partnership tier).
    async fn first_response_due_at(&self) -> DateTime<Utc> {
        self.model.first_response_due_at
    }
    /// Resolution is due by (SLA).
    async fn resolution_due_at(&self) -> DateTime<Utc> {
        self.model.resolution_due_at
    }
    /// When our side first responded.
    async fn first_responded_at(&self) -> Option<DateTime<Utc>> {
        self.model.first_responded_at
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.model.resolved_at
    }
    /// Where the ticket stands against its SLA now.
    async fn sla_state(&self) -> SlaState {
        sla::state(&self.model, now()).into()
    }
    /// The first response came late, or is overdue.
    async fn first_response_breached(&self) -> bool {
        sla::first_response_breached(&self.model, now())
    }
    /// The resolution came late, or is overdue.
    async fn resolution_breached(&self) -> bool {
        sla::resolution_breached(&self.model, now())
    }
    /// Optimistic-locking version; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// When the ticket was opened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
    /// The company's own fields on this ticket that have a value, by key (see `customFieldDefinitions`).
    async fn custom_fields(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        let rc = request(ctx)?;
        values_of(rc, rc.loaders.custom_fields_by_ticket_id(), self.model.id).await
    }
    /// The customer (a service account needs `customers:read` for it).
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<ticket::Model>]| rows.iter().map(|t| t.customer_id).collect();
        let loader = rc.loaders.customer_by_id();
        Ok(load(self.siblings.as_deref(), "customer", loader, keys, self.model.customer_id).await?.map(Customer::one))
    }
    /// The contact who reported it (a service account needs `customers:read` for it).
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(contact_id) = self.model.contact_id else {
            return Ok(None);
        };
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<ticket::Model>]| rows.iter().filter_map(|t| t.contact_id).collect();
        let loader = rc.loaders.contact_by_id();
        Ok(load(self.siblings.as_deref(), "contact", loader, keys, contact_id).await?.map(Contact::one))
    }
    /// Who works on it.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(assignee) = self.model.assignee_id else {
            return Ok(None);
        };
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<ticket::Model>]| rows.iter().filter_map(|t| t.assignee_id).collect();
        let loader = rc.loaders.user_by_id();
        Ok(load(self.siblings.as_deref(), "assignee", loader, keys, assignee).await?.map(User::one))
    }
    /// The most recent history entries, newest first. For a list of tickets this is
    /// one statement for all of them; the full history is `events`.
    async fn recent_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5, desc = "How many, 1 to 20.")] first: i32,
    ) -> Result<Vec<TicketEvent>> {
        if !(1..=20).contains(&first) {
            return Err(crate::error::AppError::bad_input("first", "first must be between 1 and 20").into());
        }
        let limit = first as u8;
        let rc = request(ctx)?;
        let keys =
            |rows: &[std::sync::Arc<ticket::Model>]| rows.iter().map(|t| LatestOf { parent_id: t.id, limit }).collect();
        let key = LatestOf { parent_id: self.model.id, limit };
        let loader = rc.loaders.recent_events_by_ticket_id();
        let relation = if limit == 5 { "recentEvents5" } else { "recentEventsN" };
        let rows = load(self.siblings.as_deref(), relation, loader, keys, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(TicketEvent::from).collect())
    }
    /// The ticket's full history, oldest first, paginated. Meant for one ticket: in a
    /// list of tickets each one costs a statement; use `recentEvents` there.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<TicketEvent>> {
        let rc = request(ctx)?;
        let select = ticket_event::Entity::find().filter(ticket_event::Column::TicketId.eq(self.model.id));
        let sort = Sort::new(ticket_event::Column::Id, ticket_event::Column::Id, false);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<ticket_event::Model>| rows.into_iter().map(TicketEvent::from).collect();
        Ok(connection(ctx, &rc.db, select, sort, args, |e| e.id, wrap).await?)
    }
}

/// One entry of a ticket's append-only history.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TicketEvent {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// What happened.
    pub kind: TicketEventKind,
    /// Comment text.
    pub body: Option<String>,
    /// Previous value of a change.
    pub from_value: Option<String>,
    /// New value of a change.
    pub to_value: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub actor_id: i64,
}

#[async_graphql::ComplexObject]
impl TicketEvent {
    /// Who did it.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let rc = request(ctx)?;
        Ok(rc
            .loaders
            .user_by_id()
            .load_one(self.actor_id)
            .await
            .map_err(crate::graphql::loaders::load_error)?
            .map(User::one))
    }
}

impl From<ticket_event::Model> for TicketEvent {
    fn from(m: ticket_event::Model) -> Self {
        Self {
            id: ids::encode("TicketEvent", m.id),
            kind: m.kind.into(),
            body: m.body,
            from_value: m.from_value,
            to_value: m.to_value,
            created_at: m.created_at,
            actor_id: m.actor_id,
        }
    }
}

/// Filters of the ticket list.
#[derive(InputObject, Default)]
pub struct TicketFilterInput {
    /// Of this customer.
    pub customer_id: Option<ID>,
    /// Assigned to this user.
    pub assignee_id: Option<ID>,
    /// Any of these statuses.
    pub statuses: Option<Vec<TicketStatus>>,
    /// Any of these categories.
    pub categories: Option<Vec<TicketCategory>>,
    /// Any of these priorities.
    pub priorities: Option<Vec<TicketPriority>>,
    /// Only tickets that still need work.
    #[graphql(default)]
    pub open_only: bool,
    /// true: a deadline was missed; false: none was.
    pub breached: Option<bool>,
    /// Not resolved and due for resolution before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Opened at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Opened before.
    pub created_before: Option<DateTime<Utc>>,
}

/// Sortable fields of tickets.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketOrderField {
    /// By opening time.
    #[default]
    CreatedAt,
    /// By resolution deadline.
    ResolutionDueAt,
}

/// Sort order of the ticket list.
#[derive(InputObject, Default)]
pub struct TicketOrder {
    /// Field.
    #[graphql(default)]
    pub field: TicketOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct TicketQuery;

#[Object]
impl TicketQuery {
    /// Tickets of the customers you can see (default: oldest first).
    #[graphql(guard = "guards::TICKETS", complexity = "page_cost(first, last, child_complexity)")]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<TicketFilterInput>,
        #[graphql(desc = "Sort order; ties are broken by ID.")] order_by: Option<TicketOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Ticket>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = TicketFilter {
            customer_id: ids::decode_opt("Customer", "customerId", f.customer_id.as_ref())?,
            assignee_id: ids::decode_opt("User", "assigneeId", f.assignee_id.as_ref())?,
            statuses: to_domain(f.statuses),
            categories: to_domain(f.categories),
            priorities: to_domain(f.priorities),
            open_only: f.open_only,
            breached: f.breached,
            due_before: f.due_before,
            created_after: f.created_after,
            created_before: f.created_before,
            include_archived: false,
        };
        let order = order_by.unwrap_or_default();
        let column = match order.field {
            TicketOrderField::CreatedAt => ticket::Column::CreatedAt,
            TicketOrderField::ResolutionDueAt => ticket::Column::ResolutionDueAt,
        };
        let sort = Sort::new(column, ticket::Column::Id, order.direction.descending());
        let args = PageArgs::new(first, after, last, before);
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |t| t.id, Ticket::page).await?)
    }
}

/// A new ticket.
#[derive(InputObject)]
pub struct CreateTicketInput {
    /// The customer.
    pub customer_id: ID,
    /// The reporting contact (of that customer).
    pub contact_id: Option<ID>,
    /// Who should work on it.
    pub assignee_id: Option<ID>,
    /// Short title, 1 to 200 characters.
    pub title: String,
    /// What happened.
    pub description: String,
    /// Category.
    pub category: TicketCategory,
    /// Priority (default MEDIUM).
    pub priority: Option<TicketPriority>,
    /// Custom field values (each key a ticket field); required fields must be given.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Changes to a ticket's fields.
#[derive(InputObject, Default)]
pub struct UpdateTicketInput {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Category.
    pub category: Option<TicketCategory>,
    /// Priority (recorded in the history).
    pub priority: Option<TicketPriority>,
    /// Assignee; `null` unassigns (recorded in the history).
    pub assignee_id: MaybeUndefined<ID>,
    /// Custom field values to set (null clears one; a required field cannot be cleared); the others stay.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A comment and the ticket after it.
#[derive(SimpleObject)]
pub struct CommentPayload {
    /// The ticket after the comment.
    pub ticket: Ticket,
    /// The history entry of the comment.
    pub event: TicketEvent,
}

#[derive(Default)]
pub struct TicketMutation;

#[Object]
impl TicketMutation {
    /// Opens a ticket; SLA deadlines follow from its priority and the customer's tier.
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: CreateTicketInput,
    ) -> Result<Ticket> {
        let rc = request(ctx)?;
        let new = NewTicket {
            customer_id: ids::decode("Customer", "customerId", &input.customer_id)?,
            contact_id: ids::decode_opt("Contact", "contactId", input.contact_id.as_ref())?,
            assignee_id: ids::decode_opt("User", "assigneeId", input.assignee_id.as_ref())?,
            title: input.title,
            description: input.description,
            category: input.category.into(),
            priority: input.priority.unwrap_or(TicketPriority::Medium).into(),
            custom_fields: given(input.custom_fields),
        };
        let (ticket, _) = service::create(&rc.services, &rc.viewer(), new).await?;
        Ok(Ticket::one(ticket))
    }

    /// Updates a ticket's fields. A stale `expectedVersion` is a CONFLICT.
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: i32,
        #[graphql(desc = "The changes: omitted fields stay as they are, `null` clears a field.")]
        input: UpdateTicketInput,
    ) -> Result<Ticket> {
        let rc = request(ctx)?;
        let id = ids::decode("Ticket", "id", &id)?;
        let assignee_id = match input.assignee_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(a) => Some(Some(ids::decode("User", "assigneeId", &a)?)),
        };
        let changes = TicketChanges {
            title: input.title,
            description: input.description,
            category: input.category.map(Into::into),
            priority: input.priority.map(Into::into),
            assignee_id,
            custom_fields: given(input.custom_fields),
        };
        let (ticket, _) = service::update(&rc.services, &rc.viewer(), id, expected_version, changes).await?;
        Ok(Ticket::one(ticket))
    }

    /// Comments on a ticket; the first comment is the first response.
    async fn comment_on_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: i32,
        #[graphql(desc = "The comment text.")] body: String,
    ) -> Result<CommentPayload> {
        let rc = request(ctx)?;
        let id = ids::decode("Ticket", "id", &id)?;
        let (ticket, event) = service::comment(&rc.services, &rc.viewer(), id, expected_version, body).await?;
        Ok(CommentPayload { ticket: Ticket::one(ticket), event: event.into() })
    }

    /// Moves a ticket through its life cycle: OPEN, IN_PROGRESS, WAITING_ON_CUSTOMER,
    /// RESOLVED, CLOSED (only from RESOLVED), REOPENED (only from RESOLVED or CLOSED).
    /// Any other move is a CONFLICT whose `extensions.allowed` lists the allowed states.
    async fn change_ticket_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: i32,
        #[graphql(desc = "The new status.")] status: TicketStatus,
        #[graphql(desc = "Recorded as a comment with the change.")] comment: Option<String>,
    ) -> Result<Ticket> {
        let rc = request(ctx)?;
        let id = ids::decode("Ticket", "id", &id)?;
        let (ticket, _) =
            service::change_status(&rc.services, &rc.viewer(), id, expected_version, status.into(), comment).await?;
        Ok(Ticket::one(ticket))
    }
}
