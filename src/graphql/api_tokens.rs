//! API tokens of service accounts in the API (ADMIN only).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_token;

use crate::graphql::{
    loaders::page_cost,
    support::{
        context::request,
        ids,
        pagination::{Conn, PageArgs, connection, order_by},
    },
};
use crate::service::api_tokens as service;

/// A token a service account authenticates with (`Authorization: Bearer rpt_...`).
#[derive(SimpleObject)]
pub struct ApiToken {
    /// Global ID.
    pub id: ID,
    /// The service account it authenticates as.
    pub user_id: ID,
    /// What it is for.
    pub name: String,
    /// The scopes it carries (a request gets those its account still holds).
    pub scopes: Vec<String>,
    /// Its first characters, to tell it apart.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute); null if never.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working; null if never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Neither revoked nor expired.
    pub active: bool,
}

impl From<api_token::Model> for ApiToken {
    fn from(m: api_token::Model) -> Self {
        let now = crate::db::now();
        Self {
            id: ids::encode("ApiToken", m.id),
            user_id: ids::encode("User", m.user_id),
            scopes: m.scopes.split_whitespace().map(str::to_owned).collect(),
            active: m.revoked_at.is_none() && m.expires_at.is_none_or(|at| at > now),
            name: m.name,
            prefix: m.prefix,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A new token, with its secret value: store it now, it is never shown again.
#[derive(SimpleObject)]
pub struct ApiTokenCreated {
    /// The token's record.
    pub api_token: ApiToken,
    /// The token itself, for `Authorization: Bearer <token>`.
    pub token: String,
}

order_by!(
    /// Sort order of the tokens.
    ApiTokenOrder, ApiTokenOrderField, api_token::Column,
    default(CreatedAt, Asc),
    {
        /// By creation.
        CreatedAt => api_token::Column::Id;
    }
);

#[derive(Default)]
pub struct ApiTokenQuery;

#[Object]
impl ApiTokenQuery {
    /// API tokens (ADMIN), revoked and expired ones included.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the tokens of this service account.")] user_id: Option<ID>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<ApiToken>> {
        let rc = request(ctx)?;
        let user_id = ids::decode_opt("User", "userId", user_id.as_ref())?;
        let select = service::select(&rc.viewer(), user_id)?;
        let sort = ApiTokenOrder::default().sort(api_token::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<api_token::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, select, sort, args, |t| t.id, wrap).await?)
    }
}

#[derive(Default)]
pub struct ApiTokenMutation;

#[Object]
impl ApiTokenMutation {
    /// Creates an API token for a service account (ADMIN); returns the token
    /// once. It carries the scopes given (or all of the account's), never
    /// more than the account holds.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service account (role INTEGRATION).")] user_id: ID,
        #[graphql(desc = "What it is for (shown in `apiTokens`).")] name: String,
        #[graphql(desc = "Scopes, among the account's own; omitted means all of them.")] scopes: Option<Vec<String>>,
        #[graphql(desc = "When it stops working; omitted means never (revoke it when done).")] expires_at: Option<
            DateTime<Utc>,
        >,
    ) -> Result<ApiTokenCreated> {
        let rc = request(ctx)?;
        let user_id = ids::decode("User", "userId", &user_id)?;
        let (model, token) = service::create(&rc.services, &rc.viewer(), user_id, &name, scopes, expires_at).await?;
        Ok(ApiTokenCreated { api_token: model.into(), token })
    }

    /// Ends a token at once (ADMIN): its next request is refused and its open
    /// WebSocket connections close.
    async fn revoke_api_token(&self, ctx: &Context<'_>, #[graphql(desc = "The token.")] id: ID) -> Result<ApiToken> {
        let rc = request(ctx)?;
        let id = ids::decode("ApiToken", "id", &id)?;
        Ok(service::revoke(&rc.services, &rc.viewer(), id).await?.into())
    }
}
