//! The machinery every GraphQL adapter shares.

/// Per-request data: the viewer, the services and the loaders.
pub mod context;
/// GraphQL mirrors of the domain vocabularies.
pub mod enums;
/// Rows whose plain fields are answered in one pass.
pub mod fast;
/// Stable `extensions.code` on every error.
pub mod errors;
/// Scope guards of service accounts.
pub mod guards;
/// Opaque global IDs.
pub mod ids;
/// Alias cap and the introspection switch.
pub mod limits;
/// The Relay `Node` interface.
pub mod node;
/// Response maps in the order fields were asked for.
pub mod order;
/// Relay connections with signed keyset cursors.
pub mod pagination;
/// Patch semantics of update inputs: omitted keeps, null clears.
pub mod patch;
/// `Money` and `Date`.
pub mod scalars;
/// Slow resolvers, logged in their request's span.
pub mod slow;
