//! Managing API tokens of service accounts (ADMIN only). How a token
//! authenticates is `crate::auth::api_tokens`.

use chrono::{DateTime, Utc};
use entity::{api_token, enums::Role, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Select, Set};
use serde_json::json;

use crate::service::write::{Effect, Write};
use crate::{
    auth::api_tokens,
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{Services, now, validate},
};

/// Creates a token for a service account; returns it with the token, shown only here.
/// `scopes` must be among the account's own (omitted: all of them).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(
    svc: &Services,
    viewer: &Viewer,
    user_id: i64,
    name: &str,
    scopes: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(api_token::Model, String)> {
    policy::ensure_admin(viewer)?;
    let name = validate::required_text("name", name, 100)?;
    if expires_at.is_some_and(|at| at <= now()) {
        return Err(AppError::bad_input("expiresAt", "expiresAt must be in the future"));
    }
    let mut w = Write::begin(svc, viewer).await?;
    let account = user::Entity::find_by_id(user_id).one(&*w).await?.ok_or(AppError::NotFound("user"))?;
    if account.role != Role::Integration {
        return Err(AppError::bad_input("userId", "API tokens are for INTEGRATION accounts; people sign in"));
    }
    if !account.active {
        return Err(AppError::bad_input("userId", "the account is inactive"));
    }
    let held: Vec<&str> = account.scopes.split_whitespace().collect();
    let mut scopes = scopes.unwrap_or_else(|| held.iter().map(|s| (*s).to_owned()).collect());
    if let Some(wider) = scopes.iter().find(|s| !held.contains(&s.as_str())) {
        return Err(AppError::bad_input(
            "scopes",
            format!("the account does not hold {wider:?}: a token can carry fewer scopes than its account, never more"),
        ));
    }
    scopes.sort();
    scopes.dedup();
    let (token, hash) = api_tokens::mint();
    let at = now();
    let model = api_token::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.clone()),
        scopes: Set(scopes.join(" ")),
        token_hash: Set(hash),
        prefix: Set(token.chars().take(12).collect()),
        created_by: Set(viewer.user_id),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    w.audit("create", "api_token", model.id, json!({"userId": user_id, "name": name, "scopes": scopes}));
    w.commit(svc).await?;
    Ok((model, token))
}

/// The tokens (ADMIN), of one account if given, revoked ones included.
pub fn select(viewer: &Viewer, user_id: Option<i64>) -> AppResult<Select<api_token::Entity>> {
    policy::ensure_admin(viewer)?;
    let mut query = api_token::Entity::find();
    if let Some(user) = user_id {
        query = query.filter(api_token::Column::UserId.eq(user));
    }
    Ok(query)
}

/// Revokes every live token of an account, inside the caller's transaction;
/// returns how many.
pub async fn revoke_all_of(db: &impl sea_orm::ConnectionTrait, user_id: i64) -> AppResult<u64> {
    let at = now();
    let result = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, sea_orm::sea_query::Expr::value(at))
        .col_expr(api_token::Column::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Ends a token at once, everywhere: its next use is refused, and open
/// WebSocket connections made with it close.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn revoke(svc: &Services, viewer: &Viewer, id: i64) -> AppResult<api_token::Model> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = api_token::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("API token"))?;
    if current.revoked_at.is_some() {
        return Ok(current);
    }
    let mut row: api_token::ActiveModel = current.into();
    let at = now();
    row.revoked_at = Set(Some(at));
    row.updated_at = Set(at);
    let revoked = row.update(&*w).await?;
    w.audit("revoke", "api_token", id, json!({}));
    // Connections re-check their token when their user is announced as changed.
    w.after(Effect::UserChanged(revoked.user_id));
    w.commit(svc).await?;
    Ok(revoked)
}
