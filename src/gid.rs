//! Global IDs as clients see them: base64url of `Type:id`. The GraphQL layer
//! hands them out; webhook payloads name rows the same way, so a receiver can
//! pass them straight to `node(id:)`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// The global ID of row `id` of type `kind` (a GraphQL type name).
pub fn encode(kind: &str, id: i64) -> String {
    // Written on a stack buffer: a page of rows encodes thousands of these.
    let mut plain = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut plain[..]);
    if std::io::Write::write_fmt(&mut cursor, format_args!("{kind}:{id}")).is_ok() {
        let len = usize::try_from(cursor.position()).unwrap_or(0);
        return URL_SAFE_NO_PAD.encode(&plain[..len]);
    }
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}
