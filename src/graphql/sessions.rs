//! Signing in: `login`, `refreshToken`, `logout`, `acceptInvitation`. These are
//! the only operations that run without a bearer token. And `changePassword`,
//! for the signed-in user.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    graphql::{
        support::context::{ClientInfo, request, services},
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
pub const ANONYMOUS_FIELDS: [&str; 4] = ["login", "refreshToken", "logout", "acceptInvitation"];

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

    /// Redeems an invitation (from `inviteUser`) by choosing a password of at least 12
    /// characters, and signs in. An invitation is good once and until it expires; a newer
    /// one for the same user replaces it. Any earlier login of the user ends. Refusals
    /// are UNAUTHENTICATED, throttled per client address like failed logins, and audited.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation token the ADMIN passed on (`inv_...`).")] token: String,
        #[graphql(desc = "The password to sign in with from now on (at least 12 characters).")] password: String,
    ) -> Result<Session> {
        let svc = services(ctx)?;
        Ok(crate::service::invitations::accept(svc, &token, password, &client(ctx)).await?.into())
    }

    /// Changes the signed-in user's password. The current password is required (a wrong
    /// one is BAD_USER_INPUT on `currentPassword`; five in 15 minutes are RATE_LIMITED, without
    /// locking `login`); every
    /// refresh token of the user ends, here and on other devices (their access tokens run
    /// out within their 15 minutes), and a new session is returned so this client stays
    /// signed in. Service accounts have no password (FORBIDDEN).
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password the user signs in with today.")] current_password: String,
        #[graphql(desc = "The new password (at least 12 characters).")] new_password: String,
    ) -> Result<Session> {
        let rc = request(ctx)?;
        let session =
            sessions::change_password(&rc.services, &rc.viewer(), current_password, new_password, &client(ctx)).await?;
        Ok(session.into())
    }
}
