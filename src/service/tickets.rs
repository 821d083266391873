//! Service tickets and complaints: life cycle, SLA deadlines and the
//! append-only history written in the same transaction as each change.

use chrono::{DateTime, Utc};
use entity::{
    enums::{CustomFieldEntity, TicketCategory, TicketEventKind, TicketPriority, TicketStatus},
    ticket, ticket_event,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set, sea_query::Expr};
use serde_json::json;

use crate::service::custom_fields::{self, Given};
use crate::service::write::{Effect, Write};
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        Services, audit,
        changes::{Change, ChangeEntity, Operation},
        contacts, now,
        outbox::Event,
        update_versioned, validate,
    },
};

pub use crate::rules::sla::{OPEN_STATUS_CONDITION, OPEN_STATUSES};

/// The life cycle: which statuses may follow each status.
pub fn allowed_next(from: TicketStatus) -> &'static [TicketStatus] {
    use TicketStatus::*;
    match from {
        Open => &[InProgress, WaitingOnCustomer, Resolved],
        InProgress => &[WaitingOnCustomer, Resolved],
        WaitingOnCustomer => &[InProgress, Resolved],
        Resolved => &[Closed, Reopened],
        Closed => &[Reopened],
        Reopened => &[InProgress, WaitingOnCustomer, Resolved],
    }
}

#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub customer_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub statuses: Vec<TicketStatus>,
    pub categories: Vec<TicketCategory>,
    pub priorities: Vec<TicketPriority>,
    pub open_only: bool,
    /// Some(true): a deadline was missed; Some(false): none was.
    pub breached: Option<bool>,
    /// Not resolved and due for resolution before this time.
    pub due_before: Option<DateTime<Utc>>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub include_archived: bool,
}

