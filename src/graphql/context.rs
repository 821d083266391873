//! Per-request data: the viewer, the database and the request's loaders.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{app::AppState, auth::Viewer, config::Config, graphql::loaders::Loaders, ticket_feed::TicketFeed};

/// Everything a resolver needs, built once per request (or per WebSocket connection).
pub struct RequestContext {
    pub db: DatabaseConnection,
    pub viewer: Viewer,
    pub loaders: Loaders,
    pub config: Arc<Config>,
    pub feed: TicketFeed,
    pub exports: Arc<crate::service::exports::ExportWatch>,
}

impl RequestContext {
    pub fn new(state: &AppState, viewer: Viewer) -> Self {
        let loaders = Loaders::new(state.db.clone(), viewer.clone());
        Self {
            db: state.db.clone(),
            viewer,
            loaders,
            config: state.config.clone(),
            feed: state.feed.clone(),
            exports: state.exports.clone(),
        }
    }

    /// For a WebSocket connection, which lives long: loaders batch but do not
    /// cache, so every event shows current data.
    pub fn for_subscriptions(state: &AppState, viewer: Viewer) -> Self {
        let context = Self::new(state, viewer);
        context.loaders.disable_caches();
        context
    }
}

/// The request context; the HTTP handler always provides it, so its absence is a bug.
pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    ctx.data::<RequestContext>()
}
