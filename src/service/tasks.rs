//! Tasks: a piece of work on a customer, with an owner and a due date.
//!
//! A task is open until it is done or cancelled; who closed it and when is
//! kept. It is created by hand, by a playbook (`PLAYBOOK`, once per trigger
//! occurrence) or from a communication's follow-up date (`FOLLOW_UP`, once per
//! communication, by [`sweep_follow_ups`]). A task's owner must see its
//! customer, and its open work moves with the customer like tickets and
//! commitments (`crate::service::ownership`).

use chrono::NaiveDate;
use entity::{
    commitment, contact,
    enums::{TaskPriority, TaskSource, TaskStatus},
    task, ticket,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set};
use serde_json::json;

use crate::{
    error::{AppError, AppResult},
    gid, policy,
    policy::Viewer,
    service::{
        Services, audit,
        changes::{Change, ChangeEntity, Operation},
        now,
        outbox::{Event, EventType},
        update_versioned, validate,
        write::{Effect, Write},
    },
};

/// The longest title and notes.
const TITLE_CHARS: usize = 300;
const NOTES_CHARS: usize = 8000;

/// How far back a follow-up date still makes a task: older ones (an import of
/// years of history) are history, not work.
pub const FOLLOW_UP_LOOKBACK_DAYS: i64 = 30;

#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub customer_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub statuses: Vec<TaskStatus>,
    pub sources: Vec<TaskSource>,
    pub priorities: Vec<TaskPriority>,
    /// Open and due before today.
    pub overdue_only: bool,
    pub due_after: Option<NaiveDate>,
    pub due_before: Option<NaiveDate>,
    pub playbook_id: Option<i64>,
}

