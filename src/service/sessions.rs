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

use crate::service::write::Write;
use crate::{
    auth::TokenService,
    db,
    error::{AppError, AppResult},
    service::{Services, now},
};

/// Where a sign-in comes from: the client address (for throttling) and its
/// description (for the audit trail).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub address: Option<String>,
    pub description: Option<String>,
}

/// A hash no password matches, checked when the e-mail is unknown so that a
/// refusal takes as long whether or not the account exists.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(random_hex(16).as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

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

    pub(crate) fn fail(&self, key: String) {
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

pub(crate) fn sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn random_hex(bytes: usize) -> String {
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

/// Whether `password` matches `hash`; with no hash, checks a dummy one (and fails).
async fn password_matches(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let matches = PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// Computes the dummy hash ahead of the first sign-in (it takes as long as a password check).
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| dummy_hash().len()).await;
}

/// Sets a user's password (for `rapport user set-password`).
#[tracing::instrument(level = "debug", skip_all)]
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

/// Records a refused sign-in in the audit trail, in a write of its own:
/// nothing else is written.
pub(crate) async fn refused(svc: &Services, client: &Client, details: serde_json::Value) -> AppResult<()> {
    let mut w = Write::begin_as(svc, None, client.description.clone()).await?;
    w.audit("login_refused", "session", 0, details);
    w.commit(svc).await
}

/// Signs in with e-mail and password. Every failure looks the same and takes
/// as long (an unknown e-mail is checked against a dummy hash), is throttled,
/// and is recorded in the audit trail with the e-mail that was tried.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn login(svc: &Services, email: &str, password: String, client: &Client) -> AppResult<Session> {
    let (db, throttle) = (&svc.db, &svc.throttle);
    let email = email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let address_key = address_key(client);
    if throttle.count(&account_key) >= throttle.per_account {
        return Err(throttled(svc, client, &email).await);
    }
    check_throttle(svc, client, &address_key, &email).await?;
    let user = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(db).await?;
    let hash = user.as_ref().filter(|u| u.active && u.role != Role::Integration).and_then(|u| u.password_hash.clone());
    // No account: the same work against a dummy hash, so the timing says nothing.
    let valid = password_matches(password, hash).await;
    let Some(user) = user.filter(|_| valid) else {
        throttle.fail(account_key);
        throttle.fail(address_key);
        let details =
            serde_json::json!({"email": email, "reason": "wrong e-mail or password", "address": client.address});
        refused(svc, client, details).await?;
        metrics::counter!("rapport_sign_in_failures_total", "reason" => "wrong_password").increment(1);
        return Err(AppError::Unauthenticated("wrong e-mail or password".to_owned()));
    };
    throttle.clear(&account_key);
    let user_id = user.id;
    let mut w = Write::begin_as(svc, Some(user_id), client.description.clone()).await?;
    let (session, row) = start(&*w, &svc.tokens, svc.config.access_token_ttl, user, random_hex(16)).await?;
    w.audit("login", "session", user_id, serde_json::json!({"family": row.family, "address": client.address}));
    w.commit(svc).await?;
    Ok(session)
}

/// The throttle's key for a client address.
pub(crate) fn address_key(client: &Client) -> String {
    format!("address:{}", client.address.as_deref().unwrap_or("unknown"))
}

/// Refuses (audited, counted) a client address over its failed attempts.
/// `attempted` is what the refused attempt was for (an e-mail, an invitation).
pub(crate) async fn check_throttle(
    svc: &Services,
    client: &Client,
    address_key: &str,
    attempted: &str,
) -> AppResult<()> {
    if svc.throttle.count(address_key) >= svc.throttle.per_address {
        return Err(throttled(svc, client, attempted).await);
    }
    Ok(())
}

async fn throttled(svc: &Services, client: &Client, attempted: &str) -> AppError {
    let details = serde_json::json!({"email": attempted, "reason": "throttled", "address": client.address});
    if let Err(err) = refused(svc, client, details).await {
        return err;
    }
    metrics::counter!("rapport_sign_in_failures_total", "reason" => "throttled").increment(1);
    AppError::RateLimited("too many failed attempts; try again later".to_owned())
}

/// Starts a new login for `user` inside a write (a first password, a changed one).
pub(crate) async fn start_in(w: &mut Write, svc: &Services, user: user::Model) -> AppResult<Session> {
    let (session, _) = start(&**w, &svc.tokens, svc.config.access_token_ttl, user, random_hex(16)).await?;
    Ok(session)
}

