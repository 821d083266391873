//! Checks on a request's document before it runs: it must parse, it may not
//! use more aliases than allowed (aliases let one request multiply an
//! expensive field; depth and complexity are capped by the schema itself), and
//! introspection is refused with a clear error when it is off (async-graphql
//! would quietly answer `null`). Both transports run these checks through
//! [`prepare`], so a WebSocket operation obeys the same limits as HTTP.

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
