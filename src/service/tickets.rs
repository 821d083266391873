//! Service tickets and complaints, with their append-only history.

use chrono::{DateTime, Duration, Utc};
use entity::{
    contact,
    enums::{PartnershipTier, TicketCategory, TicketEventKind, TicketPriority, TicketStatus},
    ticket, ticket_event, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Select, Set, TransactionTrait,
};
use serde_json::json;

use crate::{
    auth::Viewer,
    error::{AppError, AppResult},
    policy,
    service::{audit, now, update_versioned, validate},
};

/// Statuses in which a ticket still needs work.
pub const OPEN_STATUSES: [TicketStatus; 4] = [
    TicketStatus::Open,
    TicketStatus::InProgress,
    TicketStatus::WaitingOnCustomer,
    TicketStatus::Reopened,
];

#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub customer_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub statuses: Vec<TicketStatus>,
    pub categories: Vec<TicketCategory>,
    pub priorities: Vec<TicketPriority>,
    pub open_only: bool,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub include_archived: bool,
}

pub fn select(viewer: &Viewer, filter: &TicketFilter) -> Select<ticket::Entity> {
    let mut query =
        ticket::Entity::find().filter(policy::visible_through(viewer, ticket::Column::CustomerId));
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
        query = query.filter(ticket::Column::Status.is_in(OPEN_STATUSES));
    }
    if !filter.categories.is_empty() {
        query = query.filter(ticket::Column::Category.is_in(filter.categories.iter().copied()));
    }
    if !filter.priorities.is_empty() {
        query = query.filter(ticket::Column::Priority.is_in(filter.priorities.iter().copied()));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(ticket::Column::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(ticket::Column::CreatedAt.lt(before));
    }
    query
}

/// First-response and resolution targets in hours. Strategic accounts get half.
pub fn sla_hours(priority: TicketPriority, tier: Option<PartnershipTier>) -> (i64, i64) {
    let (response, resolution) = match priority {
        TicketPriority::Urgent => (2, 24),
        TicketPriority::High => (4, 48),
        TicketPriority::Medium => (8, 120),
        TicketPriority::Low => (24, 240),
    };
    if tier == Some(PartnershipTier::Strategic) {
        (response / 2, resolution / 2)
    } else {
        (response, resolution)
    }
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
}

#[derive(Debug, Clone, Default)]
pub struct TicketChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<TicketCategory>,
    pub priority: Option<TicketPriority>,
    pub assignee_id: Option<Option<i64>>,
}

async fn check_contact(
    db: &impl ConnectionTrait,
    customer_id: i64,
    contact_id: i64,
) -> AppResult<()> {
    contact::Entity::find_by_id(contact_id)
        .filter(contact::Column::CustomerId.eq(customer_id))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| {
            AppError::bad_input(
                "contactId",
                "the contact must belong to the ticket's customer",
            )
        })
}

async fn check_assignee(db: &impl ConnectionTrait, assignee_id: i64) -> AppResult<()> {
    user::Entity::find_by_id(assignee_id)
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::bad_input("assigneeId", "the assignee must be an active user"))
}

