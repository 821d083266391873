//! Users and teams: the company's own people and service accounts.

use entity::{enums::Role, team, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Select, Set,
};
use serde_json::json;

use crate::{
    auth::Viewer,
    error::{AppError, AppResult},
    policy,
    service::{audit, customers::name_contains, now, validate},
};

/// Scopes a service account may hold.
pub const KNOWN_SCOPES: [&str; 4] = ["customers:read", "graph:read", "revenue:write", "tickets:read"];

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
        query = query.filter(name_contains(user::Column::Name, term));
    }
    query
}

pub fn select_teams(viewer: &Viewer) -> Select<team::Entity> {
    let query = team::Entity::find().filter(team::Column::ArchivedAt.is_null());
    match (viewer.role, viewer.team_id) {
        (Role::Admin | Role::Leader, _) => query,
        (_, Some(own)) => query.filter(team::Column::Id.eq(own)),
        (_, None) => query.filter(team::Column::Id.eq(-1)),
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<i64>,
    pub scopes: Vec<String>,
}

/// Creates a user without an access check: for the CLI and the demo seed.
pub async fn insert_user(db: &impl ConnectionTrait, input: NewUser) -> AppResult<user::Model> {
    let email = validate::email("email", &input.email)?;
    let name = validate::required_text("name", &input.name, 200)?;
    if input.role != Role::Integration && !input.scopes.is_empty() {
        return Err(AppError::bad_input("scopes", "only INTEGRATION accounts hold scopes"));
    }
    if let Some(unknown) = input.scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(AppError::bad_input("scopes", format!("unknown scope {unknown:?}")));
    }
    if let Some(team_id) = input.team_id {
        team::Entity::find_by_id(team_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::bad_input("teamId", "no such team"))?;
    }
    let at = now();
    Ok(user::ActiveModel {
        email: Set(email),
        name: Set(name),
        role: Set(input.role),
        team_id: Set(input.team_id),
        active: Set(true),
        scopes: Set(input.scopes.join(" ")),
        password_hash: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn create_user(db: &DatabaseConnection, viewer: &Viewer, input: NewUser) -> AppResult<user::Model> {
    policy::ensure_admin(viewer)?;
    let txn = crate::db::write(db).await?;
    let model = insert_user(&txn, input).await?;
    audit::record(&txn, viewer, "create", "user", model.id, json!({"email": model.email, "role": model.role.as_str()}))
        .await?;
    txn.commit().await?;
    Ok(model)
}

/// Creates a team without an access check: for the demo seed.
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

pub async fn create_team(
    db: &DatabaseConnection,
    viewer: &Viewer,
    name: &str,
    lead_id: Option<i64>,
) -> AppResult<team::Model> {
    policy::ensure_admin(viewer)?;
    let txn = crate::db::write(db).await?;
    let mut model = insert_team(&txn, name).await?;
    if let Some(lead) = lead_id {
        user::Entity::find_by_id(lead).one(&txn).await?.ok_or_else(|| AppError::bad_input("leadId", "no such user"))?;
        let mut row: team::ActiveModel = model.into();
        row.lead_id = Set(Some(lead));
        model = row.update(&txn).await?;
    }
    audit::record(&txn, viewer, "create", "team", model.id, json!({"name": model.name})).await?;
    txn.commit().await?;
    Ok(model)
}
