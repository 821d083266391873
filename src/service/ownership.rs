//! Who owns an account, and what moves with it: reassigning customers from
//! one owner to another moves their revenue in the rollups, their open
//! promises and their open complaints assigned to the old owner, in one
//! transaction, so no customer and no piece of open work is ever orphaned.
//! Reassignment, deactivation and an owner change by `updateCustomer` all
//! move work the same way.

use entity::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::service::write::{Effect, Write};
use crate::{
    error::{AppError, AppResult},
    policy::{self, Viewer},
    service::{
        Services,
        changes::{Change, ChangeEntity, Operation},
        now,
        outbox::Event,
    },
};

/// Moves customers from one owner to another (all of them, or only `customer_ids`),
/// with their open commitments and assigned open tickets. Leadership only.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn reassign_customers(
    svc: &Services,
    viewer: &Viewer,
    from_user_id: i64,
    to_user_id: i64,
    customer_ids: Option<Vec<i64>>,
) -> AppResult<Vec<i64>> {
    policy::ensure_leadership(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let (moved, events) = reassign_in(&mut w, viewer, from_user_id, to_user_id, customer_ids).await?;
    // The operation itself, beside an entry per customer moved (there may be none).
    w.audit("reassign_customers", "user", from_user_id, json!({"to": to_user_id, "customers": moved.len()}));
    w.after(Effect::Publish(events));
    w.commit(svc).await?;
    Ok(moved)
}

/// Moves the customers and returns them with the ids of the ASSIGNMENT ticket
/// events written for the tickets that moved with them (to publish after commit).
pub(crate) async fn reassign_in(
    w: &mut Write,
    viewer: &Viewer,
    from_user_id: i64,
    to_user_id: i64,
    customer_ids: Option<Vec<i64>>,
) -> AppResult<(Vec<i64>, Vec<i64>)> {
    use entity::customer;
    use sea_orm::{
        QuerySelect,
        sea_query::{Expr, ExprTrait},
    };

    if from_user_id == to_user_id {
        return Err(AppError::bad_input("toUserId", "the new owner must be someone else"));
    }
    user::Entity::find_by_id(from_user_id).one(&**w).await?.ok_or(AppError::NotFound("user"))?;
    policy::assignable_user(&**w, viewer, to_user_id, "toUserId").await?;
    let owned = || {
        let mut query = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::OwnerId.eq(from_user_id))
            .order_by_asc(customer::Column::Id);
        if let Some(ids) = &customer_ids {
            query = query.filter(customer::Column::Id.is_in(ids.iter().copied()));
        }
        query.into_tuple::<i64>()
    };
    // Lock first (in id order), then read who still owns what: a concurrent
    // reassignment of the same customers commits before, and this one moves
    // only what is still `from`'s (`crate::service::rollups`).
    let candidates: Vec<i64> = owned().all(&**w).await?;
    crate::service::rollups::lock_customers(&**w, &candidates).await?;
    // Only among the rows locked: a customer that became `from`'s after the
    // first read is not this reassignment's, and locking it now, outside id
    // order, could close a circle with another writer.
    let mut moved: Vec<i64> = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(1000) {
        moved.extend(
            customer::Entity::find()
                .select_only()
                .column(customer::Column::Id)
                .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                .filter(customer::Column::OwnerId.eq(from_user_id))
                .order_by_asc(customer::Column::Id)
                .into_tuple::<i64>()
                .all(&**w)
                .await?,
        );
    }
    if let Some(ids) = &customer_ids
        && let Some(missing) = ids.iter().find(|id| !moved.contains(id))
    {
        return Err(AppError::bad_input("customerIds", format!("customer {missing} is not owned by that user")));
    }
    if moved.is_empty() {
        return Ok((moved, Vec::new()));
    }
    let at = now();
    customer::Entity::update_many()
        .col_expr(customer::Column::OwnerId, Expr::value(to_user_id))
        .col_expr(customer::Column::Version, Expr::col(customer::Column::Version).add(1))
        .col_expr(customer::Column::UpdatedAt, Expr::value(at))
        .filter(customer::Column::Id.is_in(moved.iter().copied()))
        .filter(customer::Column::OwnerId.eq(from_user_id))
        .exec(&**w)
        .await?;
    crate::service::rollups::move_customers(&**w, &moved, from_user_id, Some(to_user_id)).await?;
    let work = move_open_work(&**w, viewer, &moved, from_user_id, to_user_id).await?;
    w.after(Effect::TasksAssigned(work.task_ids()));
    for id in &moved {
        w.audit("reassign", "customer", *id, json!({"ownerId": [from_user_id, to_user_id]}));
    }
    let changed = moved
        .iter()
        .map(|id| Change::customer(*id, Operation::Updated, Some(from_user_id)))
        .chain(work.changes())
        .collect::<Vec<_>>();
    let announced: Vec<Event> =
        moved.iter().map(|id| Event::customer_reassigned(*id, from_user_id, to_user_id)).collect();
    w.announce(announced);
    w.changes(changed);
    Ok((moved, work.events))
}

