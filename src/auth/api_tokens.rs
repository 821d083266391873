//! API tokens of service accounts: `rpt_` and 32 random bytes (base64url).
//! Only the SHA-256 of a token is stored. A token carries its own scopes,
//! and a request made with it gets those that the account still holds: the
//! intersection, taken at every use, so narrowing the account narrows its
//! tokens at once. Tokens are not cached: every use reads the token and its
//! account (two statements on unique keys), so a revocation takes effect at once on
//! every instance. Only an active INTEGRATION account's tokens authenticate.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{api_token, enums::Role, user};
use rand::RngCore;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use sha2::{Digest, Sha256};

use crate::{
    error::{AppError, AppResult},
    policy::Viewer,
};

/// What every API token starts with (JWTs never do).
pub const PREFIX: &str = "rpt_";
/// How often `lastUsedAt` is written for a token in steady use.
const LAST_USED_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// The SHA-256 (hex) a token is stored and found by.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token and its hash.
pub fn mint() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hashed = hash(&token);
    (token, hashed)
}

/// Whether a bearer value is an API token rather than a JWT.
pub fn is_api_token(bearer: &str) -> bool {
    bearer.starts_with(PREFIX)
}

/// The viewer of a live token (not revoked, not expired, its account active)
/// by the token's hash, and when it expires (Unix seconds; far away for a
/// token without expiry).
pub async fn viewer(db: &DatabaseConnection, token_hash: &str) -> AppResult<(Viewer, i64)> {
    let unknown = || AppError::Unauthenticated("the API token is unknown, revoked or expired".to_owned());
    let token = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(unknown)?;
    let account = user::Entity::find_by_id(token.user_id).one(db).await?.ok_or_else(unknown)?;
    let now = crate::db::now();
    // A token is an integration credential: it stops working the moment its
    // account is no longer an active service account (a role change also
    // revokes it, `crate::service::users::update_user`).
    if token.expires_at.is_some_and(|at| at <= now) || !account.active || account.role != Role::Integration {
        return Err(unknown());
    }
    let mut viewer = Viewer::from_model(&account);
    let granted: Vec<&str> = token.scopes.split_whitespace().collect();
    viewer.scopes.retain(|s| granted.contains(&s.as_str()));
    if token.last_used_at.is_none_or(|at| now - at >= LAST_USED_EVERY) {
        touch(db.clone(), token.id, now);
    }
    let expires_at = token.expires_at.map_or(i64::MAX / 2, |at| at.timestamp());
    Ok((viewer, expires_at))
}

/// Records the use in the background: the request does not wait for a write.
fn touch(db: DatabaseConnection, id: i64, at: chrono::DateTime<chrono::Utc>) {
    tokio::spawn(async move {
        let written = api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(at))
            .filter(api_token::Column::Id.eq(id))
            .exec(&db)
            .await;
        if let Err(err) = written {
            tracing::warn!(error = %err, token_id = id, "recording an API token's use failed");
        }
    });
}
