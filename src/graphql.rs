//! The GraphQL schema: per-domain adapters merged into one query, mutation and
//! subscription root, with the limits and the error-code extension.
//!
//! Each adapter below mirrors one module of `crate::service` (same name): it turns
//! GraphQL arguments into validated domain input, calls the service, and wraps
//! the rows it gets back. Relations are resolved through the per-request
//! loaders. The machinery every adapter shares lives in `support`.

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::{config::Limits, service::Services};

// What every request passes through, then the relations it follows.
/// Context, guards, ids, scalars, enums, pagination, errors, limits, the `Node` interface.
pub mod support;
/// One DataLoader per relation, scoped to the viewer, built per request.
pub mod loaders;

// Signing in: the only operations that run without a token.
/// Signing in and out: the only operations that run without a token.
pub mod sessions;

// The domain, mirroring `crate::service` module by module.
/// Customers, their group hierarchy and their life cycle.
pub mod customers;
/// People at customers.
pub mod contacts;
/// Touchpoints with customers.
pub mod communications;
/// Service tickets, their history and their live updates.
pub mod tickets;
/// Promises made to customers.
pub mod commitments;
/// Tasks: work on customers, by hand, by playbook, from follow-ups.
pub mod tasks;
/// Playbooks: triggers that become tasks.
pub mod playbooks;
/// Custom fields: definitions and values.
pub mod custom_fields;
/// Who may read the sensitive fields.
pub mod field_access;
/// Duplicate candidates and merges.
pub mod duplicates;
/// Partnership tiers and their terms.
pub mod partnerships;
/// Supply priorities per product line.
pub mod supply;
/// Monthly revenue and gross profit.
pub mod revenue;
/// Churn events: customers lost and won back.
pub mod churn;
/// Satisfaction surveys.
pub mod surveys;
/// Typed links between customers.
pub mod links;
/// Upserts of master data by other systems' ids.
pub mod external;
/// Employees, teams and service accounts.
pub mod users;
/// API tokens of service accounts.
pub mod api_tokens;
/// Webhook endpoints and deliveries.
pub mod webhooks;

// What integrations and leaders read across the book.
/// The change feed.
pub mod changes;
/// The computed reports: retention, Pareto, segments, error audit, aggregates.
pub mod analytics;
/// The audit trail.
pub mod audit;

use self::{
    analytics::{
        aggregates::AggregateQuery,
        care_dates::{CareDateQuery, KeyDateMutation},
        error_audit::ErrorAuditQuery,
        graph::GraphQuery,
        health::{HealthMutation, HealthQuery},
        pareto::ParetoQuery,
        retention::RetentionQueryRoot,
        segments::SegmentQuery,
    },
    api_tokens::{ApiTokenMutation, ApiTokenQuery},
    audit::AuditQuery,
    changes::ChangeQuery,
    churn::ChurnQuery,
    commitments::{CommitmentMutation, CommitmentQuery},
    communications::{CommunicationMutation, CommunicationQuery},
    contacts::{ContactMutation, ContactQuery},
    custom_fields::{CustomFieldMutation, CustomFieldQuery},
    customers::{CustomerMutation, CustomerQuery},
    duplicates::{DuplicateQuery, MergeMutation},
    external::ExternalMutation,
    field_access::{FieldAccessMutation, FieldAccessQuery},
    links::{LinkMutation, LinkQuery},
    partnerships::{PartnershipMutation, PartnershipQuery},
    playbooks::{PlaybookMutation, PlaybookQuery},
    revenue::{RevenueMutation, RevenueQuery},
    sessions::SessionMutation,
    supply::{SupplyMutation, SupplyQuery},
    support::node::NodeQuery,
    surveys::{SurveyMutation, SurveyQuery},
    tasks::{TaskMutation, TaskQuery, live::TaskSubscription},
    tickets::{TicketMutation, TicketQuery, live::TicketSubscription},
    users::{UserMutation, UserQuery},
    webhooks::{WebhookMutation, WebhookQuery},
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
    Work,
    RevenueQuery,
    ChurnQuery,
    LinkQuery,
    SurveyQuery,
    AuditQuery,
    Reports,
);

/// Work owed to customers: commitments and tasks (a root of its own: merged objects nest at most 16 deep).
#[derive(MergedObject, Default)]
pub struct Work(CommitmentQuery, TaskQuery, PlaybookQuery);