/// The open tasks `user_id` still holds on customers they did not own (a team
/// lead's, a named assignee's) go to each customer's owner, when the user is
/// deactivated: no open work is left with an inactive user.
pub async fn hand_over_tasks(txn: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<(i64, i64)>> {
    use entity::{customer, enums::TaskStatus, task};
    use sea_orm::sea_query::{Expr, ExprTrait};
    let held = task::Entity::find()
        .filter(task::Column::OwnerId.eq(user_id))
        .filter(task::Column::Status.eq(TaskStatus::Open))
        .all(txn)
        .await?;
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let owners: std::collections::HashMap<i64, i64> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(held.iter().map(|t| t.customer_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.owner_id))
        .collect();
    let mut handed = Vec::with_capacity(held.len());
    for task in held {
        let Some(&owner) = owners.get(&task.customer_id) else { continue };
        task::Entity::update_many()
            .col_expr(task::Column::OwnerId, Expr::value(owner))
            .col_expr(task::Column::Version, Expr::col(task::Column::Version).add(1))
            .col_expr(task::Column::UpdatedAt, Expr::value(now()))
            .filter(task::Column::Id.eq(task.id))
            .exec(txn)
            .await?;
        handed.push((task.id, task.customer_id));
    }
    Ok(handed)
}

/// What followed accounts to their new owner.
#[derive(Debug, Default)]
pub struct MovedWork {
    /// Commitments, as (id, customer id).
    pub commitments: Vec<(i64, i64)>,
    /// Tickets, as (id, customer id).
    pub tickets: Vec<(i64, i64)>,
    /// Open tasks, as (id, customer id).
    pub tasks: Vec<(i64, i64)>,
    /// The ASSIGNMENT ticket events written, to publish after commit.
    pub events: Vec<i64>,
}

impl MovedWork {
    /// The tasks that moved, to announce to their new owner.
    pub fn task_ids(&self) -> Vec<i64> {
        self.tasks.iter().map(|(id, _)| *id).collect()
    }

    /// The change-feed entries of what moved.
    pub fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        self.commitments
            .iter()
            .map(|(id, c)| Change::new(ChangeEntity::Commitment, *id, Operation::Updated, *c))
            .chain(self.tickets.iter().map(|(id, c)| Change::new(ChangeEntity::Ticket, *id, Operation::Updated, *c)))
            .chain(self.tasks.iter().map(|(id, c)| Change::new(ChangeEntity::Task, *id, Operation::Updated, *c)))
    }
}

