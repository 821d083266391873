//! Per-request data: the viewer, the database and the request's loaders.

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{auth::Viewer, graphql::loaders::Loaders};

/// Everything a resolver needs, built once per request.
pub struct RequestContext {
    pub db: DatabaseConnection,
    pub viewer: Viewer,
    pub loaders: Loaders,
}

impl RequestContext {
    pub fn new(db: DatabaseConnection, viewer: Viewer) -> Self {
        let loaders = Loaders::new(db.clone(), viewer.clone());
        Self {
            db,
            viewer,
            loaders,
        }
    }
}

/// The request context; the HTTP handler always provides it, so its absence is a bug.
pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    ctx.data::<RequestContext>()
}
