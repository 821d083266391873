//! The GraphQL schema: per-domain adapters merged into one query, mutation and
//! subscription root, with the limits and the error-code extension.
//!
//! Each adapter below mirrors one module of `crate::service` (same name): it turns
//! GraphQL arguments into validated domain input, calls the service, and wraps
//! the rows it gets back. Relations are resolved through the per-request
//! loaders. The machinery every adapter shares lives in `support`.

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::{config::Limits, service::Services};

/// Context, guards, ids, scalars, enums, pagination, errors, limits, the `Node` interface.
pub mod support;

/// One DataLoader per relation, scoped to the viewer, built per request.
pub mod loaders;

/// Signing in and out: the only operations that run without a token.
pub mod sessions;
/// Employees, teams and service accounts.
pub mod users;
/// Customers, their group hierarchy and their life cycle.
pub mod customers;
/// People at customers.
pub mod contacts;
/// Touchpoints with customers.
pub mod communications;
/// Service tickets, their history and their live updates.
pub mod tickets;
/// Partnership tiers and their terms.
pub mod partnerships;
/// Supply priorities per product line.
pub mod supply;
/// Promises made to customers.
pub mod commitments;
/// Monthly revenue and gross profit.
pub mod revenue;
/// Churn events: customers lost and won back.
pub mod churn;
/// Typed links between customers.
pub mod links;
/// Satisfaction surveys.
pub mod surveys;
/// The audit trail.
pub mod audit;

use self::{
    audit::AuditQuery,
    churn::ChurnQuery,
    commitments::{CommitmentMutation, CommitmentQuery},
    communications::{CommunicationMutation, CommunicationQuery},
    contacts::{ContactMutation, ContactQuery},
    customers::{CustomerMutation, CustomerQuery},
    links::{LinkMutation, LinkQuery},
    partnerships::{PartnershipMutation, PartnershipQuery},
    revenue::{RevenueMutation, RevenueQuery},
    sessions::SessionMutation,
    supply::{SupplyMutation, SupplyQuery},
    support::node::NodeQuery,
    surveys::{SurveyMutation, SurveyQuery},
    tickets::{TicketMutation, TicketQuery, live::TicketSubscription},
    users::{UserMutation, UserQuery},
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

/// Every subscription of the API.
#[derive(MergedSubscription, Default)]
pub struct Subscription(TicketSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema. The services are schema-wide data; the viewer and the
/// loaders are added per request by the transport (`support::context`).
/// No extension is registered: each would sit in the path of every resolved
/// field. The transport checks documents (`support::limits::prepare`) and
/// gives errors their codes (`support::errors::finish`) instead.
pub fn build_schema(limits: &Limits, services: Option<Services>) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64);
    if let Some(services) = services {
        builder = builder.data(services);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(&Limits::for_sdl(), None).sdl()
}
