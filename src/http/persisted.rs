//! Automatic persisted queries, the Apollo protocol: a client sends only the
//! SHA-256 of its document in `extensions.persistedQuery.sha256Hash`; on
//! `PERSISTED_QUERY_NOT_FOUND` it sends the document once with its hash, and
//! from then on the hash alone is enough, over POST and GET. Mobile clients
//! save the document's bytes on every request.
//!
//! Documents are kept by hash in memory, per instance, up to a byte budget;
//! the least recently used go first. A document is kept only once it parsed
//! and passed the limits, and only from an authenticated request.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::codes;

/// What a request's `extensions.persistedQuery` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Persisted {
    /// No persisted query: the request carries its document.
    No,
    /// The document with this hash (lowercase hex).
    Hash(String),
}

/// Why a persisted-query request cannot run: a message and a stable code.
#[derive(Debug)]
pub struct Refusal {
    pub message: &'static str,
    pub code: &'static str,
}

/// Reads `extensions.persistedQuery` (version 1 is the only one).
pub fn requested(extensions: Option<&Value>) -> Result<Persisted, Refusal> {
    let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else { return Ok(Persisted::No) };
    let refusal = |message| Refusal { message, code: codes::BAD_REQUEST };
    if persisted.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(refusal("`persistedQuery.version` must be 1"));
    }
    let hash = persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| refusal("`persistedQuery.sha256Hash` must be 64 hexadecimal digits"))?;
    Ok(Persisted::Hash(hash.to_ascii_lowercase()))
}

/// The SHA-256 of a document, in lowercase hex.
pub fn hash_of(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

/// Checks a document sent with its hash.
pub fn verify(query: &str, hash: &str) -> Result<(), Refusal> {
    if hash_of(query) == hash {
        Ok(())
    } else {
        Err(Refusal { message: "`persistedQuery.sha256Hash` is not the SHA-256 of `query`", code: codes::BAD_REQUEST })
    }
}

/// The refusal of a hash this instance does not know. Apollo clients look for
/// this message or code, then send the document.
pub const NOT_FOUND: Refusal = Refusal { message: "PersistedQueryNotFound", code: codes::PERSISTED_QUERY_NOT_FOUND };

struct Entry {
    query: Arc<str>,
    used: u64,
}

#[derive(Default)]
struct Store {
    entries: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
}

/// The documents known by hash.
pub struct PersistedQueries {
    budget: usize,
    store: Mutex<Store>,
}

impl PersistedQueries {
    /// A cache holding documents of up to `budget` bytes in all.
    pub fn new(budget: usize) -> Self {
        Self { budget, store: Mutex::default() }
    }

    /// The document with `hash`, if it is kept.
    pub fn get(&self, hash: &str) -> Option<Arc<str>> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.clock += 1;
        let now = store.clock;
        let entry = store.entries.get_mut(hash)?;
        entry.used = now;
        Some(entry.query.clone())
    }

    /// Keeps `query` under `hash` (already verified), making room by
    /// dropping the least recently used documents.
    pub fn put(&self, hash: String, query: &str) {
        let size = hash.len() + query.len();
        if size > self.budget {
            return;
        }
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if store.entries.contains_key(&hash) {
            return;
        }
        while store.bytes + size > self.budget {
            let Some(oldest) = store.entries.iter().min_by_key(|(_, e)| e.used).map(|(h, _)| h.clone()) else {
                break;
            };
            if let Some(gone) = store.entries.remove(&oldest) {
                store.bytes -= oldest.len() + gone.query.len();
            }
        }
        store.clock += 1;
        let used = store.clock;
        store.bytes += size;
        store.entries.insert(hash, Entry { query: query.into(), used });
    }

    /// Documents kept now.
    pub fn len(&self) -> usize {
        self.store.lock().unwrap_or_else(|p| p.into_inner()).entries.len()
    }

    /// Whether no document is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_documents_make_room() {
        let cache = PersistedQueries::new(2 * (64 + 10));
        let (a, b, c) = ("{ a: me }.", "{ b: me }.", "{ c: me }.");
        cache.put(hash_of(a), a);
        cache.put(hash_of(b), b);
        assert!(cache.get(&hash_of(a)).is_some());
        cache.put(hash_of(c), c);
        assert!(cache.get(&hash_of(b)).is_none(), "b was the least recently used");
        assert_eq!(cache.get(&hash_of(a)).as_deref(), Some(a));
        assert_eq!(cache.get(&hash_of(c)).as_deref(), Some(c));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn only_version_1_with_a_sha256_is_understood() {
        let ok = serde_json::json!({"persistedQuery": {"version": 1, "sha256Hash": "AB".repeat(32)}});
        assert_eq!(requested(Some(&ok)).ok(), Some(Persisted::Hash("ab".repeat(32))));
        let v2 = serde_json::json!({"persistedQuery": {"version": 2, "sha256Hash": "ab".repeat(32)}});
        assert!(requested(Some(&v2)).is_err());
        let short = serde_json::json!({"persistedQuery": {"version": 1, "sha256Hash": "abc"}});
        assert!(requested(Some(&short)).is_err());
        assert_eq!(requested(Some(&serde_json::json!({}))).ok(), Some(Persisted::No));
    }
}
