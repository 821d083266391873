//! Per-request data: the viewer, the services and the request's loaders. The
//! transport builds one [`RequestContext`] per HTTP request or WebSocket
//! operation; the schema never sees the transport's state.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{auth::LiveViewer, graphql::loaders::Loaders, policy::Viewer, service::Services};

/// Everything a resolver needs, built once per request (or per WebSocket operation).
pub struct RequestContext {
    pub db: DatabaseConnection,
    pub services: Services,
    pub loaders: Loaders,
    viewer: LiveViewer,
}

impl RequestContext {
    pub fn new(services: &Services, viewer: LiveViewer) -> Self {
        Self {
            db: services.db.clone(),
            loaders: Loaders::new(services, viewer.clone()),
            services: services.clone(),
            viewer,
        }
    }

    /// For a subscription, which lives long: loaders batch but do not cache,
    /// so every event shows current data.
    pub fn for_subscriptions(services: &Services, viewer: LiveViewer) -> Self {
        let context = Self::new(services, viewer);
        context.loaders.disable_caches();
        context
    }

    /// The viewer as they are now.
    pub fn viewer(&self) -> Arc<Viewer> {
        self.viewer.get()
    }

    /// The viewer handle itself, for streams that re-check it per event.
    pub fn live_viewer(&self) -> &LiveViewer {
        &self.viewer
    }
}

/// Who is calling, from the transport: the client address (only trusted
/// proxies may set it with `X-Forwarded-For`) and a description for the
/// audit trail.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub description: Option<String>,
}

/// The request context; the transport always provides it for signed-in
/// requests, so its absence is a bug (INTERNAL_SERVER_ERROR).
pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    ctx.data::<RequestContext>()
}

/// The services, for the operations that run without a signed-in viewer.
pub fn services<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Services> {
    ctx.data::<Services>()
}
