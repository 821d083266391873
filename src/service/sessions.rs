//! Password logins: argon2 password hashes, short-lived access tokens and
//! rotating refresh tokens (stored as SHA-256; a reused one revokes its whole
//! family), and throttling of failed attempts per account and per client address.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use chrono::{DateTime, Utc};
use entity::{enums::Role, refresh_token, user};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use sha2::{Digest, Sha256};

use crate::{
    auth::TokenService,
    db,
    error::{AppError, AppResult},
    service::now,
};

/// How long a refresh token lives.
pub const REFRESH_TTL_DAYS: i64 = 30;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Failed attempts allowed per window before further attempts are refused.
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    window: Duration,
    per_account: u32,
    per_address: u32,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            window: Duration::from_secs(15 * 60),
            per_account: 5,
            per_address: 20,
        }
    }
}

impl LoginThrottle {
    fn count(&self, key: &str) -> u32 {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(key).filter(|(_, since)| since.elapsed() < self.window).map_or(0, |(n, _)| *n)
    }

    fn fail(&self, key: String) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Attackers choose the keys: forget expired ones before the map grows large.
        if failures.len() >= 10_000 {
            let window = self.window;
            failures.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = failures.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// A signed-in session.
pub struct Session {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub user: user::Model,
}

fn sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Hashes a password with argon2 (off the async threads: it is slow on purpose).
pub async fn hash_password(password: String) -> AppResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_input("password", format!("at least {MIN_PASSWORD_CHARS} characters")));
    }
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(|e| AppError::Internal(e.to_string()))
}

async fn password_matches(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Sets a user's password (for `rapport user set-password`).
pub async fn set_password(db: &DatabaseConnection, email: &str, password: String) -> AppResult<()> {
    let hash = hash_password(password).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let mut row: user::ActiveModel = user.into();
    row.password_hash = Set(Some(hash));
    row.updated_at = Set(now());
    row.update(db).await?;
    Ok(())
}

async fn start(
    db: &impl ConnectionTrait,
    tokens: &TokenService,
    access_ttl: Duration,
    user: user::Model,
    family: String,
) -> AppResult<(Session, refresh_token::Model)> {
    let refresh = random_hex(32);
    let at = now();
    let row = refresh_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(sha256(&refresh)),
        family: Set(family),
        expires_at: Set(at + chrono::Duration::days(REFRESH_TTL_DAYS)),
        revoked_at: Set(None),
        replaced_by_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let access_token = tokens.issue_for(user.id, access_ttl)?;
    let expires = at + chrono::Duration::seconds(i64::try_from(access_ttl.as_secs()).unwrap_or(0));
    Ok((Session { access_token, access_expires_at: expires, refresh_token: refresh, user }, row))
}

/// Signs in with e-mail and password. Every failure looks the same.
pub async fn login(
    db: &DatabaseConnection,
    tokens: &TokenService,
    throttle: &LoginThrottle,
    access_ttl: Duration,
    email: &str,
    password: String,
    address: Option<&str>,
) -> AppResult<Session> {
    let email = email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let address_key = format!("address:{}", address.unwrap_or("unknown"));
    if throttle.count(&account_key) >= throttle.per_account || throttle.count(&address_key) >= throttle.per_address {
        return Err(AppError::RateLimited("too many failed logins; try again later".to_owned()));
    }
    let user = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(db).await?;
    let valid = match user.as_ref().filter(|u| u.active && u.role != Role::Integration) {
        Some(u) => match &u.password_hash {
            Some(hash) => password_matches(password, hash.clone()).await,
            None => false,
        },
        None => false,
    };
    let Some(user) = user.filter(|_| valid) else {
        throttle.fail(account_key);
        throttle.fail(address_key);
        return Err(AppError::Unauthenticated("wrong e-mail or password".to_owned()));
    };
    throttle.clear(&account_key);
    let txn = db::write(db).await?;
    let (session, _) = start(&txn, tokens, access_ttl, user, random_hex(16)).await?;
    txn.commit().await?;
    Ok(session)
}

/// Trades a refresh token for a new session; the old token is spent. Presenting
/// a spent token revokes its whole family: it was stolen, or the client is broken.
pub async fn refresh(
    db: &DatabaseConnection,
    tokens: &TokenService,
    access_ttl: Duration,
    token: &str,
) -> AppResult<Session> {
    let refused = || AppError::Unauthenticated("the refresh token is invalid, expired or revoked".to_owned());
    let txn = db::write(db).await?;
    let current = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256(token.trim())))
        .one(&txn)
        .await?
        .ok_or_else(refused)?;
    if current.revoked_at.is_some() {
        revoke_family(&txn, &current.family).await?;
        txn.commit().await?;
        return Err(refused());
    }
    if current.expires_at < now() {
        return Err(refused());
    }
    let user = user::Entity::find_by_id(current.user_id)
        .filter(user::Column::Active.eq(true))
        .one(&txn)
        .await?
        .ok_or_else(refused)?;
    let (session, next) = start(&txn, tokens, access_ttl, user, current.family.clone()).await?;
    let mut spent: refresh_token::ActiveModel = current.into();
    spent.revoked_at = Set(Some(now()));
    spent.replaced_by_id = Set(Some(next.id));
    spent.updated_at = Set(now());
    spent.update(&txn).await?;
    txn.commit().await?;
    Ok(session)
}

async fn revoke_family(db: &impl ConnectionTrait, family: &str) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored.
pub async fn logout(db: &DatabaseConnection, token: &str) -> AppResult<()> {
    let found =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(sha256(token.trim()))).one(db).await?;
    if let Some(row) = found {
        revoke_family(db, &row.family).await?;
    }
    Ok(())
}

/// Revokes every refresh token of a user (on deactivation).
pub async fn revoke_all(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
