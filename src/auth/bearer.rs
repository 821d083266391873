//! `Authorization: Bearer <token>` to a [`Viewer`], the same way for HTTP
//! requests and WebSocket connections.
//!
//! The user behind a token is cached for a few seconds, so a request costs no
//! user lookup. The cache never outlives a change that matters: deactivating a
//! user or changing their role, team or scopes invalidates their entry at once
//! on every instance (`crate::feed` carries the signal), and a token's own
//! expiry is checked on every use.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;

use crate::{
    auth::{
        TokenService, api_tokens,
        jwt::{Subject, Verified},
    },
    error::{AppError, AppResult},
    policy::{Viewer, fields::FieldPolicy},
};

/// How long a user looked up for a token is reused.
pub const VIEWER_CACHE_TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; beyond it the cache is cleared (it refills in one lookup per user).
const VIEWER_CACHE_SIZE: usize = 10_000;
/// Verified tokens kept at most; beyond it the cache is cleared (each refills in one verification).
const TOKEN_CACHE_SIZE: usize = 10_000;

/// A verified token and the user it names.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub viewer: Viewer,
    /// What the token names, for re-checks of long-lived connections.
    pub subject: Subject,
    /// Unix time (seconds) at which the token expires.
    pub expires_at: i64,
}

/// The field policy as read, and when.
type ReadPolicy = (Arc<FieldPolicy>, Instant);

/// Verifies bearer tokens and loads (or reuses) the user they name, with
/// the sensitive fields the stored policy hides from them.
pub struct Authenticator {
    tokens: TokenService,
    db: DatabaseConnection,
    cache: Mutex<HashMap<Subject, (Viewer, Instant)>>,
    /// Tokens whose signature and claims were checked, by their text. A JWT
    /// cannot change or be revoked (an API token can, and is never kept here),
    /// and the keys are fixed for the life of the process, so a token once
    /// verified stays so until it expires: a mobile client sends the same
    /// token with every request, and the signature is checked once.
    verified: Mutex<HashMap<Box<str>, Verified>>,
    ttl: Duration,
    /// The field policy, read once and kept until a change of it is announced
    /// (`clear`). The generation moves at every clear, so a policy read
    /// before a clear is never kept after it.
    /// It is also read again after [`VIEWER_CACHE_TTL`], as users are, should an announcement be lost.
    fields: Mutex<(u64, Option<ReadPolicy>)>,
}

impl Authenticator {
    pub fn new(tokens: TokenService, db: DatabaseConnection) -> Self {
        Self {
            tokens,
            db,
            cache: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
            ttl: VIEWER_CACHE_TTL,
            fields: Mutex::new((0, None)),
        }
    }

    /// The stored field policy, from the cache when it holds one.
    pub async fn field_policy(&self) -> AppResult<Arc<FieldPolicy>> {
        let generation = {
            let fields = self.fields.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((policy, at)) = &fields.1
                && at.elapsed() < self.ttl
            {
                return Ok(policy.clone());
            }
            fields.0
        };
        let policy = Arc::new(FieldPolicy::load(&self.db).await?);
        let mut fields = self.fields.lock().unwrap_or_else(|p| p.into_inner());
        if fields.0 == generation {
            fields.1 = Some((policy.clone(), Instant::now()));
        }
        Ok(policy)
    }

    async fn with_fields(&self, mut viewer: Viewer) -> AppResult<Viewer> {
        viewer.hidden = self.field_policy().await?.hidden_for(&viewer);
        Ok(viewer)
    }

