//! Signing in: `login`, `refreshToken`, `logout`. These are the only operations
//! that run without a bearer token.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{app::AppState, graphql::users::User, service::sessions};

/// Where a request comes from, for throttling failed logins.
pub struct ClientAddress(pub Option<String>);

/// A signed-in session.
#[derive(SimpleObject)]
pub struct Session {
    /// Bearer token for requests; short-lived.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// Trade it for a new session with `refreshToken` (once: it rotates).
    pub refresh_token: String,
    /// Who signed in.
    pub user: User,
}

impl From<sessions::Session> for Session {
    fn from(s: sessions::Session) -> Self {
        Self {
            access_token: s.access_token,
            access_token_expires_at: s.access_expires_at,
            refresh_token: s.refresh_token,
            user: User::one(s.user),
        }
    }
}

/// Root fields allowed without a bearer token.
pub const ANONYMOUS_FIELDS: [&str; 3] = ["login", "refreshToken", "logout"];

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in with e-mail and password. Repeated failures are throttled per account and
    /// per client address (RATE_LIMITED); every other failure is UNAUTHENTICATED.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> Result<Session> {
        let state = ctx.data::<AppState>()?;
        let address = ctx.data::<ClientAddress>().ok().and_then(|a| a.0.as_deref());
        let ttl = state.config.access_token_ttl;
        let session =
            sessions::login(&state.db, &state.tokens, &state.throttle, ttl, &email, password, address).await?;
        Ok(session.into())
    }

    /// Trades a refresh token for a new session; the old one is spent. Reusing a spent
    /// token revokes every token of that login.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<Session> {
        let state = ctx.data::<AppState>()?;
        let ttl = state.config.access_token_ttl;
        Ok(sessions::refresh(&state.db, &state.tokens, ttl, &refresh_token).await?.into())
    }

    /// Ends the login the refresh token belongs to.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> Result<bool> {
        let state = ctx.data::<AppState>()?;
        sessions::logout(&state.db, &refresh_token).await?;
        Ok(true)
    }
}
