//! Patch semantics of update inputs: an omitted field keeps its value, `null`
//! clears it, a value sets it.

use async_graphql::MaybeUndefined;

/// Converts a patch field: undefined keeps (`None`), null clears
/// (`Some(None)`), a value sets (`Some(Some(v))`).
pub fn patch<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(map(v))),
    }
}