pub fn select(viewer: &Viewer, filter: &TicketFilter) -> Select<ticket::Entity> {
    let mut query = ticket::Entity::find().filter(policy::visible_tickets(viewer));
    if !filter.include_archived {
        query = query.filter(ticket::Column::ArchivedAt.is_null());
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(ticket::Column::CustomerId.eq(customer));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(ticket::Column::AssigneeId.eq(assignee));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(ticket::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if filter.open_only {
        query = query.filter(Expr::cust(OPEN_STATUS_CONDITION));
    }
    if !filter.categories.is_empty() {
        query = query.filter(ticket::Column::Category.is_in(filter.categories.iter().copied()));
    }
    if !filter.priorities.is_empty() {
        query = query.filter(ticket::Column::Priority.is_in(filter.priorities.iter().copied()));
    }
    if let Some(breached) = filter.breached {
        query = query.filter(crate::rules::sla::breached_condition(now(), breached));
    }
    if let Some(due) = filter.due_before {
        query = query.filter(ticket::Column::ResolvedAt.is_null()).filter(ticket::Column::ResolutionDueAt.lt(due));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(ticket::Column::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(ticket::Column::CreatedAt.lt(before));
    }
    query
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub category: TicketCategory,
    pub priority: TicketPriority,
    /// Custom field values (`crate::service::custom_fields`).
    pub custom_fields: Vec<Given>,
}

#[derive(Debug, Clone, Default)]
pub struct TicketChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<TicketCategory>,
    pub priority: Option<TicketPriority>,
    pub assignee_id: Option<Option<i64>>,
    /// Custom field values to set (null clears one).
    pub custom_fields: Vec<Given>,
}

/// A ticket after a change, with the history entries the change wrote.
pub type Changed = (ticket::Model, Vec<ticket_event::Model>);

async fn check_assignee(db: &impl ConnectionTrait, viewer: &Viewer, assignee_id: i64) -> AppResult<()> {
    policy::assignable_user(db, viewer, assignee_id, "assigneeId").await.map(|_| ())
}

/// Appends one entry to a ticket's history; call it inside the change's transaction.
pub(crate) async fn add_event(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ticket_id: i64,
    kind: TicketEventKind,
    body: Option<String>,
    change: Option<(String, String)>,
) -> AppResult<ticket_event::Model> {
    add_event_at(db, viewer, ticket_id, kind, body, change, now()).await
}

/// [`add_event`] at a past time: the history of a ticket brought in by an import.
pub(crate) async fn add_event_at(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ticket_id: i64,
    kind: TicketEventKind,
    body: Option<String>,
    change: Option<(String, String)>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<ticket_event::Model> {
    let (from, to) = change.map_or((None, None), |(f, t)| (Some(f), Some(t)));
    Ok(ticket_event::ActiveModel {
        ticket_id: Set(ticket_id),
        kind: Set(kind),
        actor_id: Set(viewer.user_id),
        body: Set(body),
        from_value: Set(from),
        to_value: Set(to),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Opens a ticket, writes its first history entry and publishes it.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(
    svc: &Services,
    viewer: &Viewer,
    input: NewTicket,
) -> AppResult<(ticket::Model, ticket_event::Model)> {
    policy::ensure_can_write(viewer)?;
    let title = validate::required_text("title", &input.title, 200)?;
    let description = validate::required_text("description", &input.description, 20_000)?;
    let mut w = Write::begin(svc, viewer).await?;
    let customer = policy::writable_customer(&*w, viewer, input.customer_id).await?;
    if let Some(contact_id) = input.contact_id {
        contacts::ensure_of_customer(&*w, customer.id, contact_id).await?;
    }
    if let Some(assignee) = input.assignee_id {
        check_assignee(&*w, viewer, assignee).await?;
    }
    let custom = custom_fields::checked(&*w, CustomFieldEntity::Ticket, &input.custom_fields, true).await?;
    let at = now();
    let (response_due, resolution_due) = svc.config.sla.due(input.priority, customer.tier, at);
    let model = ticket::ActiveModel {
        customer_id: Set(customer.id),
        contact_id: Set(input.contact_id),
        assignee_id: Set(input.assignee_id),
        title: Set(title),
        description: Set(description),
        category: Set(input.category),
        priority: Set(input.priority),
        status: Set(TicketStatus::Open),
        first_response_due_at: Set(response_due),
        resolution_due_at: Set(resolution_due),
        first_responded_at: Set(None),
        resolved_at: Set(None),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    let event = add_event(&*w, viewer, model.id, TicketEventKind::Created, None, None).await?;
    let custom = custom_fields::store(&*w, CustomFieldEntity::Ticket, model.id, custom).await?;
    w.audit("create", "ticket", model.id, custom_fields::audited(json!({"customerId": customer.id}), custom));
    w.announce([Event::ticket_created(&model)]);
    w.changes([Change::new(ChangeEntity::Ticket, model.id, Operation::Created, customer.id)]);
    w.after(Effect::Publish(vec![event.id]));
    w.commit(svc).await?;
    Ok((model, event))
}

async fn writable(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<ticket::Model> {
    policy::writable::<ticket::Entity>(db, viewer, (ticket::Column::Id, ticket::Column::CustomerId), id, "ticket").await
}

/// Publishes the history entries a change wrote, once it commits.
fn publish(w: &mut Write, events: &[ticket_event::Model]) {
    w.after(Effect::Publish(events.iter().map(|e| e.id).collect()));
}

/// Writes the ticket row (checked against `expected_version`), then reloads it.
async fn save(
    txn: &impl ConnectionTrait,
    mut row: ticket::ActiveModel,
    current: &ticket::Model,
) -> AppResult<ticket::Model> {
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    update_versioned::<ticket::Entity>(
        txn,
        row,
        (ticket::Column::Id, current.id),
        (ticket::Column::Version, current.version),
        "ticket",
    )
    .await
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: i32,
    changes: TicketChanges,
) -> AppResult<Changed> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    validate::version("ticket", Some(expected_version), current.version)?;
    let custom = custom_fields::checked(&*w, CustomFieldEntity::Ticket, &changes.custom_fields, false).await?;
    let mut row = ticket::ActiveModel { ..Default::default() };
    let mut changed = Vec::new();
    let mut events = Vec::new();
    if let Some(title) = changes.title {
        row.title = Set(validate::required_text("title", &title, 200)?);
        changed.push("title");
    }
    if let Some(description) = changes.description {
        row.description = Set(validate::required_text("description", &description, 20_000)?);
        changed.push("description");
    }
    if let Some(category) = changes.category {
        row.category = Set(category);
        changed.push("category");
    }
    if let Some(priority) = changes.priority.filter(|p| *p != current.priority) {
        row.priority = Set(priority);
        changed.push("priority");
        // The deadlines follow the new priority (`sla::reprioritised`).
        let tier = entity::customer::Entity::find_by_id(current.customer_id).one(&*w).await?.and_then(|c| c.tier);
        let (response, resolution) = crate::rules::sla::reprioritised(&svc.config.sla, &current, priority, tier, now());
        row.first_response_due_at = Set(response);
        row.resolution_due_at = Set(resolution);
        let change = (current.priority.as_str().to_owned(), priority.as_str().to_owned());
        events.push(add_event(&*w, viewer, id, TicketEventKind::PriorityChange, None, Some(change)).await?);
    }
    if let Some(assignee) = changes.assignee_id.filter(|a| *a != current.assignee_id) {
        if let Some(user_id) = assignee {
            check_assignee(&*w, viewer, user_id).await?;
        }
        row.assignee_id = Set(assignee);
        changed.push("assigneeId");
        let show = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
        let change = (show(current.assignee_id), show(assignee));
        events.push(add_event(&*w, viewer, id, TicketEventKind::Assignment, None, Some(change)).await?);
    }
    if changed.iter().any(|f| matches!(*f, "title" | "description" | "category")) {
        events.push(add_event(&*w, viewer, id, TicketEventKind::Updated, None, None).await?);
    }
    let updated = save(&*w, row, &current).await?;
    let custom = custom_fields::store(&*w, CustomFieldEntity::Ticket, id, custom).await?;
    w.audit("update", "ticket", id, custom_fields::audited(audit::diff(&current, &updated), custom));
    w.changes([Change::new(ChangeEntity::Ticket, id, Operation::Updated, current.customer_id)]);
    publish(&mut w, &events);
    w.commit(svc).await?;
    Ok((updated, events))
}

/// Adds a comment; the first comment from our side is the first response.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn comment(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: i32,
    body: String,
) -> AppResult<(ticket::Model, ticket_event::Model)> {
    policy::ensure_can_write(viewer)?;
    let body = validate::required_text("body", &body, 20_000)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    validate::version("ticket", Some(expected_version), current.version)?;
    let row = ticket::ActiveModel {
        first_responded_at: Set(current.first_responded_at.or(Some(now()))),
        ..Default::default()
    };
    let event = add_event(&*w, viewer, id, TicketEventKind::Comment, Some(body), None).await?;
    let updated = save(&*w, row, &current).await?;
    w.audit("comment", "ticket", id, json!({"eventId": event.id}));
    w.changes([Change::new(ChangeEntity::Ticket, id, Operation::Updated, current.customer_id)]);
    publish(&mut w, std::slice::from_ref(&event));
    w.commit(svc).await?;
    Ok((updated, event))
}

/// Moves a ticket through its life cycle; an optional comment is recorded with it.
/// A transition outside [`allowed_next`] is a CONFLICT naming the allowed states.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn change_status(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: i32,
    status: TicketStatus,
    comment: Option<String>,
) -> AppResult<Changed> {
    policy::ensure_can_write(viewer)?;
    let comment = validate::optional_text("comment", comment, 20_000)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = writable(&*w, viewer, id).await?;
    validate::version("ticket", Some(expected_version), current.version)?;
    let allowed = allowed_next(current.status);
    if !allowed.contains(&status) {
        return Err(AppError::Conflict {
            message: format!(
                "a {} ticket cannot become {}; allowed: {}",
                current.status.as_str(),
                status.as_str(),
                allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
            current_version: Some(current.version),
            allowed: allowed.iter().map(|s| s.as_str()).collect(),
        });
    }
    let at = now();
    let row = ticket::ActiveModel {
        status: Set(status),
        // A status change by our side is a response too.
        first_responded_at: Set(current.first_responded_at.or(Some(at))),
        resolved_at: Set(match status {
            TicketStatus::Resolved => Some(at),
            TicketStatus::Closed => current.resolved_at.or(Some(at)),
            _ => None,
        }),
        ..Default::default()
    };
    let change = (current.status.as_str().to_owned(), status.as_str().to_owned());
    let mut events = vec![add_event(&*w, viewer, id, TicketEventKind::StatusChange, None, Some(change)).await?];
    if let Some(body) = comment {
        events.push(add_event(&*w, viewer, id, TicketEventKind::Comment, Some(body), None).await?);
    }
    let updated = save(&*w, row, &current).await?;
    w.audit("status_change", "ticket", id, json!({"status": [current.status.as_str(), status.as_str()]}));
    w.announce([Event::ticket_status_changed(&updated, current.status.as_str())]);
    w.changes([Change::new(ChangeEntity::Ticket, id, Operation::Updated, current.customer_id)]);
    publish(&mut w, &events);
    w.commit(svc).await?;
    Ok((updated, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_only_follows_resolved_and_reopened_only_follows_resolution() {
        for from in [
            TicketStatus::Open,
            TicketStatus::InProgress,
            TicketStatus::WaitingOnCustomer,
            TicketStatus::Reopened,
            TicketStatus::Closed,
        ] {
            assert!(!allowed_next(from).contains(&TicketStatus::Closed), "{from:?} -> CLOSED");
        }
        for from in
            [TicketStatus::Open, TicketStatus::InProgress, TicketStatus::WaitingOnCustomer, TicketStatus::Reopened]
        {
            assert!(!allowed_next(from).contains(&TicketStatus::Reopened), "{from:?} -> REOPENED");
        }
        assert!(allowed_next(TicketStatus::Resolved).contains(&TicketStatus::Closed));
        assert!(allowed_next(TicketStatus::Closed).contains(&TicketStatus::Reopened));
    }
}
