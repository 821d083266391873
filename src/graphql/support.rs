//! The machinery every GraphQL adapter shares.

/// Per-request data: the viewer, the services and the loaders.
pub mod context;
/// Scope guards of service accounts.
pub mod guards;
/// Opaque global IDs.
pub mod ids;
/// `Money` and `Date`.
pub mod scalars;
/// GraphQL mirrors of the domain vocabularies.
pub mod enums;
/// Relay connections with signed keyset cursors.
pub mod pagination;
/// Stable `extensions.code` on every error.
pub mod errors;
/// Alias cap and the introspection switch.
pub mod limits;
/// Patch semantics of update inputs: omitted keeps, null clears.
pub mod patch;
/// The Relay `Node` interface.
pub mod node;
