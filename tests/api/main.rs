//! Integration tests: the real router, real GraphQL requests, a fresh database per test.
//! Set `TEST_DATABASE_URL=postgres://...` to run the same suite on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accountability;
mod api_tokens;
mod authorization;
mod care_dates;
mod changes;
mod commitments;
mod communications;
mod contacts;
mod customers;
mod existence;
mod external;
mod graph;
mod hardening;
mod health;
mod helpers;
mod hierarchy;
mod http;
mod instances;
mod lists;
mod live_sessions;
mod matrix;
mod metrics;
mod outage;
mod partnerships;
mod persisted;
mod relations;
mod reports;
mod request_ids;
mod retention;
mod revenue;
mod schema;
mod scopes;
mod sessions;
mod shutdown;
mod statements;
mod subscriptions;
mod supply_plan;
mod ticket_lifecycle;
mod tickets;
mod user_details;
mod users;
mod webhooks;
mod ws_client;
