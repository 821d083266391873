//! Rapport: a GraphQL backend for customer-relationship data.

/// Application state and the router.
pub mod app;
/// Bearer tokens and the per-request viewer.
pub mod auth;
/// Every environment variable, read once.
pub mod config;
/// Opening and migrating the database.
pub mod db;
/// The service error type and its stable codes.
pub mod error;
/// The GraphQL API.
pub mod graphql;
/// The one place that decides which rows a viewer may see.
pub mod policy;
/// The demo dataset.
pub mod seed;
/// Business rules and queries, free of GraphQL.
pub mod service;
/// The live feed of ticket changes behind subscriptions, across instances.
pub mod ticket_feed;
