//! Rapport: a GraphQL backend for customer-relationship data.
//!
//! The modules below are listed in the order a request travels through them.
//! Dependencies point one way, down this list:
//! `http -> graphql -> service / analytics -> policy / entity`.
//! The transport knows the schema; the schema knows the services; the
//! services know the policy and the database, and nothing above them
//! (`.ci/run` fails when `service`, `policy`, `analytics`, `feed` or `webhooks` import
//! async-graphql or the GraphQL layer, or when `graphql` imports `app`).

/// Computed reports and scores, in SQL over whole pages; read-only.
pub mod analytics;
/// Bearer tokens, and the viewer they name.
pub mod auth;
/// The command line: serve, migrate, schema, seed-demo, token, user.
pub mod cli;
/// Every environment variable, read once and passed down.
pub mod config;
/// Opening and migrating the database.
pub mod db;
/// The service error type and every stable error code.
pub mod error;
/// Live changes across instances: ticket events and user changes.
pub mod feed;
/// Global IDs, as clients and webhook receivers see them.
pub mod gid;
/// The GraphQL schema: one adapter per service module.
pub mod graphql;
/// Transport: the router, health checks, GraphQL over HTTP and WebSocket.
pub mod http;
/// What runs beside the requests: webhook delivery, the keepers of derived data.
pub mod jobs;
/// Logs and traces: stderr as text or JSON, OpenTelemetry with the `otel` feature.
pub mod logs;
/// Closed sets of values with one spelling each.
pub mod names;
/// The one place that decides which rows and scopes a viewer may use.
pub mod policy;
/// The domain rules every figure shares: live customers, the last 12 months.
pub mod rules;
/// The demo dataset.
pub mod seed;
/// Business rules, queries and their side effects, free of GraphQL.
pub mod service;
/// Metrics in the Prometheus text format.
pub mod telemetry;
/// Delivering webhooks: signing, address checks, the retrying worker.
pub mod webhooks;