/// The signed-in user changes their own password: the current one is
/// checked (failures throttled like logins), every other login of theirs
/// ends, and a new session is returned so this client stays signed in.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn change_password(
    svc: &Services,
    viewer: &crate::policy::Viewer,
    current: String,
    new: String,
    client: &Client,
) -> AppResult<Session> {
    if viewer.role == Role::Integration {
        return Err(AppError::Forbidden("service accounts sign in with API tokens, not passwords".to_owned()));
    }
    let account = user::Entity::find_by_id(viewer.user_id).one(&svc.db).await?.ok_or(AppError::NotFound("user"))?;
    // A throttle of its own: wrong guesses by whoever holds a stolen access
    // token must not lock the real user out of `login`.
    let account_key = format!("password-change:{}", account.email);
    if svc.throttle.count(&account_key) >= svc.throttle.per_account {
        return Err(throttled(svc, client, &account.email).await);
    }
    let hash = hash_password(new).await?;
    if !password_matches(current, account.password_hash.clone()).await {
        svc.throttle.fail(account_key);
        let details =
            serde_json::json!({"email": account.email, "reason": "wrong current password", "address": client.address});
        refused(svc, client, details).await?;
        return Err(AppError::bad_input("currentPassword", "the current password is wrong"));
    }
    svc.throttle.clear(&account_key);
    let mut w = Write::begin_as(svc, Some(account.id), client.description.clone()).await?;
    let mut row: user::ActiveModel = account.clone().into();
    row.password_hash = Set(Some(hash));
    row.updated_at = Set(now());
    row.update(&*w).await?;
    revoke_all(&*w, account.id).await?;
    let session = start_in(&mut w, svc, account).await?;
    w.audit("change_password", "user", viewer.user_id, serde_json::json!({"address": client.address}));
    w.commit(svc).await?;
    Ok(session)
}

/// Trades a refresh token for a new session; the old token is spent. Presenting
/// a spent token revokes its whole family: it was stolen, or the client is broken.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn refresh(svc: &Services, token: &str, client: &Client) -> AppResult<Session> {
    let (tokens, access_ttl) = (&svc.tokens, svc.config.access_token_ttl);
    let refused = || AppError::Unauthenticated("the refresh token is invalid, expired or revoked".to_owned());
    let txn = db::write(&svc.db).await?;
    let current = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256(token.trim())))
        .one(&txn)
        .await?
        .ok_or_else(refused)?;
    drop(txn);
    let mut w = Write::begin_as(svc, Some(current.user_id), client.description.clone()).await?;
    if current.revoked_at.is_some() {
        // A spent token presented again: the whole login is revoked, as stolen or replayed.
        revoke_family(&*w, &current.family).await?;
        w.audit("refresh_refused", "session", current.user_id, serde_json::json!({"family": current.family}));
        w.commit(svc).await?;
        return Err(refused());
    }
    if current.expires_at < now() {
        return Err(refused());
    }
    let user = user::Entity::find_by_id(current.user_id)
        .filter(user::Column::Active.eq(true))
        .one(&*w)
        .await?
        .ok_or_else(refused)?;
    let (session, next) = start(&*w, tokens, access_ttl, user, current.family.clone()).await?;
    w.audit("refresh", "session", current.user_id, serde_json::json!({"family": current.family}));
    let mut spent: refresh_token::ActiveModel = current.into();
    spent.revoked_at = Set(Some(now()));
    spent.replaced_by_id = Set(Some(next.id));
    spent.updated_at = Set(now());
    spent.update(&*w).await?;
    w.commit(svc).await?;
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

/// Ends the session the refresh token belongs to, and records it. An
/// unknown token ends nothing, and is recorded as such.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn logout(svc: &Services, token: &str, client: &Client) -> AppResult<()> {
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256(token.trim())))
        .one(&svc.db)
        .await?;
    let Some(row) = found else {
        // Nothing to end; the attempt is on record all the same.
        let mut w = Write::begin_as(svc, None, client.description.clone()).await?;
        w.audit("logout_unknown", "session", 0, serde_json::json!({"address": client.address}));
        return w.commit(svc).await;
    };
    let mut w = Write::begin_as(svc, Some(row.user_id), client.description.clone()).await?;
    revoke_family(&*w, &row.family).await?;
    w.audit("logout", "session", row.user_id, serde_json::json!({"family": row.family, "address": client.address}));
    w.commit(svc).await
}

/// Revokes every refresh token of a user (on deactivation).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_all(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