    /// The viewer named by an `Authorization` header value (`Bearer <token>`).
    pub async fn authenticate(&self, header: Option<&str>) -> AppResult<Authenticated> {
        let header = header.ok_or_else(|| AppError::Unauthenticated("a bearer token is required".to_owned()))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| AppError::Unauthenticated("the Authorization header must be `Bearer <token>`".to_owned()))?;
        let token = token.trim();
        if api_tokens::is_api_token(token) {
            let hash = api_tokens::hash(token);
            let (viewer, expires_at) = api_tokens::viewer(&self.db, &hash).await?;
            let viewer = self.with_fields(viewer).await?;
            return Ok(Authenticated { viewer, subject: Subject::ApiToken(hash), expires_at });
        }
        let Verified { subject, expires_at } = self.verify(token)?;
        let viewer = self.viewer(&subject).await?;
        Ok(Authenticated { viewer, subject, expires_at })
    }

    /// A JWT's subject and expiry, verified once and then reused until it
    /// expires. A reused token is held to its expiry without the leeway the
    /// full check allows; within the leeway it is verified again each time.
    fn verify(&self, token: &str) -> AppResult<Verified> {
        let now = chrono::Utc::now().timestamp();
        let lock = || self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(verified) = lock().get(token).filter(|v| now < v.expires_at) {
            return Ok(verified.clone());
        }
        let verified = self.tokens.verify(token)?;
        if now < verified.expires_at {
            let mut cache = lock();
            if cache.len() >= TOKEN_CACHE_SIZE {
                cache.clear();
            }
            cache.insert(token.into(), verified.clone());
        }
        Ok(verified)
    }

    /// The active user a token names, from the cache when fresh.
    pub async fn viewer(&self, subject: &Subject) -> AppResult<Viewer> {
        if let Some(viewer) = self.cached(subject) {
            return Ok(viewer);
        }
        let generation = self.generation();
        let viewer = self.with_fields(Viewer::load(&self.db, subject).await?).await?;
        // A viewer read under a policy dropped meanwhile is used once, never kept.
        if self.generation() != generation {
            return Ok(viewer);
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= VIEWER_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(subject.clone(), (viewer.clone(), Instant::now()));
        Ok(viewer)
    }

    fn cached(&self, subject: &Subject) -> Option<Viewer> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(subject).filter(|(_, at)| at.elapsed() < self.ttl).map(|(viewer, _)| viewer.clone())
    }

    /// Forgets a user, after they were deactivated or changed.
    pub fn invalidate(&self, user_id: i64) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, (viewer, _)| viewer.user_id != user_id);
    }

    /// Forgets everyone and the field policy (when user changes may have
    /// been missed, or the policy changed).
    pub fn clear(&self) {
        {
            let mut fields = self.fields.lock().unwrap_or_else(|p| p.into_inner());
            fields.0 += 1;
            fields.1 = None;
        }
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn generation(&self) -> u64 {
        self.fields.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// The viewer loaded fresh, bypassing the cache (for re-checks of
    /// long-lived connections): an API token is checked again (revoked,
    /// expired, narrowed), anything else re-reads the user, and the field
    /// policy is read again (a session may hear of a change before this
    /// instance's cache is dropped).
    pub async fn reload(&self, subject: &Subject, user_id: i64) -> AppResult<Viewer> {
        let mut viewer = match subject {
            Subject::ApiToken(hash) => api_tokens::viewer(&self.db, hash).await?.0,
            _ => {
                self.invalidate(user_id);
                Viewer::load(&self.db, &Subject::UserId(user_id)).await?
            }
        };
        viewer.hidden = FieldPolicy::load(&self.db).await?.hidden_for(&viewer);
        Ok(viewer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator() -> Authenticator {
        Authenticator::new(TokenService::new("a secret of the tests", Duration::from_secs(3600)), Default::default())
    }

    fn kept(auth: &Authenticator) -> HashMap<Box<str>, Verified> {
        auth.verified.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn issued(tokens: &TokenService, ttl: Duration) -> String {
        tokens.issue_for(7, ttl).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_verified_token_is_reused_only_until_it_expires() {
        let auth = authenticator();
        let token = issued(&auth.tokens, Duration::from_secs(3600));
        let first = auth.verify(&token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.subject, Subject::UserId(7));
        assert_eq!(kept(&auth).get(token.as_str()), Some(&first));
        assert_eq!(auth.verify(&token).ok(), Some(first));

        // An entry past its expiry is not taken: the token is checked again, and this one fails.
        let forged = "not.a.token";
        let past = Verified { subject: Subject::UserId(7), expires_at: chrono::Utc::now().timestamp() - 1 };
        auth.verified.lock().unwrap_or_else(|p| p.into_inner()).insert(forged.into(), past);
        assert!(auth.verify(forged).is_err());
    }

    #[test]
    fn a_token_within_its_leeway_is_checked_every_time_and_never_kept() {
        let auth = authenticator();
        let token = issued(&auth.tokens, Duration::ZERO);
        assert_eq!(auth.verify(&token).ok().map(|v| v.subject), Some(Subject::UserId(7)));
        assert!(kept(&auth).is_empty());
        let other = issued(&TokenService::new("another secret", Duration::from_secs(3600)), Duration::from_secs(3600));
        assert!(auth.verify(&other).is_err());
        assert!(kept(&auth).is_empty());
    }
}
