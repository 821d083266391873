//! Scopes of service accounts: each field that reads customer data declares the
//! scope it needs. People pass (their role decides what they see); a service
//! account without the scope gets FORBIDDEN.

use async_graphql::{Context, Guard, Result};

use crate::{
    auth::viewer::{SCOPE_CUSTOMERS_READ, SCOPE_GRAPH_READ, SCOPE_TICKETS_READ},
    error::AppError,
    graphql::context::request,
};

/// Passes people, and service accounts holding any of the scopes.
pub struct ScopeGuard(&'static [&'static str]);

/// Customer data: customers and everything under them.
pub const CUSTOMERS: ScopeGuard = ScopeGuard(&[SCOPE_CUSTOMERS_READ, SCOPE_GRAPH_READ]);
/// Service tickets.
pub const TICKETS: ScopeGuard = ScopeGuard(&[SCOPE_TICKETS_READ]);

impl Guard for ScopeGuard {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        let viewer = &request(ctx)?.viewer;
        if viewer.role != entity::enums::Role::Integration || self.0.iter().any(|s| viewer.has_scope(s)) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this needs the {} scope", self.0.join(" or "))).into())
        }
    }
}
