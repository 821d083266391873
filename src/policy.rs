//! The one place that decides which rows a viewer may see and change
//! (DESIGN.md "Who sees what"). Every query of customer-owned data goes through
//! these conditions, folded into the SQL `WHERE`, so invisible rows never load.

use entity::{customer, enums::Role, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, SelectStatement},
};

use crate::{
    auth::{
        Viewer,
        viewer::{SCOPE_CUSTOMERS_READ, SCOPE_GRAPH_READ},
    },
    error::{AppError, AppResult},
};

/// Which customers a viewer can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerScope {
    All,
    /// Customers owned by members of this team.
    Team(i64),
    /// Customers owned by this user.
    Owner(i64),
    Nothing,
}

impl CustomerScope {
    /// In-memory twin of [`visible_customers`], for live events: whether a
    /// customer owned by `owner_id` (a member of `owner_team`) is in scope.
    pub fn admits(self, owner_id: i64, owner_team: Option<i64>) -> bool {
        match self {
            Self::All => true,
            Self::Team(team) => owner_team == Some(team),
            Self::Owner(owner) => owner == owner_id,
            Self::Nothing => false,
        }
    }
}

pub fn customer_scope(viewer: &Viewer) -> CustomerScope {
    match viewer.role {
        Role::Admin | Role::Leader => CustomerScope::All,
        Role::TeamLead => viewer.team_id.map_or(CustomerScope::Owner(viewer.user_id), CustomerScope::Team),
        Role::Rep => CustomerScope::Owner(viewer.user_id),
        Role::Integration if viewer.has_scope(SCOPE_CUSTOMERS_READ) || viewer.has_scope(SCOPE_GRAPH_READ) => {
            CustomerScope::All
        }
        Role::Integration => CustomerScope::Nothing,
    }
}

fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

fn team_members(team_id: i64) -> SelectStatement {
    user::Entity::find().select_only().column(user::Column::Id).filter(user::Column::TeamId.eq(team_id)).into_query()
}

/// Condition on the `customer` table itself.
pub fn visible_customers(viewer: &Viewer) -> Condition {
    match customer_scope(viewer) {
        CustomerScope::All => Condition::all(),
        CustomerScope::Team(team) => Condition::all().add(customer::Column::OwnerId.in_subquery(team_members(team))),
        CustomerScope::Owner(owner) => Condition::all().add(customer::Column::OwnerId.eq(owner)),
        CustomerScope::Nothing => nothing(),
    }
}

/// Condition on a table whose `customer_column` refers to a customer: the row is
/// visible exactly when its customer is.
pub fn visible_through(viewer: &Viewer, customer_column: impl ColumnTrait) -> Condition {
    match customer_scope(viewer) {
        CustomerScope::All => Condition::all(),
        CustomerScope::Nothing => nothing(),
        _ => {
            let visible = customer::Entity::find()
                .select_only()
                .column(customer::Column::Id)
                .filter(visible_customers(viewer))
                .into_query();
            Condition::all().add(customer_column.in_subquery(visible))
        }
    }
}

/// The customer with this id, if the viewer can see it; NOT_FOUND otherwise.
pub async fn visible_customer(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<customer::Model> {
    customer::Entity::find_by_id(id)
        .filter(visible_customers(viewer))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("customer"))
}

/// Service accounts only read (and push revenue with their scope); people write
/// within what they can see.
pub fn ensure_can_write(viewer: &Viewer) -> AppResult<()> {
    if viewer.role == Role::Integration {
        return Err(AppError::Forbidden("service accounts cannot change customer data".to_owned()));
    }
    Ok(())
}

/// Same as [`visible_customer`], for a write: the customer must be visible and
/// the viewer must be a person.
pub async fn writable_customer(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<customer::Model> {
    ensure_can_write(viewer)?;
    visible_customer(db, viewer, id).await
}

/// Leadership and admins manage the company's structure.
pub fn ensure_leadership(viewer: &Viewer) -> AppResult<()> {
    match viewer.role {
        Role::Admin | Role::Leader => Ok(()),
        _ => Err(AppError::Forbidden("only ADMIN or LEADER may do this".to_owned())),
    }
}

pub fn ensure_admin(viewer: &Viewer) -> AppResult<()> {
    if viewer.is_admin() { Ok(()) } else { Err(AppError::Forbidden("only ADMIN may do this".to_owned())) }
}

/// Whether the viewer may make `owner` the owner of a customer: reps own what
/// they create, team leads assign within their team, leadership anywhere.
pub fn ensure_can_assign(viewer: &Viewer, owner: &user::Model) -> AppResult<()> {
    if !owner.active || owner.role == Role::Integration {
        return Err(AppError::bad_input("ownerId", "the owner must be an active employee"));
    }
    let allowed = match viewer.role {
        Role::Admin | Role::Leader => true,
        Role::TeamLead => owner.id == viewer.user_id || (owner.team_id.is_some() && owner.team_id == viewer.team_id),
        Role::Rep => owner.id == viewer.user_id,
        Role::Integration => false,
    };
    if allowed { Ok(()) } else { Err(AppError::Forbidden("you may not assign customers to this user".to_owned())) }
}

/// Condition on `app_user`: leadership sees everyone, a team lead their team,
/// a rep and a service account themselves.
pub fn visible_users(viewer: &Viewer) -> Condition {
    match viewer.role {
        Role::Admin | Role::Leader => Condition::all(),
        Role::TeamLead => match viewer.team_id {
            Some(team) => Condition::any().add(user::Column::TeamId.eq(team)).add(user::Column::Id.eq(viewer.user_id)),
            None => Condition::all().add(user::Column::Id.eq(viewer.user_id)),
        },
        Role::Rep | Role::Integration => Condition::all().add(user::Column::Id.eq(viewer.user_id)),
    }
}
