//! The server itself: HTTP, limits, instances, metrics, outages, shutdown, statement counts, the exported schema.

mod configuration;
mod demo;
mod cors;
mod graphiql;
mod hardening;
mod http;
mod instances;
mod metrics;
mod outage;
mod persisted;
mod readme;
mod request_ids;
mod schema;
mod shutdown;
mod start_up;
mod statements;
