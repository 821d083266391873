//! Tasks in the API.

/// Tasks reaching their owner live over WebSocket.
pub mod live;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};
use entity::task;

use crate::{
    graphql::{
        customers::Customer,
        loaders::{listed, load, page_cost},
        support::context::request,
        support::enums::{TaskPriority, TaskSource, TaskStatus, to_domain},
        support::guards,
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::patch::patch,
        support::scalars::Date,
        users::User,
    },
    service::tasks::{self as service, TaskFields, TaskFilter},
};

listed!(
    /// A piece of work on a customer.
    Task,
    task::Model
);

/// A piece of work on a customer, with an owner and a due date: created by
/// hand, by a playbook, or from a communication's follow-up date.
#[Object]
impl Task {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Task", self.model.id)
    }
    /// What to do.
    async fn title(&self) -> &str {
        &self.model.title
    }
    /// Details.
    async fn notes(&self) -> Option<&str> {
        self.model.notes.as_deref()
    }
    /// Due date.
    async fn due_on(&self) -> Date {
        self.model.due_on.into()
    }
    /// Urgency.
    async fn priority(&self) -> TaskPriority {
        self.model.priority.into()
    }
    /// OPEN, DONE or CANCELLED.
    async fn status(&self) -> TaskStatus {
        self.model.status.into()
    }
    /// Open and past its due date.
    async fn overdue(&self) -> bool {
        service::is_overdue(&self.model)
    }
    /// What created it.
    async fn source(&self) -> TaskSource {
        self.model.source.into()
    }
    /// The playbook that created it (source PLAYBOOK).
    async fn playbook_id(&self) -> Option<ID> {
        self.model.playbook_id.map(|id| ids::encode("Playbook", id))
    }
    /// The trigger occurrence that created it (source PLAYBOOK): a playbook creates one task per occurrence.
    async fn occurrence_key(&self) -> Option<&str> {
        self.model.occurrence_key.as_deref()
    }
    /// The customer the work is on.
    async fn customer_id(&self) -> ID {
        ids::encode("Customer", self.model.customer_id)
    }
    /// The customer the work is on.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<task::Model>]| rows.iter().map(|t| t.customer_id).collect();
        let loader = rc.loaders.customer_by_id();
        Ok(load(self.siblings.as_deref(), "customer", loader, keys, self.model.customer_id).await?.map(Customer::one))
    }
    /// The contact it concerns, if any.
    async fn contact_id(&self) -> Option<ID> {
        self.model.contact_id.map(|id| ids::encode("Contact", id))
    }
    /// The ticket it concerns, if any.
    async fn ticket_id(&self) -> Option<ID> {
        self.model.ticket_id.map(|id| ids::encode("Ticket", id))
    }
    /// The commitment it concerns, if any.
    async fn commitment_id(&self) -> Option<ID> {
        self.model.commitment_id.map(|id| ids::encode("Commitment", id))
    }
    /// The communication whose follow-up it is (source FOLLOW_UP).
    async fn communication_id(&self) -> Option<ID> {
        self.model.communication_id.map(|id| ids::encode("Communication", id))
    }
    /// Who is to do it.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<task::Model>]| rows.iter().map(|t| t.owner_id).collect();
        let loader = rc.loaders.user_by_id();
        Ok(load(self.siblings.as_deref(), "owner", loader, keys, self.model.owner_id).await?.map(User::one))
    }
    /// Who created it (none for a playbook's or a follow-up's task).
    async fn created_by_id(&self) -> Option<ID> {
        self.model.created_by.map(|id| ids::encode("User", id))
    }
    /// Who marked it DONE or CANCELLED.
    async fn closed_by_id(&self) -> Option<ID> {
        self.model.closed_by.map(|id| ids::encode("User", id))
    }
    /// When it was marked DONE or CANCELLED.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.model.closed_at
    }
    /// Optimistic-locking version; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

/// Filters of the task list.
#[derive(InputObject, Default)]
pub struct TaskFilterInput {
    /// Of this customer.
    pub customer_id: Option<ID>,
    /// Owned by this user.
    pub owner_id: Option<ID>,
    /// Any of these statuses.
    pub statuses: Option<Vec<TaskStatus>>,
    /// Any of these sources.
    pub sources: Option<Vec<TaskSource>>,
    /// Any of these priorities.
    pub priorities: Option<Vec<TaskPriority>>,
    /// Created by this playbook.
    pub playbook_id: Option<ID>,
    /// Only open and past due.
    #[graphql(default)]
    pub overdue_only: bool,
    /// Due on or after.
    pub due_after: Option<Date>,
    /// Due before.
    pub due_before: Option<Date>,
}

impl TaskFilterInput {
    fn into_filter(self) -> crate::error::AppResult<TaskFilter> {
        Ok(TaskFilter {
            customer_id: ids::decode_opt("Customer", "customerId", self.customer_id.as_ref())?,
            owner_id: ids::decode_opt("User", "ownerId", self.owner_id.as_ref())?,
            statuses: to_domain(self.statuses),
            sources: to_domain(self.sources),
            priorities: to_domain(self.priorities),
            playbook_id: ids::decode_opt("Playbook", "playbookId", self.playbook_id.as_ref())?,
            overdue_only: self.overdue_only,
            due_after: self.due_after.map(Into::into),
            due_before: self.due_before.map(Into::into),
        })
    }
}

