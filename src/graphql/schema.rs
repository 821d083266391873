//! The schema: per-domain roots merged into one, with limits and the error extension.

use async_graphql::{MergedObject, Schema};

use crate::{
    config::Limits,
    graphql::{
        audit::AuditQuery,
        churn::ChurnQuery,
        commitments::{CommitmentMutation, CommitmentQuery},
        communications::{CommunicationMutation, CommunicationQuery},
        contacts::{ContactMutation, ContactQuery},
        customers::{CustomerMutation, CustomerQuery},
        errors::ErrorCodesFactory,
        limits::QueryLimitsFactory,
        links::{LinkMutation, LinkQuery},
        node::NodeQuery,
        partnerships::{PartnershipMutation, PartnershipQuery},
        revenue::{RevenueMutation, RevenueQuery},
        sessions::SessionMutation,
        subscriptions::Subscription,
        supply::{SupplyMutation, SupplyQuery},
        surveys::{SurveyMutation, SurveyQuery},
        tickets::{TicketMutation, TicketQuery},
        users::{UserMutation, UserQuery},
    },
};

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    UserQuery,
    CustomerQuery,
    ContactQuery,
    CommunicationQuery,
    TicketQuery,
    PartnershipQuery,
    SupplyQuery,
    CommitmentQuery,
    RevenueQuery,
    ChurnQuery,
    LinkQuery,
    SurveyQuery,
    AuditQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct Mutation(
    SessionMutation,
    UserMutation,
    CustomerMutation,
    ContactMutation,
    CommunicationMutation,
    TicketMutation,
    PartnershipMutation,
    SupplyMutation,
    CommitmentMutation,
    RevenueMutation,
    LinkMutation,
    SurveyMutation,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema. Per-request data (viewer, loaders) is added by the HTTP handler.
pub fn build_schema(limits: &Limits) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .extension(QueryLimitsFactory { max_aliases: limits.max_aliases, introspection: limits.introspection })
        .extension(ErrorCodesFactory);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let limits = Limits {
        max_depth: 1,
        max_complexity: 1,
        max_body_bytes: 1,
        introspection: true,
        max_aliases: 1,
        requests_per_minute: 1,
        export_threshold: 1,
    };
    build_schema(&limits).sdl()
}