/// The tasks the viewer may read (those of the customers they see), filtered.
pub fn select(viewer: &Viewer, filter: &TaskFilter) -> Select<task::Entity> {
    let mut query = task::Entity::find().filter(policy::visible_through(viewer, task::Column::CustomerId));
    if let Some(customer) = filter.customer_id {
        query = query.filter(task::Column::CustomerId.eq(customer));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(task::Column::OwnerId.eq(owner));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(task::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if !filter.sources.is_empty() {
        query = query.filter(task::Column::Source.is_in(filter.sources.iter().copied()));
    }
    if !filter.priorities.is_empty() {
        query = query.filter(task::Column::Priority.is_in(filter.priorities.iter().copied()));
    }
    if filter.overdue_only {
        query = query.filter(task::Column::Status.eq(TaskStatus::Open)).filter(task::Column::DueOn.lt(today()));
    }
    if let Some(after) = filter.due_after {
        query = query.filter(task::Column::DueOn.gte(after));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(task::Column::DueOn.lt(before));
    }
    if let Some(playbook) = filter.playbook_id {
        query = query.filter(task::Column::PlaybookId.eq(playbook));
    }
    query
}

/// The viewer's own open tasks (sorted by due date, the overdue come first).
pub fn mine(viewer: &Viewer) -> Select<task::Entity> {
    let filter = TaskFilter { owner_id: Some(viewer.user_id), statuses: vec![TaskStatus::Open], ..Default::default() };
    select(viewer, &filter)
}

fn today() -> NaiveDate {
    now().date_naive()
}

/// Open and past its due date: the one definition, for the API's `overdue`.
pub fn is_overdue(task: &task::Model) -> bool {
    task.status == TaskStatus::Open && task.due_on < today()
}

/// What a create or update sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskFields {
    pub title: Option<String>,
    pub notes: Option<Option<String>>,
    pub due_on: Option<NaiveDate>,
    pub priority: Option<TaskPriority>,
    pub contact_id: Option<Option<i64>>,
    pub ticket_id: Option<Option<i64>>,
    pub commitment_id: Option<Option<i64>>,
}

fn apply(row: &mut task::ActiveModel, fields: &TaskFields) -> AppResult<()> {
    if let Some(title) = &fields.title {
        row.title = Set(validate::required_text("title", title, TITLE_CHARS)?);
    }
    if let Some(notes) = &fields.notes {
        row.notes = Set(validate::optional_text("notes", notes.clone(), NOTES_CHARS)?);
    }
    if let Some(due) = fields.due_on {
        row.due_on = Set(due);
    }
    if let Some(priority) = fields.priority {
        row.priority = Set(priority);
    }
    if let Some(contact) = fields.contact_id {
        row.contact_id = Set(contact);
    }
    if let Some(ticket) = fields.ticket_id {
        row.ticket_id = Set(ticket);
    }
    if let Some(commitment) = fields.commitment_id {
        row.commitment_id = Set(commitment);
    }
    Ok(())
}

/// The contact, ticket and commitment a task refers to belong to its customer
/// (BAD_USER_INPUT naming the field otherwise: a row of another customer, or
/// one the viewer cannot see, is the same refusal).
async fn check_references(db: &impl ConnectionTrait, customer_id: i64, fields: &TaskFields) -> AppResult<()> {
    async fn belongs<E: EntityTrait>(
        db: &impl ConnectionTrait,
        (id_column, customer_column): (E::Column, E::Column),
        id: Option<Option<i64>>,
        customer_id: i64,
        field: &str,
    ) -> AppResult<()>
    where
        E::Column: ColumnTrait,
    {
        let Some(Some(id)) = id else { return Ok(()) };
        let found = E::find().filter(id_column.eq(id)).filter(customer_column.eq(customer_id)).one(db).await?;
        if found.is_none() {
            return Err(AppError::bad_input(field, format!("{field} must be one of the customer's own")));
        }
        Ok(())
    }
    let contact = (contact::Column::Id, contact::Column::CustomerId);
    belongs::<contact::Entity>(db, contact, fields.contact_id, customer_id, "contactId").await?;
    let ticket = (ticket::Column::Id, ticket::Column::CustomerId);
    belongs::<ticket::Entity>(db, ticket, fields.ticket_id, customer_id, "ticketId").await?;
    let commitment = (commitment::Column::Id, commitment::Column::CustomerId);
    belongs::<commitment::Entity>(db, commitment, fields.commitment_id, customer_id, "commitmentId").await
}

/// The user `owner_id` if the viewer may give them this customer's work: an
/// assignable colleague ([`policy::assignable_user`]) who sees the customer.
async fn owner_for(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    owner_id: i64,
    customer_id: i64,
) -> AppResult<entity::user::Model> {
    let owner = policy::assignable_user(db, viewer, owner_id, "ownerId").await?;
    if !policy::user_sees_customer(db, &owner, customer_id).await? {
        return Err(AppError::bad_input("ownerId", "ownerId must be a colleague who sees the customer"));
    }
    Ok(owner)
}

/// The webhook event of a new task.
fn created_event(task: &task::Model) -> Event {
    Event::new(
        EventType::TaskCreated,
        task.id,
        json!({
            "taskId": gid::encode("Task", task.id),
            "customerId": gid::encode("Customer", task.customer_id),
            "ownerId": gid::encode("User", task.owner_id),
            "source": task.source.as_str(),
            "dueOn": task.due_on.to_string(),
            "priority": task.priority.as_str(),
        }),
    )
}

/// Notes a new task in the write: audit, change feed, `task.created`, and the
/// owner's live `taskAssigned`.
pub fn record_created(w: &mut Write, task: &task::Model) {
    w.audit(
        "create",
        "task",
        task.id,
        json!({"customerId": task.customer_id, "ownerId": task.owner_id, "source": task.source.as_str()}),
    );
    w.changes([Change::new(ChangeEntity::Task, task.id, Operation::Created, task.customer_id)]);
    w.announce([created_event(task)]);
    w.after(Effect::TasksAssigned(vec![task.id]));
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(
    svc: &Services,
    viewer: &Viewer,
    customer_id: i64,
    owner_id: Option<i64>,
    fields: TaskFields,
) -> AppResult<task::Model> {
    policy::ensure_can_write(viewer)?;
    let (Some(_), Some(_)) = (&fields.title, fields.due_on) else {
        return Err(AppError::bad_input("title", "title and dueOn are required"));
    };
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, customer_id).await?;
    let owner = owner_for(&*w, viewer, owner_id.unwrap_or(viewer.user_id), customer_id).await?;
    check_references(&*w, customer_id, &fields).await?;
    let at = now();
    let mut row = task::ActiveModel {
        customer_id: Set(customer_id),
        contact_id: Set(None),
        ticket_id: Set(None),
        commitment_id: Set(None),
        communication_id: Set(None),
        notes: Set(None),
        owner_id: Set(owner.id),
        priority: Set(TaskPriority::Medium),
        status: Set(TaskStatus::Open),
        source: Set(TaskSource::Manual),
        playbook_id: Set(None),
        occurrence_key: Set(None),
        created_by: Set(Some(viewer.user_id)),
        closed_by: Set(None),
        closed_at: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    apply(&mut row, &fields)?;
    let model = row.insert(&*w).await?;
    record_created(&mut w, &model);
    w.commit(svc).await?;
    Ok(model)
}

/// A versioned change of one task the viewer may write.
async fn change(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    action: &str,
    edit: impl AsyncFnOnce(&Write, &task::Model, &mut task::ActiveModel) -> AppResult<()>,
) -> AppResult<task::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let columns = (task::Column::Id, task::Column::CustomerId);
    let current = policy::writable::<task::Entity>(&*w, viewer, columns, id, "task").await?;
    validate::version("task", expected_version, current.version)?;
    let mut row = task::ActiveModel { ..Default::default() };
    edit(&w, &current, &mut row).await?;
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let updated = update_versioned::<task::Entity>(
        &*w,
        row,
        (task::Column::Id, id),
        (task::Column::Version, current.version),
        "task",
    )
    .await?;
    w.audit(action, "task", id, audit::diff(&current, &updated));
    w.changes([Change::new(ChangeEntity::Task, id, Operation::Updated, current.customer_id)]);
    if updated.owner_id != current.owner_id {
        w.after(Effect::TasksAssigned(vec![id]));
    }
    w.commit(svc).await?;
    Ok(updated)
}

/// A closed task only changes by being reopened, which is not offered: the
/// refusal names what it is.
fn ensure_open(task: &task::Model) -> AppResult<()> {
    if task.status != TaskStatus::Open {
        return Err(AppError::conflict(format!("the task is already {}", task.status.as_str())));
    }
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    fields: TaskFields,
) -> AppResult<task::Model> {
    change(svc, viewer, id, expected_version, "update", async |w, current, row| {
        ensure_open(current)?;
        check_references(&**w, current.customer_id, &fields).await?;
        apply(row, &fields)
    })
    .await
}

/// Closes an open task as DONE or CANCELLED, stamping who and when.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn close(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    status: TaskStatus,
) -> AppResult<task::Model> {
    let action = if status == TaskStatus::Done { "complete" } else { "cancel" };
    change(svc, viewer, id, expected_version, action, async |_, current, row| {
        ensure_open(current)?;
        row.status = Set(status);
        row.closed_by = Set(Some(viewer.user_id));
        row.closed_at = Set(Some(now()));
        Ok(())
    })
    .await
}

