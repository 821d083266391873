//! Letting a new user in without shell access to the server: an ADMIN invites
//! a user (there is no e-mail, so the token is returned once, to the ADMIN, to
//! pass on), and the invitation is redeemed once, without signing in, by
//! choosing a password. Only the token's SHA-256 is stored.

use chrono::{DateTime, Utc};
use entity::{enums::Role, invitation, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde_json::json;

use crate::{
    error::{AppError, AppResult},
    policy::{self, Viewer},
    service::{
        Services, now,
        sessions::{self, Client, Session},
        write::Write,
    },
};

/// How long an invitation stays good when the ADMIN does not say.
pub const DEFAULT_VALID_HOURS: i64 = 72;
/// The longest an invitation may stay good: a token lying in a chat for a month is a risk.
pub const MAX_VALID_HOURS: i64 = 14 * 24;

/// An invitation as issued: the token exists only here.
pub struct Issued {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

/// ADMIN only. A newer invitation replaces any open one for the same user.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id = user_id))]
pub async fn invite(svc: &Services, viewer: &Viewer, user_id: i64, valid_hours: Option<i64>) -> AppResult<Issued> {
    policy::ensure_admin(viewer)?;
    let hours = valid_hours.unwrap_or(DEFAULT_VALID_HOURS);
    if !(1..=MAX_VALID_HOURS).contains(&hours) {
        return Err(AppError::bad_input("validForHours", format!("between 1 and {MAX_VALID_HOURS}")));
    }
    let mut w = Write::begin(svc, viewer).await?;
    let invited = user::Entity::find_by_id(user_id).one(&*w).await?.ok_or(AppError::NotFound("user"))?;
    if invited.role == Role::Integration {
        return Err(AppError::bad_input("id", "service accounts sign in with API tokens, not passwords"));
    }
    if !invited.active {
        return Err(AppError::conflict("the user is inactive"));
    }
    // A first password only: an invitation must not become a way to take over
    // an account that has one (a password is changed by its owner).
    if invited.password_hash.is_some() {
        return Err(AppError::conflict("the user has a password already; they change it with changePassword"));
    }
    let at = now();
    let replaced = invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(at))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(at))
        .filter(invitation::Column::UserId.eq(user_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(&*w)
        .await?
        .rows_affected;
    let token = format!("inv_{}", sessions::random_hex(24));
    let expires_at = at + chrono::Duration::hours(hours);
    let row = invitation::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(sessions::sha256(&token)),
        created_by: Set(viewer.user_id),
        expires_at: Set(expires_at),
        accepted_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    w.audit(
        "invite",
        "user",
        user_id,
        json!({"invitation": row.id, "expires_at": expires_at, "replaced": replaced, "email": invited.email}),
    );
    w.commit(svc).await?;
    Ok(Issued { token, expires_at, user: invited })
}

/// Redeems an invitation: sets the password, spends the invitation, ends
/// any session the user had, and signs in. Refusals look alike (unknown,
/// spent, replaced, expired), are throttled by address and audited.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn accept(svc: &Services, token: &str, password: String, client: &Client) -> AppResult<Session> {
    let refused = || AppError::Unauthenticated("the invitation is invalid, expired or already used".to_owned());
    let address_key = sessions::address_key(client);
    sessions::check_throttle(svc, client, &address_key, "invitation").await?;
    // Checked before the token: a weak password is the caller's to fix and spends nothing.
    let hash = sessions::hash_password(password).await?;
    let found = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(sessions::sha256(token.trim())))
        .one(&svc.db)
        .await?;
    let at = now();
    let open = found.filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > at);
    let invited = match &open {
        Some(invitation) => user::Entity::find_by_id(invitation.user_id)
            .filter(user::Column::Active.eq(true))
            .one(&svc.db)
            .await?
            .filter(|u| u.role != Role::Integration && u.password_hash.is_none()),
        None => None,
    };
    let (Some(invitation), Some(invited)) = (open, invited) else {
        svc.throttle.fail(address_key);
        sessions::refused(svc, client, json!({"reason": "invalid invitation", "address": client.address})).await?;
        return Err(refused());
    };
    let user_id = invited.id;
    let mut w = Write::begin_as(svc, Some(user_id), client.description.clone()).await?;
    // Read again inside the write: a password set since the check above ends the invitation.
    let still_open = user::Entity::find_by_id(user_id)
        .filter(user::Column::PasswordHash.is_null())
        .filter(user::Column::Active.eq(true))
        .one(&*w)
        .await?;
    let Some(invited) = still_open else { return Err(refused()) };
    // Spent in the same statement that checks it is open: two redemptions at once, one wins.
    let spent = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(at))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(at))
        .filter(invitation::Column::Id.eq(invitation.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(at))
        .exec(&*w)
        .await?;
    if spent.rows_affected != 1 {
        return Err(refused());
    }
    let mut row: user::ActiveModel = invited.clone().into();
    row.password_hash = Set(Some(hash));
    row.updated_at = Set(at);
    row.update(&*w).await?;
    sessions::revoke_all(&*w, user_id).await?;
    let session = sessions::start_in(&mut w, svc, invited).await?;
    w.audit("accept_invitation", "user", user_id, json!({"invitation": invitation.id, "address": client.address}));
    w.commit(svc).await?;
    Ok(session)
}
