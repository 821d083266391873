//! Who sees what: roles, scopes, tokens, sessions, the audit trail.

mod accountability;
mod api_tokens;
mod authorization;
mod invitations;
mod existence;
mod field_access;
mod live_sessions;
mod matrix;
mod scopes;
mod sessions;
mod user_details;
mod users;
