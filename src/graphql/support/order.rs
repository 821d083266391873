//! Response maps in the order the fields were asked for (GraphQL spec,
//! "Serialized Map Ordering"). async-graphql resolves the fields of an object
//! concurrently and keeps them in the order they finish, so the transport puts
//! each object of the response back in selection order, fragments included.

use async_graphql::indexmap::IndexMap;
use async_graphql::{
    Name, Value,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

type Fragments = std::collections::HashMap<Name, async_graphql::Positioned<FragmentDefinition>>;

/// The response keys of a selection set in order of first appearance, each
/// with every sub-selection set that contributes to it.
fn collect<'a>(set: &'a SelectionSet, fragments: &'a Fragments, out: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let key = field.alias.as_ref().map_or(field.name.node.as_str(), |a| a.node.as_str());
                let children = &field.selection_set.node;
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sets)) => sets.push(children),
                    None => out.push((key, vec![children])),
                }
            }
            Selection::InlineFragment(fragment) => collect(&fragment.node.selection_set.node, fragments, out),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, fragments, out);
                }
            }
        }
    }
}

fn reorder_value(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|item| reorder_value(item, sets, fragments)),
        Value::Object(map) => {
            let mut order = Vec::new();
            for set in sets {
                collect(set, fragments, &mut order);
            }
            let mut taken = std::mem::take(map);
            let mut sorted = IndexMap::with_capacity(taken.len());
            for (key, children) in &order {
                if let Some((name, mut child)) = taken.swap_remove_entry(*key) {
                    if children.iter().any(|c| !c.items.is_empty()) {
                        reorder_value(&mut child, children, fragments);
                    }
                    sorted.insert(name, child);
                }
            }
            // Anything not in the selection (there should be nothing) keeps its place at the end.
            sorted.extend(taken);
            *map = sorted;
        }
        _ => {}
    }
}

/// Puts every object of `data` in the order its fields were selected by the
/// operation the request ran.
pub fn reorder(data: &mut Value, doc: &ExecutableDocument, operation_name: Option<&str>) {
    let mut operations = doc.operations.iter();
    let operation = match operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
        None => operations.next(),
    };
    if let Some((_, operation)) = operation {
        reorder_value(data, &[&operation.node.selection_set.node], &doc.fragments);
    }
}
