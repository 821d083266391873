//! Global IDs as clients see them: base64url of `Type:id`. The GraphQL layer
//! hands them out; webhook payloads name rows the same way, so a receiver can
//! pass them straight to `node(id:)`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// The global ID of row `id` of type `kind` (a GraphQL type name).
pub fn encode(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}
