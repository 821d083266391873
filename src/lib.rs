//! Rapport: a GraphQL backend for customer-relationship data.
//!
//! The modules are listed in the order a request travels through them, and
//! dependencies point one way, down this list (`.ci/layers.py --check` fails
//! CI on an import circle other than the GraphQL type graph, or on more than
//! one arrow back up):
//!
//! ```text
//! cli, seed, import          the command line, the demo data, bringing history in
//! http, jobs                 the transport; what runs beside the requests
//! graphql                    the schema: one adapter per service module
//! service, analytics         reads, writes and their rules; computed reports
//! auth, webhooks             tokens and the viewer; webhook signing, addresses
//! policy                     who sees what, as conditions and SQL text
//! feed, db, config           live changes; the database and its dialect; settings
//! rules, error, gid, ...     the domain rules every figure shares; the leaves
//! ```
//!
//! The one arrow back up: `http::state` starts the background jobs it owns.

/// The command line: serve, migrate, schema, seed-demo, token, user.
pub mod cli;
/// The demo dataset.
pub mod seed;
/// `rapport import`: a company's history from CSV and NDJSON files.
pub mod import;
/// Transport: the router, health checks, GraphQL over HTTP and WebSocket.
pub mod http;
/// What runs beside the requests: webhook delivery, the keepers of derived data.
pub mod jobs;
/// The GraphQL schema: one adapter per service module.
pub mod graphql;
/// Reads and writes with their rules and side effects, free of GraphQL.
pub mod service;
/// Computed reports and scores, in SQL over whole pages; read-only.
pub mod analytics;
/// Bearer tokens, and the viewer they name.
pub mod auth;
/// Webhook signing and endpoint address checks (delivery is a job).
pub mod webhooks;
/// The one place that decides which rows and scopes a viewer may use.
pub mod policy;
/// Live changes across instances: ticket events and user changes.
pub mod feed;
/// Opening and migrating the database; its dialect, clock and row readers.
pub mod db;
/// Every environment variable, read once and passed down.
pub mod config;
/// The domain rules every figure shares: live customers, the last 12 months, SLA breaches.
pub mod rules;
/// The service error type and every stable error code.
pub mod error;
/// Global IDs, as clients and webhook receivers see them.
pub mod gid;
/// Metrics in the Prometheus text format.
pub mod telemetry;
/// Logs and traces: stderr as text or JSON, OpenTelemetry with the `otel` feature.
pub mod logs;
/// Closed sets of values with one spelling each.
pub mod names;
