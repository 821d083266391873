//! Checks on a request's document before it runs: it must parse, it may not
//! use more aliases than allowed (aliases let one request multiply an
//! expensive field; depth and complexity are capped by the schema itself), its
//! fragments may not expand beyond what the complexity limit could ever
//! accept, and introspection is refused with a clear error when it is off
//! (async-graphql would quietly answer `null`). Both transports run these
//! checks through [`prepare`], so a WebSocket operation, a persisted query and
//! a sign-in document obey the same limits as any HTTP request.
//!
//! The expansion check exists because the schema's own depth and complexity
//! checks walk every fragment spread as if it were written out: ten fragments
//! that each spread the next twice are 2^10 fields, forty are 2^40, and such a
//! walk never ends. Here each fragment's expanded size is computed once
//! (memoised, without recursion over fragments), so the check costs what the
//! document's text costs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{
    ServerError, Variables,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
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

/// What a selection set expands to, as far as it is known: its field count
/// with every fragment spread written out, or the fragments it spreads whose
/// size is not known yet.
enum Measured<'a> {
    Fields(u64),
    Waiting(Vec<&'a str>),
}

/// The fields in `set` with its fragments expanded, from the sizes known so
/// far (`None`: being measured, a cycle, which validation reports; a spread of
/// a fragment that does not exist counts nothing, validation reports it too).
fn measure<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    sizes: &HashMap<&'a str, Option<u64>>,
) -> Measured<'a> {
    let mut fields = 0u64;
    let mut waiting = Vec::new();
    let mut add = |measured: Measured<'a>| match measured {
        Measured::Fields(n) => fields = fields.saturating_add(n),
        Measured::Waiting(names) => waiting.extend(names),
    };
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                add(Measured::Fields(1));
                add(measure(&field.node.selection_set.node, doc, sizes));
            }
            Selection::InlineFragment(fragment) => add(measure(&fragment.node.selection_set.node, doc, sizes)),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match sizes.get(name) {
                    Some(Some(size)) => add(Measured::Fields(*size)),
                    Some(None) => {}
                    None if doc.fragments.contains_key(name) => add(Measured::Waiting(vec![name])),
                    None => {}
                }
            }
        }
    }
    if waiting.is_empty() { Measured::Fields(fields) } else { Measured::Waiting(waiting) }
}

/// The number of fields the document's operations select once every fragment
/// spread is written out, saturating. Each fragment is measured at most twice
/// (once to find the fragments it waits for, once they are known), with an
/// explicit stack, so neither a chain of fragments nor their doubling can
/// make this slow or deep.
pub fn expanded_fields(doc: &ExecutableDocument) -> u64 {
    let mut sizes: HashMap<&str, Option<u64>> = HashMap::with_capacity(doc.fragments.len());
    for root in doc.fragments.keys() {
        let mut stack = vec![root.as_str()];
        while let Some(&name) = stack.last() {
            if matches!(sizes.get(name), Some(Some(_))) {
                stack.pop();
                continue;
            }
            let Some(fragment) = doc.fragments.get(name) else {
                stack.pop();
                continue;
            };
            let first_visit = !sizes.contains_key(name);
            sizes.insert(name, None);
            match measure(&fragment.node.selection_set.node, doc, &sizes) {
                Measured::Fields(n) => {
                    sizes.insert(name, Some(n));
                    stack.pop();
                }
                Measured::Waiting(names) if first_visit => stack.extend(names),
                // Everything it waits for is on the stack below it: a cycle.
                Measured::Waiting(_) => {
                    sizes.insert(name, Some(0));
                    stack.pop();
                }
            }
        }
    }
    doc.operations
        .iter()
        .map(|(_, op)| match measure(&op.node.selection_set.node, doc, &sizes) {
            Measured::Fields(n) => n,
            Measured::Waiting(_) => 0,
        })
        .fold(0u64, u64::saturating_add)
}

/// Parses a document and applies the limits that are not the schema's own;
/// the error carries its code.
pub fn prepare(query: &str, limits: &Limits) -> Result<ExecutableDocument, ServerError> {
    let doc = async_graphql::parser::parse_query(query).map_err(|err| {
        let mut err = ServerError::from(err);
        super::errors::set_code(&mut err, codes::GRAPHQL_PARSE_FAILED);
        err
    })?;
    // Every field costs at least 1, so a document that expands to more fields
    // than the complexity limit could never run; refusing it here keeps the
    // schema's own checks from walking it.
    let fields = expanded_fields(&doc);
    let max_fields = limits.max_complexity.max(1) as u64;
    if fields > max_fields {
        return Err(request_error(
            format!(
                "the query selects more than {max_fields} fields once its fragments are expanded; \
                 write the fields it needs out instead of spreading fragments into each other"
            ),
            codes::GRAPHQL_VALIDATION_FAILED,
        ));
    }
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

/// The operation a request runs: the one named, or the first.
pub fn selected_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let mut operations = doc.operations.iter();
    match operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name)).map(|(_, op)| &op.node),
        None => operations.next().map(|(_, op)| &op.node),
    }
}