/// The computed reports (a root of its own: merged objects nest at most 16 deep).
#[derive(MergedObject, Default)]
pub struct Reports(
    RetentionQueryRoot,
    ParetoQuery,
    SegmentQuery,
    ErrorAuditQuery,
    AggregateQuery,
    CareDateQuery,
    HealthQuery,
    GraphQuery,
    Integrations,
);

/// What integrations and administrators read beside the lists: the change feed, webhooks, API tokens, custom
/// fields, duplicate candidates.
#[derive(MergedObject, Default)]
pub struct Integrations(ChangeQuery, WebhookQuery, ApiTokenQuery, CustomFieldQuery, DuplicateQuery, FieldAccessQuery);

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
    KeyDateMutation,
    HealthMutation,
    WorkMutation,
    RevenueMutation,
    LinkMutation,
    SurveyMutation,
    IntegrationMutation,
);

/// Commitments and tasks.
#[derive(MergedObject, Default)]
pub struct WorkMutation(CommitmentMutation, TaskMutation, PlaybookMutation);

/// What integrations and their administrators write: webhooks, API tokens, master data by external id, custom
/// field definitions, merges of duplicates.
#[derive(MergedObject, Default)]
pub struct IntegrationMutation(
    WebhookMutation,
    ApiTokenMutation,
    ExternalMutation,
    CustomFieldMutation,
    MergeMutation,
    FieldAccessMutation,
);

/// Every subscription of the API.
#[derive(MergedSubscription, Default)]
pub struct Subscription(TicketSubscription, TaskSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema. The services are schema-wide data; the viewer and the
/// loaders are added per request by the transport (`support::context`).
/// The one extension is the slow-resolver watch, when a threshold is set: any
/// other would sit in the path of every resolved field too. The transport
/// checks documents (`support::limits::prepare`) and gives errors their codes
/// (`support::errors::finish`) instead.
pub fn build_schema(
    limits: &Limits,
    slow_resolver: Option<std::time::Duration>,
    services: Option<Services>,
) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64);
    builder = describe_builtins(builder);
    if let Some(services) = services {
        builder = builder.data(services);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if let Some(threshold) = slow_resolver {
        // The watch must see every field: no object answers its plain fields in one pass.
        builder = builder.extension(support::slow::SlowResolvers { threshold }).data(support::fast::ExecutorOnly);
    }
    builder.finish()
}

/// Descriptions of the types async-graphql generates: one page type per list.
fn describe_builtins(
    builder: async_graphql::SchemaBuilder<Query, Mutation, Subscription>,
) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    use support::pagination::Conn;
    macro_rules! pages {
        ($builder:expr, $($node:ty => $what:literal),+ $(,)?) => {
            $builder
                $(.override_output_type_description::<Conn<$node>>(concat!(
                    "A page of ", $what, ": `edges` (each a `node` with its `cursor`), `pageInfo` ",
                    "to move on with `after`/`before`, and `totalCount`, the rows that match whatever the page."
                )))+
        };
    }
    let builder = builder.override_output_type_description::<async_graphql::ID>(
        "An opaque global ID. Pass it back as it is; `node(id:)` fetches the object it names.",
    );
    pages!(builder,
        audit::AuditEntry => "audit-trail entries",
        churn::ChurnEvent => "churn events",
        commitments::Commitment => "commitments",
        communications::Communication => "communications",
        contacts::Contact => "contacts",
        customers::Customer => "customers",
        links::CustomerLink => "customer links",
        partnerships::PartnershipChange => "partnership tier changes",
        revenue::RevenueEntry => "revenue entries",
        supply::SupplyPriority => "supply priorities",
        surveys::SurveyResponse => "survey responses",
        tasks::Task => "tasks",
        analytics::timeline::TimelineEntry => "timeline entries, newest first",
        users::Team => "teams",
        tickets::Ticket => "tickets",
        tickets::TicketEvent => "ticket history entries",
        users::User => "users",
        webhooks::WebhookEndpoint => "webhook endpoints",
        api_tokens::ApiToken => "API tokens",
        webhooks::WebhookDelivery => "webhook deliveries",
        analytics::retention::SilentChurn => "customers that went quiet",
        analytics::health::AtRiskCustomer => "at-risk customers, worst first (`after` only: the list moves forward)",
        duplicates::DuplicateCandidate => "duplicate candidates, best first (`after` only)",
    )
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(&Limits::for_sdl(), None, None).sdl()
}
