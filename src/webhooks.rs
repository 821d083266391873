//! Webhooks as the Standard Webhooks specification has them
//! (<https://www.standardwebhooks.com>), so receivers verify them with its
//! published libraries: the headers `webhook-id`, `webhook-timestamp` and
//! `webhook-signature`, signed with HMAC-SHA256 under a `whsec_` secret.
//!
//! Events are written to an outbox by the services, in the transaction of the
//! change they announce (`crate::service::webhooks`); the delivery job
//! (`crate::jobs::webhooks`) posts them, retries, and records every attempt.

/// Which addresses an endpoint may point at.
pub mod address;
/// Secrets and signatures.
pub mod signing;
