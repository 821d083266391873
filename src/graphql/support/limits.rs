//! Checks on a request's document before it runs: it must parse, it may not
//! use more aliases than allowed (aliases let one request multiply an
//! expensive field; depth and complexity are capped by the schema itself), and
//! introspection is refused with a clear error when it is off (async-graphql
//! would quietly answer `null`). Both transports run these checks through
//! [`prepare`], so a WebSocket operation obeys the same limits as HTTP.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{
    ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::{config::Limits, error::codes, graphql::support::errors::request_error};

/// Whether an operation asks for `__schema` or `__type` at its root.
fn introspects(doc: &ExecutableDocument) -> bool {
    doc.operations.iter().any(|(_, op)| {
        op.node.selection_set.node.items.iter().any(|item| {
            matches!(&item.node, Selection::Field(f) if matches!(f.node.name.node.as_str(), "__schema" | "__type"))
        })
    })
}

fn aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Aliases in every operation and fragment of a document.
pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    let in_operations: usize = doc.operations.iter().map(|(_, op)| aliases(&op.node.selection_set.node)).sum();
    let in_fragments: usize = doc.fragments.values().map(|f| aliases(&f.node.selection_set.node)).sum();
    in_operations + in_fragments
}

/// Parses a document and applies the limits that are not the schema's own;
/// the error carries its code.
pub fn prepare(query: &str, limits: &Limits) -> Result<ExecutableDocument, ServerError> {
    let doc = async_graphql::parser::parse_query(query).map_err(|err| {
        let mut err = ServerError::from(err);
        super::errors::set_code(&mut err, codes::GRAPHQL_PARSE_FAILED);
        err
    })?;
    let count = count_aliases(&doc);
    if count > limits.max_aliases {
        return Err(request_error(
            format!("the query has {count} aliases; at most {} are allowed", limits.max_aliases),
            codes::GRAPHQL_VALIDATION_FAILED,
        ));
    }
    if !limits.introspection && introspects(&doc) {
        return Err(request_error("introspection is disabled on this server", codes::GRAPHQL_VALIDATION_FAILED));
    }
    Ok(doc)
}

/// Documents longer than this are parsed every time (clients send the same
/// few short documents over and over; a huge one is rarely repeated).
const MAX_CACHED_QUERY_BYTES: usize = 16 * 1024;
/// Distinct documents kept; beyond it the cache starts over.
const MAX_CACHED_DOCUMENTS: usize = 1_000;

/// Documents that passed [`prepare`], by their text: parsing is a large share
/// of a small request's CPU, and copying a parsed document is much cheaper.
#[derive(Default)]
pub struct Documents {
    parsed: Mutex<HashMap<Box<str>, Arc<ExecutableDocument>>>,
}

impl Documents {
    /// [`prepare`], from the cache when this text passed before.
    pub fn prepare(&self, query: &str, limits: &Limits) -> Result<ExecutableDocument, ServerError> {
        if let Some(doc) = self.parsed.lock().unwrap_or_else(|p| p.into_inner()).get(query) {
            return Ok(ExecutableDocument::clone(doc));
        }
        let doc = prepare(query, limits)?;
        if query.len() <= MAX_CACHED_QUERY_BYTES {
            let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
            if parsed.len() >= MAX_CACHED_DOCUMENTS {
                parsed.clear();
            }
            parsed.insert(query.into(), Arc::new(doc.clone()));
        }
        Ok(doc)
    }
}