/// Open promises, open complaints and open tasks follow an account to its new
/// owner, so none is orphaned: the open commitments and tasks `from` owned and
/// the open tickets assigned to `from`, on these customers, go to `to`.
pub async fn move_open_work(
    txn: &impl ConnectionTrait,
    viewer: &Viewer,
    moved: &[i64],
    from_user_id: i64,
    to_user_id: i64,
) -> AppResult<MovedWork> {
    use entity::{commitment, ticket};
    use sea_orm::{
        QuerySelect,
        sea_query::{Expr, ExprTrait},
    };
    let at = now();
    let promises: Vec<(i64, i64)> = commitment::Entity::find()
        .select_only()
        .columns([commitment::Column::Id, commitment::Column::CustomerId])
        .filter(commitment::Column::CustomerId.is_in(moved.iter().copied()))
        .filter(commitment::Column::OwnerId.eq(from_user_id))
        .filter(commitment::Column::FulfilledOn.is_null())
        .into_tuple()
        .all(txn)
        .await?;
    commitment::Entity::update_many()
        .col_expr(commitment::Column::OwnerId, Expr::value(to_user_id))
        .col_expr(commitment::Column::UpdatedAt, Expr::value(at))
        .filter(commitment::Column::CustomerId.is_in(moved.iter().copied()))
        .filter(commitment::Column::OwnerId.eq(from_user_id))
        .filter(commitment::Column::FulfilledOn.is_null())
        .exec(txn)
        .await?;
    let tickets: Vec<(i64, i64)> = ticket::Entity::find()
        .select_only()
        .columns([ticket::Column::Id, ticket::Column::CustomerId])
        .filter(ticket::Column::CustomerId.is_in(moved.iter().copied()))
        .filter(ticket::Column::AssigneeId.eq(from_user_id))
        .filter(ticket::Column::Status.is_in(crate::service::tickets::OPEN_STATUSES))
        .into_tuple()
        .all(txn)
        .await?;
    let mut events = Vec::with_capacity(tickets.len());
    if !tickets.is_empty() {
        ticket::Entity::update_many()
            .col_expr(ticket::Column::AssigneeId, Expr::value(to_user_id))
            .col_expr(ticket::Column::Version, Expr::col(ticket::Column::Version).add(1))
            .col_expr(ticket::Column::UpdatedAt, Expr::value(at))
            .filter(ticket::Column::Id.is_in(tickets.iter().map(|t| t.0)))
            .exec(txn)
            .await?;
        // The history stays gap-free: every moved ticket records its new assignee.
        for (ticket_id, _) in &tickets {
            let change = (from_user_id.to_string(), to_user_id.to_string());
            let event = crate::service::tickets::add_event(
                txn,
                viewer,
                *ticket_id,
                entity::enums::TicketEventKind::Assignment,
                None,
                Some(change),
            )
            .await?;
            events.push(event.id);
        }
    }
    let tasks = move_open_tasks(txn, moved, from_user_id, to_user_id).await?;
    Ok(MovedWork { commitments: promises, tickets, tasks, events })
}

/// The open tasks `from` owned on these customers go to `to`, and so do those
/// of anyone else who no longer sees the customer under its new owner (a team
/// lead of the team the account left); each a new version (a client holding
/// the old one must reload before editing).
async fn move_open_tasks(
    txn: &impl ConnectionTrait,
    moved: &[i64],
    from_user_id: i64,
    to_user_id: i64,
) -> AppResult<Vec<(i64, i64)>> {
    use entity::{enums::TaskStatus, task};
    use sea_orm::{
        QuerySelect,
        sea_query::{Expr, ExprTrait},
    };
    let tasks: Vec<(i64, i64)> = task::Entity::find()
        .select_only()
        .columns([task::Column::Id, task::Column::CustomerId])
        .filter(task::Column::CustomerId.is_in(moved.iter().copied()))
        .filter(task::Column::OwnerId.eq(from_user_id))
        .filter(task::Column::Status.eq(TaskStatus::Open))
        .into_tuple()
        .all(txn)
        .await?;
    let mut tasks = tasks;
    let others = task::Entity::find()
        .filter(task::Column::CustomerId.is_in(moved.iter().copied()))
        .filter(task::Column::OwnerId.is_not_in([from_user_id, to_user_id]))
        .filter(task::Column::Status.eq(TaskStatus::Open))
        .all(txn)
        .await?;
    let owners: std::collections::HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(others.iter().map(|t| t.owner_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    for task in others {
        let sees = match owners.get(&task.owner_id) {
            Some(owner) if owner.active => crate::policy::user_sees_customer(txn, owner, task.customer_id).await?,
            _ => false,
        };
        if !sees {
            tasks.push((task.id, task.customer_id));
        }
    }
    if !tasks.is_empty() {
        task::Entity::update_many()
            .col_expr(task::Column::OwnerId, Expr::value(to_user_id))
            .col_expr(task::Column::Version, Expr::col(task::Column::Version).add(1))
            .col_expr(task::Column::UpdatedAt, Expr::value(now()))
            .filter(task::Column::Id.is_in(tasks.iter().map(|t| t.0)))
            .exec(txn)
            .await?;
    }
    Ok(tasks)
}
