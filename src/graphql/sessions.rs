//! Signing in: `login`, `refreshToken`, `logout`. These are the only operations
//! that run without a bearer token.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    graphql::{
        support::context::{ClientInfo, services},
        users::User,
    },
    service::sessions::{self, Client},
};

fn client(ctx: &Context<'_>) -> Client {
    let info = ctx.data::<ClientInfo>().cloned().unwrap_or_default();
    Client { address: info.address, description: info.description }
}

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
            user: User::signed_in(s.user),
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
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's e-mail address.")] email: String,
        #[graphql(desc = "The account's password.")] password: String,
    ) -> Result<Session> {
        let svc = services(ctx)?;
        Ok(sessions::login(svc, &email, password, &client(ctx)).await?.into())
    }

    /// Trades a refresh token for a new session; the old one is spent. Reusing a spent
    /// token revokes every token of that login.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the current session.")] refresh_token: String,
    ) -> Result<Session> {
        let svc = services(ctx)?;
        Ok(sessions::refresh(svc, &refresh_token, &client(ctx)).await?.into())
    }

    /// Ends the login the refresh token belongs to.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the session to end.")] refresh_token: String,
    ) -> Result<bool> {
        let svc = services(ctx)?;
        sessions::logout(svc, &refresh_token, &client(ctx)).await?;
        Ok(true)
    }
}