/// Every variable the operation requires (non-null, without a default) must
/// be given: left out of `variables`, it would otherwise reach a resolver as
/// nothing at all. The same refusal as an explicit `null`.
pub fn check_variables(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<(), ServerError> {
    let Some(operation) = selected_operation(doc, operation_name) else { return Ok(()) };
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        let name = definition.name.node.as_str();
        let required = !definition.var_type.node.nullable && definition.default_value.is_none();
        let given = variables.get(name).is_some_and(|v| *v != async_graphql::Value::Null);
        if required && !given {
            return Err(request_error(
                format!("the variable ${name} is required (type {}) but was not given", definition.var_type.node),
                codes::GRAPHQL_VALIDATION_FAILED,
            ));
        }
    }
    Ok(())
}

/// The root fields of a selection, through inline fragments and fragment spreads.
fn root_fields<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    depth: usize,
    out: &mut Vec<&'a async_graphql::parser::types::Field>,
) -> bool {
    // Deeper than this, the list is incomplete: callers then assume the worst.
    if depth > 16 {
        return false;
    }
    let mut complete = true;
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => out.push(&field.node),
            Selection::InlineFragment(fragment) => {
                complete &= root_fields(&fragment.node.selection_set.node, doc, depth + 1, out);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                    complete &= root_fields(&fragment.node.selection_set.node, doc, depth + 1, out);
                }
            }
        }
    }
    complete
}

/// Whether the selected operation selects one of `names` at its root.
pub fn selects_root_field(doc: &ExecutableDocument, operation_name: Option<&str>, names: &[&str]) -> bool {
    let Some(operation) = selected_operation(doc, operation_name) else { return false };
    let mut fields = Vec::new();
    let complete = root_fields(&operation.selection_set.node, doc, 0, &mut fields);
    !complete || fields.iter().any(|field| names.contains(&field.name.node.as_str()))
}

/// Whether the selected operation sets, once its variables are resolved, an
/// argument listed in `dependent` (root field, argument path) to anything but
/// `null` or `false`: its results then depend on who asks, not only on what
/// they may see. Root fields are found through inline fragments and fragment
/// spreads too.
pub fn sets_viewer_dependent_argument(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    dependent: &[(&str, &[&str])],
) -> bool {
    use async_graphql::Value as ConstValue;

    let Some(operation) = selected_operation(doc, operation_name) else { return false };
    // A variable left out takes its default, as the executor will give it.
    let default_of = |name: &str| {
        operation
            .variable_definitions
            .iter()
            .find(|d| d.node.name.node.as_str() == name)
            .and_then(|d| d.node.default_value.as_ref())
            .map(|v| v.node.clone())
    };
    let mut fields = Vec::new();
    // Fragments nested too deep to read: never share the execution.
    let complete = root_fields(&operation.selection_set.node, doc, 0, &mut fields);
    !complete
        || fields.iter().any(|field| {
            dependent.iter().filter(|(name, _)| field.name.node == *name).any(|(_, path)| {
                let Some((argument, rest)) = path.split_first() else { return false };
                let Some(value) = field.get_argument(argument) else { return false };
                let resolved = value.node.clone().into_const_with(|name| {
                    let given = variables.get(&name).cloned().or_else(|| default_of(name.as_str()));
                    Ok::<_, std::convert::Infallible>(given.unwrap_or(ConstValue::Null))
                });
                let Ok(mut value) = resolved;
                for key in rest {
                    value = match value {
                        ConstValue::Object(mut map) => map.swap_remove(*key).unwrap_or(ConstValue::Null),
                        _ => ConstValue::Null,
                    };
                }
                !matches!(value, ConstValue::Null | ConstValue::Boolean(false))
            })
        })
}

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 100;

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
    /// [`prepare`], from the cache when this text passed before. Shared: the
    /// executor takes its own copy, the transport reads this one.
    pub fn prepare(&self, query: &str, limits: &Limits) -> Result<Arc<ExecutableDocument>, ServerError> {
        if let Some(doc) = self.parsed.lock().unwrap_or_else(|p| p.into_inner()).get(query) {
            return Ok(doc.clone());
        }
        let doc = Arc::new(prepare(query, limits)?);
        if query.len() <= MAX_CACHED_QUERY_BYTES {
            let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
            if parsed.len() >= MAX_CACHED_DOCUMENTS {
                parsed.clear();
            }
            parsed.insert(query.into(), doc.clone());
        }
        Ok(doc)
    }
}
