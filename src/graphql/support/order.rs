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

/// The shape of a response: each object's keys in selection order, with the
/// shape of the value under each key (a field's sub-selections, merged over
/// every place the key is selected, fragments included). Built once per
/// request, then applied to every object of a list.
#[derive(Default)]
struct Shape<'a> {
    keys: Vec<(&'a str, Shape<'a>)>,
}

/// Deeper than any document the depth limit lets through; guards against a
/// fragment cycle (validation rejects those before anything runs).
const MAX_DEPTH: usize = 64;

impl<'a> Shape<'a> {
    fn of(sets: &[&'a SelectionSet], fragments: &'a Fragments, depth: usize) -> Self {
        let mut keys: Vec<(&'a str, Vec<&'a SelectionSet>)> = Vec::new();
        for set in sets {
            collect(set, fragments, &mut keys, depth);
        }
        let keys = keys
            .into_iter()
            .map(|(key, children)| {
                let shape = if depth < MAX_DEPTH && children.iter().any(|c| !c.items.is_empty()) {
                    Shape::of(&children, fragments, depth + 1)
                } else {
                    Shape::default()
                };
                (key, shape)
            })
            .collect();
        Self { keys }
    }

    fn apply(&self, value: &mut Value) {
        match value {
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item)),
            Value::Object(map) => {
                if !self.matches(map) {
                    let mut taken = std::mem::take(map);
                    let mut sorted = IndexMap::with_capacity(taken.len());
                    for (key, _) in &self.keys {
                        if let Some((name, child)) = taken.swap_remove_entry(*key) {
                            sorted.insert(name, child);
                        }
                    }
                    // Anything not in the selection (there should be nothing) keeps its place at the end.
                    sorted.extend(taken);
                    *map = sorted;
                }
                // The map's keys are now a subsequence of the selection's, in its order: walk both
                // together instead of hashing each key again.
                let mut next = 0;
                for (key, shape) in &self.keys {
                    if let Some((name, child)) = map.get_index_mut(next)
                        && name.as_str() == *key
                    {
                        next += 1;
                        if !shape.keys.is_empty() {
                            shape.apply(child);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the object's keys are already in selection order (most are:
    /// fields that resolve at once finish in the order they were started).
    fn matches(&self, map: &IndexMap<Name, Value>) -> bool {
        let mut next = 0;
        for (key, _) in &self.keys {
            // The common case, compared without hashing: the next key is this one.
            if map.get_index(next).is_some_and(|(name, _)| name.as_str() == *key) {
                next += 1;
            } else if map.contains_key(*key) {
                return false;
            }
        }
        next == map.len()
    }
}

/// The response keys of a selection set in order of first appearance, each
/// with every sub-selection set that contributes to it.
fn collect<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    out: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>,
    depth: usize,
) {
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
            Selection::InlineFragment(fragment) => collect(&fragment.node.selection_set.node, fragments, out, depth),
            Selection::FragmentSpread(spread) => {
                if depth < MAX_DEPTH
                    && let Some(fragment) = fragments.get(&spread.node.fragment_name.node)
                {
                    collect(&fragment.node.selection_set.node, fragments, out, depth + 1);
                }
            }
        }
    }
}

/// Puts every object of `data` in the order its fields were selected by the
/// operation the request ran.
pub fn reorder(data: &mut Value, doc: &ExecutableDocument, operation_name: Option<&str>) {
    if matches!(data, Value::Null) {
        return;
    }
    let mut operations = doc.operations.iter();
    let operation = match operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
        None => operations.next(),
    };
    if let Some((_, operation)) = operation {
        Shape::of(&[&operation.node.selection_set.node], &doc.fragments, 0).apply(data);
    }
}
