//! Scope guards of service accounts: each field that reads customer data
//! declares the resource it reads, and `crate::policy` decides. People pass
//! (their role decides what they see); a service account without the
//! resource's scope gets FORBIDDEN.

use async_graphql::{Context, Guard, Result};

use crate::{
    graphql::support::context::request,
    policy::{self, Resource},
};

/// Passes people, and service accounts holding the resource's scope.
pub struct ScopeGuard(Resource);

/// Customer data: customers and everything under them but tickets.
pub const CUSTOMERS: ScopeGuard = ScopeGuard(Resource::Customers);
/// Service tickets and their history.
pub const TICKETS: ScopeGuard = ScopeGuard(Resource::Tickets);
/// The relationship graph.
pub const GRAPH: ScopeGuard = ScopeGuard(Resource::Graph);

impl Guard for ScopeGuard {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        Ok(policy::ensure_can_read(&request(ctx)?.viewer(), self.0)?)
    }
}