order_by!(
    /// Sort order of the task list.
    TaskOrder, TaskOrderField, task::Column,
    default(DueOn, Asc),
    {
        /// By due date.
        DueOn => task::Column::DueOn;
        /// By creation time.
        CreatedAt => task::Column::CreatedAt;
        /// By last change.
        UpdatedAt => task::Column::UpdatedAt;
    }
);

#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// Tasks on the customers you can see, soonest due first.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<TaskFilterInput>,
        #[graphql(desc = "Sort order (default: soonest due first).")] order_by: Option<TaskOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Task>> {
        let rc = request(ctx)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let sort = order_by.unwrap_or_default().sort(task::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |t| t.id, Task::page).await?)
    }

    /// Your own open tasks, by due date: the overdue first, then the soonest due.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn my_tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Task>> {
        let rc = request(ctx)?;
        let sort = TaskOrder::default().sort(task::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        Ok(connection(ctx, &rc.db, service::mine(&rc.viewer()), sort, args, |t| t.id, Task::page).await?)
    }
}

/// A task's fields; on create `title` and `dueOn` are required.
#[derive(InputObject, Default)]
pub struct TaskInput {
    /// What to do (1 to 300 characters).
    pub title: Option<String>,
    /// Details (at most 8,000 characters); `null` clears them.
    pub notes: MaybeUndefined<String>,
    /// Due date.
    pub due_on: Option<Date>,
    /// Urgency (default MEDIUM).
    pub priority: Option<TaskPriority>,
    /// A contact of the customer it concerns; `null` clears it.
    pub contact_id: MaybeUndefined<ID>,
    /// A ticket of the customer it concerns; `null` clears it.
    pub ticket_id: MaybeUndefined<ID>,
    /// A commitment to the customer it concerns; `null` clears it.
    pub commitment_id: MaybeUndefined<ID>,
}

impl TaskInput {
    fn into_fields(self) -> crate::error::AppResult<TaskFields> {
        fn reference(
            kind: &str,
            field: &str,
            value: MaybeUndefined<ID>,
        ) -> crate::error::AppResult<Option<Option<i64>>> {
            Ok(match value {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(ids::decode(kind, field, &id)?)),
            })
        }
        Ok(TaskFields {
            title: self.title,
            notes: patch(self.notes, |n| n),
            due_on: self.due_on.map(Into::into),
            priority: self.priority.map(Into::into),
            contact_id: reference("Contact", "contactId", self.contact_id)?,
            ticket_id: reference("Ticket", "ticketId", self.ticket_id)?,
            commitment_id: reference("Commitment", "commitmentId", self.commitment_id)?,
        })
    }
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Creates a task on a customer you may write, for you or a colleague who sees the customer.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] customer_id: ID,
        #[graphql(desc = "Who is to do it (default: you); a colleague you may assign work to who sees the customer.")]
        owner_id: Option<ID>,
        #[graphql(desc = "What to record.")] input: TaskInput,
    ) -> Result<Task> {
        let rc = request(ctx)?;
        let customer_id = ids::decode("Customer", "customerId", &customer_id)?;
        let owner_id = ids::decode_opt("User", "ownerId", owner_id.as_ref())?;
        Ok(Task::one(service::create(&rc.services, &rc.viewer(), customer_id, owner_id, input.into_fields()?).await?))
    }

    /// Changes an open task.
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "The changes: omitted fields stay as they are, `null` clears a field.")] input: TaskInput,
    ) -> Result<Task> {
        let rc = request(ctx)?;
        let id = ids::decode("Task", "id", &id)?;
        Ok(Task::one(service::update(&rc.services, &rc.viewer(), id, expected_version, input.into_fields()?).await?))
    }

    /// Marks an open task DONE (a closed one is a CONFLICT).
    async fn complete_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
    ) -> Result<Task> {
        let rc = request(ctx)?;
        let id = ids::decode("Task", "id", &id)?;
        let done = entity::enums::TaskStatus::Done;
        Ok(Task::one(service::close(&rc.services, &rc.viewer(), id, expected_version, done).await?))
    }

    /// Marks an open task CANCELLED (a closed one is a CONFLICT).
    async fn cancel_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
    ) -> Result<Task> {
        let rc = request(ctx)?;
        let id = ids::decode("Task", "id", &id)?;
        let cancelled = entity::enums::TaskStatus::Cancelled;
        Ok(Task::one(service::close(&rc.services, &rc.viewer(), id, expected_version, cancelled).await?))
    }

    /// Gives an open task to a colleague you may assign work to who sees its customer.
    async fn reassign_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "The new owner.")] owner_id: ID,
    ) -> Result<Task> {
        let rc = request(ctx)?;
        let id = ids::decode("Task", "id", &id)?;
        let owner_id = ids::decode("User", "ownerId", &owner_id)?;
        Ok(Task::one(service::reassign(&rc.services, &rc.viewer(), id, expected_version, owner_id).await?))
    }
}
