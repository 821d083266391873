//! The GraphQL API: thin adapters from the schema to the service layer.

pub mod audit;
pub mod churn;
pub mod commitments;
pub mod communications;
pub mod contacts;
pub mod context;
pub mod customers;
pub mod enums;
pub mod errors;
pub mod guards;
pub mod http;
pub mod ids;
pub mod limits;
pub mod links;
pub mod loaders;
pub mod node;
pub mod pagination;
pub mod partnerships;
pub mod revenue;
pub mod scalars;
pub mod schema;
pub mod sessions;
pub mod subscriptions;
pub mod supply;
pub mod surveys;
pub mod tickets;
pub mod users;
pub mod ws;

pub use schema::{AppSchema, build_schema};