/// Gives an open task to another colleague who sees its customer.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn reassign(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    owner_id: i64,
) -> AppResult<task::Model> {
    change(svc, viewer, id, expected_version, "reassign", async |w, current, row| {
        ensure_open(current)?;
        let owner = owner_for(&**w, viewer, owner_id, current.customer_id).await?;
        row.owner_id = Set(owner.id);
        Ok(())
    })
    .await
}

/// Creates the FOLLOW_UP task of every live communication whose follow-up
/// date is set, not older than [`FOLLOW_UP_LOOKBACK_DAYS`], and has none yet,
/// however the communication arrived (logged, imported, loaded by SQL): due
/// on the follow-up date, owned by the customer's owner (who always sees the
/// customer; whoever logged the communication may not any more). One
/// statement; the unique index `ux_task_follow_up` makes each follow-up one
/// task even when instances sweep at once. Returns how many were created.
pub async fn sweep_follow_ups(svc: &Services) -> AppResult<usize> {
    let mut w = Write::begin_as(svc, None, Some("follow-up sweep".to_owned())).await?;
    let dialect = crate::db::Dialect::of(&*w);
    let at = now();
    let since = at.date_naive() - chrono::Duration::days(FOLLOW_UP_LOOKBACK_DAYS);
    // `WHERE true` lets SQLite read the ON CONFLICT clause after a SELECT.
    let sql = format!(
        "INSERT INTO task (customer_id, communication_id, title, owner_id, due_on, priority, status, source, \
                           version, created_at, updated_at) \
         SELECT m.customer_id, m.id, 'Follow up: ' || substr(m.summary, 1, 200), c.owner_id, m.follow_up_on, \
                '{priority}', 'OPEN', 'FOLLOW_UP', 1, {at}, {at} \
         FROM communication m JOIN customer c ON c.id = m.customer_id \
         WHERE true AND m.follow_up_on >= {since} AND m.archived_at IS NULL AND c.archived_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM task t WHERE t.source = 'FOLLOW_UP' AND t.communication_id = m.id) \
         ORDER BY m.id LIMIT {SWEEP_BATCH} \
         ON CONFLICT DO NOTHING RETURNING id",
        priority = TaskPriority::Medium.as_str(),
        at = dialect.instant(at),
        since = dialect.date(since),
    );
    let ids: Vec<i64> =
        dialect.rows(&*w, sql).await?.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    let created = task::Entity::find().filter(task::Column::Id.is_in(ids)).all(&*w).await?;
    for task in &created {
        record_created(&mut w, task);
    }
    w.commit(svc).await?;
    Ok(created.len())
}

/// The most follow-ups one sweep turns into tasks; the next sweep takes the rest.
const SWEEP_BATCH: usize = 1000;