async fn add_event(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ticket_id: i64,
    kind: TicketEventKind,
    body: Option<String>,
    change: Option<(String, String)>,
) -> AppResult<ticket_event::Model> {
    let at = now();
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

pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewTicket,
) -> AppResult<ticket::Model> {
    let title = validate::required_text("title", &input.title, 200)?;
    let description = validate::required_text("description", &input.description, 20_000)?;
    let txn = db.begin().await?;
    let customer = policy::writable_customer(&txn, viewer, input.customer_id).await?;
    if let Some(contact_id) = input.contact_id {
        check_contact(&txn, customer.id, contact_id).await?;
    }
    if let Some(assignee) = input.assignee_id {
        check_assignee(&txn, assignee).await?;
    }
    let at = now();
    let (response_hours, resolution_hours) = sla_hours(input.priority, customer.tier);
    let model = ticket::ActiveModel {
        customer_id: Set(customer.id),
        contact_id: Set(input.contact_id),
        assignee_id: Set(input.assignee_id),
        title: Set(title),
        description: Set(description),
        category: Set(input.category),
        priority: Set(input.priority),
        status: Set(TicketStatus::Open),
        first_response_due_at: Set(at + Duration::hours(response_hours)),
        resolution_due_at: Set(at + Duration::hours(resolution_hours)),
        first_responded_at: Set(None),
        resolved_at: Set(None),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    add_event(&txn, viewer, model.id, TicketEventKind::Created, None, None).await?;
    audit::record(
        &txn,
        viewer,
        "create",
        "ticket",
        model.id,
        json!({"customerId": customer.id}),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

async fn writable(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<ticket::Model> {
    policy::ensure_can_write(viewer)?;
    ticket::Entity::find_by_id(id)
        .filter(policy::visible_through(viewer, ticket::Column::CustomerId))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("ticket"))
}

pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    changes: TicketChanges,
) -> AppResult<ticket::Model> {
    let txn = db.begin().await?;
    let current = writable(&txn, viewer, id).await?;
    validate::version("ticket", expected_version, current.version)?;
    let mut row = ticket::ActiveModel {
        ..Default::default()
    };
    let mut changed = Vec::new();
    if let Some(title) = changes.title {
        row.title = Set(validate::required_text("title", &title, 200)?);
        changed.push("title");
    }
    if let Some(description) = changes.description {
        row.description = Set(validate::required_text(
            "description",
            &description,
            20_000,
        )?);
        changed.push("description");
    }
    if let Some(category) = changes.category {
        row.category = Set(category);
        changed.push("category");
    }
    if let Some(priority) = changes.priority.filter(|p| *p != current.priority) {
        row.priority = Set(priority);
        changed.push("priority");
        let change = (
            current.priority.as_str().to_owned(),
            priority.as_str().to_owned(),
        );
        add_event(
            &txn,
            viewer,
            id,
            TicketEventKind::PriorityChange,
            None,
            Some(change),
        )
        .await?;
    }
    if let Some(assignee) = changes.assignee_id.filter(|a| *a != current.assignee_id) {
        if let Some(user_id) = assignee {
            check_assignee(&txn, user_id).await?;
        }
        row.assignee_id = Set(assignee);
        changed.push("assigneeId");
        let show = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
        let change = (show(current.assignee_id), show(assignee));
        add_event(
            &txn,
            viewer,
            id,
            TicketEventKind::Assignment,
            None,
            Some(change),
        )
        .await?;
    }
    if changed
        .iter()
        .any(|f| matches!(*f, "title" | "description" | "category"))
    {
        add_event(&txn, viewer, id, TicketEventKind::Updated, None, None).await?;
    }
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    update_versioned::<ticket::Entity>(
        &txn,
        row,
        (ticket::Column::Id, id),
        (ticket::Column::Version, current.version),
        "ticket",
    )
    .await?;
    audit::record(
        &txn,
        viewer,
        "update",
        "ticket",
        id,
        json!({ "fields": changed }),
    )
    .await?;
    let updated = ticket::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("ticket"))?;
    txn.commit().await?;
    Ok(updated)
}

/// Adds a comment; the first comment from our side is the first response.
pub async fn comment(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    body: String,
) -> AppResult<(ticket::Model, ticket_event::Model)> {
    let body = validate::required_text("body", &body, 20_000)?;
    let txn = db.begin().await?;
    let current = writable(&txn, viewer, id).await?;
    validate::version("ticket", expected_version, current.version)?;
    let at = now();
    let row = ticket::ActiveModel {
        first_responded_at: Set(current.first_responded_at.or(Some(at))),
        version: Set(current.version + 1),
        updated_at: Set(at),
        ..Default::default()
    };
    update_versioned::<ticket::Entity>(
        &txn,
        row,
        (ticket::Column::Id, id),
        (ticket::Column::Version, current.version),
        "ticket",
    )
    .await?;
    let event = add_event(&txn, viewer, id, TicketEventKind::Comment, Some(body), None).await?;
    audit::record(
        &txn,
        viewer,
        "comment",
        "ticket",
        id,
        json!({"eventId": event.id}),
    )
    .await?;
    let updated = ticket::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("ticket"))?;
    txn.commit().await?;
    Ok((updated, event))
}
