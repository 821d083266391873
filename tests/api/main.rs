//! Integration tests: the real router, real GraphQL requests, a fresh database per test.
//! Set `TEST_DATABASE_URL=postgres://...` to run the same suite on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod accounts;
mod figures;
mod helpers;
mod platform;
mod service_desk;
mod ws_client;
