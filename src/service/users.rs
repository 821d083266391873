//! Users and teams: the company's own people and service accounts.

use entity::{enums::Role, team, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select, Set};
use serde_json::json;

use crate::service::write::{Effect, Write};
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{Services, audit, changes::Change, now, update_versioned, validate},
};

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub team_id: Option<i64>,
    pub roles: Vec<Role>,
    pub active: Option<bool>,
    pub search: Option<String>,
}

pub fn select(viewer: &Viewer, filter: &UserFilter) -> Select<user::Entity> {
    let mut query = user::Entity::find().filter(policy::visible_users(viewer));
    if let Some(team) = filter.team_id {
        query = query.filter(user::Column::TeamId.eq(team));
    }
    if !filter.roles.is_empty() {
        query = query.filter(user::Column::Role.is_in(filter.roles.iter().copied()));
    }
    if let Some(active) = filter.active {
        query = query.filter(user::Column::Active.eq(active));
    }
    if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
        query = query.filter(crate::db::name_contains(user::Column::Name, term));
    }
    query
}

pub fn select_teams(viewer: &Viewer) -> Select<team::Entity> {
    let query = team::Entity::find().filter(team::Column::ArchivedAt.is_null());
    match (viewer.role, viewer.team_id) {
        (Role::Admin | Role::Leader, _) => query,
        (_, Some(own)) => query.filter(team::Column::Id.eq(own)),
        (_, None) => query.filter(team::Column::Id.eq(-1_i64)),
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<i64>,
    pub scopes: Vec<String>,
    pub phone: Option<String>,
}

/// Checks that `scopes` are known and held only by a service account; returns
/// them as stored (sorted, space-separated).
fn valid_scopes(role: Role, scopes: &[String]) -> AppResult<String> {
    if role != Role::Integration && !scopes.is_empty() {
        return Err(AppError::bad_input("scopes", "only INTEGRATION accounts hold scopes"));
    }
    policy::ensure_known_scopes(scopes)?;
    let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted.join(" "))
}

async fn existing_team(db: &impl ConnectionTrait, team_id: i64) -> AppResult<()> {
    team::Entity::find_by_id(team_id).one(db).await?.ok_or_else(|| AppError::bad_input("teamId", "no such team"))?;
    Ok(())
}

