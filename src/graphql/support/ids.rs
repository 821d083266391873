//! Opaque global IDs: base64url of `Type:id`, so clients never build IDs by hand
//! and `node(id:)` knows which table to read.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{AppError, AppResult};

pub fn encode(kind: &str, id: i64) -> ID {
    ID(crate::gid::encode(kind, id))
}

/// Splits a global ID into its type name and row id.
pub fn decode_any(field: &str, id: &ID) -> AppResult<(String, i64)> {
    let invalid = || AppError::bad_input(field, format!("{field} is not a valid ID"));
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (kind, key) = text.split_once(':').ok_or_else(invalid)?;
    let key: i64 = key.parse().map_err(|_| invalid())?;
    Ok((kind.to_owned(), key))
}

/// The row id of a global ID that must be of type `kind`.
pub fn decode(kind: &str, field: &str, id: &ID) -> AppResult<i64> {
    let (actual, key) = decode_any(field, id)?;
    if actual == kind {
        Ok(key)
    } else {
        Err(AppError::bad_input(field, format!("{field} must be the ID of a {kind}")))
    }
}

pub fn decode_opt(kind: &str, field: &str, id: Option<&ID>) -> AppResult<Option<i64>> {
    id.map(|id| decode(kind, field, id)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_check_their_type() {
        let id = encode("Customer", 42);
        assert_eq!(decode("Customer", "id", &id).ok(), Some(42));
        assert!(decode("Contact", "id", &id).is_err());
        assert!(decode("Customer", "id", &ID("not-base64!".into())).is_err());
    }
}