/// Creates a user without an access check: for the CLI and the demo seed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_user(db: &impl ConnectionTrait, input: NewUser) -> AppResult<user::Model> {
    let email = validate::email("email", &input.email)?;
    let name = validate::required_text("name", &input.name, 200)?;
    let phone = validate::optional_text("phone", input.phone, 50)?;
    let scopes = valid_scopes(input.role, &input.scopes)?;
    if let Some(team_id) = input.team_id {
        existing_team(db, team_id).await?;
    }
    let at = now();
    Ok(user::ActiveModel {
        email: Set(email),
        name: Set(name),
        role: Set(input.role),
        team_id: Set(input.team_id),
        active: Set(true),
        scopes: Set(scopes),
        phone: Set(phone),
        password_hash: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Changes to a user; `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub team_id: Option<Option<i64>>,
    pub scopes: Option<Vec<String>>,
    pub phone: Option<Option<String>>,
}

/// Changes a user's name, role, team, scopes or phone (ADMIN). The change
/// takes effect at once: over HTTP from the next request, on open WebSocket
/// connections from their next operation or event, on every instance.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update_user(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    changes: UserChanges,
) -> AppResult<user::Model> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = user::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("user"))?;
    validate::version("user", expected_version, current.version)?;
    let role = changes.role.unwrap_or(current.role);
    if id == viewer.user_id && role != Role::Admin {
        return Err(AppError::bad_input("role", "you cannot take ADMIN away from yourself"));
    }
    let mut row = changed_row(&*w, &current, role, changes).await?;
    // A person signs in; an account that stops being a service account loses
    // its API tokens in this transaction, so none outlives the role it was
    // issued under (its open connections close on the announcement below).
    let revoked_tokens = if current.role == Role::Integration && role != Role::Integration {
        crate::service::api_tokens::revoke_all_of(&*w, id).await?
    } else {
        0
    };
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let updated = update_versioned::<user::Entity>(
        &*w,
        row,
        (user::Column::Id, id),
        (user::Column::Version, current.version),
        "user",
    )
    .await?;
    let mut diff = audit::diff(&current, &updated);
    if revoked_tokens > 0 {
        diff["revokedApiTokens"] = serde_json::json!(revoked_tokens);
    }
    w.audit("update", "user", id, diff);
    if updated.team_id != current.team_id {
        let moved = team_moves(&*w, id, current.team_id).await?;
        w.changes(moved);
    }
    w.after(Effect::UserChanged(id));
    w.commit(svc).await?;
    Ok(updated)
}

/// The fields to write, each checked; `role` is the one the user ends with,
/// which decides the scopes they may hold.
async fn changed_row(
    db: &impl ConnectionTrait,
    current: &user::Model,
    role: Role,
    changes: UserChanges,
) -> AppResult<user::ActiveModel> {
    let mut row = user::ActiveModel { ..Default::default() };
    if let Some(name) = changes.name {
        row.name = Set(validate::required_text("name", &name, 200)?);
    }
    if let Some(phone) = changes.phone {
        row.phone = Set(validate::optional_text("phone", phone, 50)?);
    }
    if let Some(team) = changes.team_id {
        if let Some(team_id) = team {
            existing_team(db, team_id).await?;
        }
        row.team_id = Set(team);
    }
    let scopes = match (changes.scopes, changes.role) {
        (Some(scopes), _) => Some(scopes),
        // A person holds no scopes: changing an account to a person drops them.
        (None, Some(role)) if role != Role::Integration => Some(Vec::new()),
        (None, _) => None,
    };
    if let Some(scopes) = scopes {
        row.scopes = Set(valid_scopes(role, &scopes)?);
    } else if role != current.role {
        valid_scopes(role, &current.scopes.split_whitespace().map(str::to_owned).collect::<Vec<_>>())?;
    }
    if role != current.role {
        if role == Role::Integration {
            ensure_owns_no_customers(db, current.id).await?;
        }
        row.role = Set(role);
    }
    Ok(row)
}

/// Customers are owned by people: a user who owns some hands them over before becoming a service account.
async fn ensure_owns_no_customers(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    let owned = entity::customer::Entity::find().filter(entity::customer::Column::OwnerId.eq(id)).one(db).await?;
    if owned.is_some() {
        return Err(AppError::conflict("the user owns customers: reassign them before making it a service account"));
    }
    Ok(())
}

/// A team change moves the user's customers out of one lead's view and
/// into another's: the change feed says so, one entry per customer.
async fn team_moves(db: &impl ConnectionTrait, id: i64, previous_team: Option<i64>) -> AppResult<Vec<Change>> {
    let owned: Vec<i64> = entity::customer::Entity::find()
        .select_only()
        .column(entity::customer::Column::Id)
        .filter(entity::customer::Column::OwnerId.eq(id))
        .filter(entity::customer::Column::ArchivedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(owned.into_iter().map(|c| Change::owner_moved_team(c, id, previous_team)).collect())
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create_user(svc: &crate::service::Services, viewer: &Viewer, input: NewUser) -> AppResult<user::Model> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let model = insert_user(&*w, input).await?;
    w.audit("create", "user", model.id, json!({"email": model.email, "role": model.role.as_str()}));
    w.commit(svc).await?;
    Ok(model)
}

/// Creates a team without an access check: for the demo seed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_team(db: &impl ConnectionTrait, name: &str) -> AppResult<team::Model> {
    let name = validate::required_text("name", name, 200)?;
    let at = now();
    Ok(team::ActiveModel {
        name: Set(name),
        lead_id: Set(None),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create_team(
    svc: &crate::service::Services,
    viewer: &Viewer,
    name: &str,
    lead_id: Option<i64>,
) -> AppResult<team::Model> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let mut model = insert_team(&*w, name).await?;
    if let Some(lead) = lead_id {
        user::Entity::find_by_id(lead).one(&*w).await?.ok_or_else(|| AppError::bad_input("leadId", "no such user"))?;
        let mut row: team::ActiveModel = model.into();
        row.lead_id = Set(Some(lead));
        model = row.update(&*w).await?;
    }
    w.audit("create", "team", model.id, json!({"name": model.name}));
    w.commit(svc).await?;
    Ok(model)
}

/// Deactivates a user and hands all their customers to `reassign_to`, in one
/// transaction, so no customer is ever owned by an inactive user.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn deactivate(svc: &Services, viewer: &Viewer, id: i64, reassign_to: i64) -> AppResult<user::Model> {
    policy::ensure_leadership(viewer)?;
    if id == viewer.user_id {
        return Err(AppError::bad_input("id", "you cannot deactivate yourself"));
    }
    let mut w = Write::begin(svc, viewer).await?;
    let current = user::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("user"))?;
    if !current.active {
        return Err(AppError::conflict("the user is already inactive"));
    }
    if current.role == Role::Admin && !viewer.is_admin() {
        return Err(AppError::Forbidden("only ADMIN may deactivate an ADMIN".to_owned()));
    }
    let (moved, events) = crate::service::ownership::reassign_in(&mut w, viewer, id, reassign_to, None).await?;
    let handed = crate::service::ownership::hand_over_tasks(&*w, id).await?;
    w.changes(handed.iter().map(|(task, customer)| {
        crate::service::changes::Change::new(
            crate::service::changes::ChangeEntity::Task,
            *task,
            crate::service::changes::Operation::Updated,
            *customer,
        )
    }));
    w.after(crate::service::write::Effect::TasksAssigned(handed.iter().map(|(task, _)| *task).collect()));
    crate::service::sessions::revoke_all(&*w, id).await?;
    let mut row: user::ActiveModel = current.clone().into();
    row.active = Set(false);
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let updated = row.update(&*w).await?;
    w.audit(
        "deactivate",
        "user",
        id,
        json!({"active": [true, false], "customersTo": reassign_to, "customers": moved.len()}),
    );
    w.after(Effect::UserChanged(id));
    w.after(Effect::Publish(events));
    w.commit(svc).await?;
    Ok(updated)
}
