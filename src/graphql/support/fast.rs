//! Rows answered in one pass. async-graphql resolves every field of every
//! object as a boxed future of its own; for a page of customers with their
//! contacts, communications and tickets that is thousands of futures for
//! fields that only copy a column. [`Fast`] wraps an object type: the fields
//! its [`Plain`] implementation answers from the row are filled in one
//! synchronous loop, in selection order; every other field (arguments,
//! loaders, access rules) goes through the object's own resolver, as before,
//! concurrently with its siblings.
//!
//! The wrapper is the same GraphQL type (name, fields, descriptions: the
//! schema does not change). Fragments, aliases, a key selected twice and
//! `__typename` are handled as the executor handles them (`@skip` and
//! `@include` are applied to the document before anything runs). When the
//! schema has an extension that watches every field (the slow-resolver watch),
//! the whole object takes the executor's path, so the watch sees every field.

use std::borrow::Cow;

use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::resolve_container,
};
use futures_util::{FutureExt, future::BoxFuture};

use crate::{
    graphql::support::context::RequestContext,
    policy::{HiddenFields, SensitiveField},
};

/// An object type with fields that are copies of its row.
pub trait Plain: ContainerType {
    /// The value of field `name` from the row, or `None` when the field needs
    /// its resolver. Only fields without arguments, loaders or access rules
    /// may answer here, and a sensitive field only when it is not in `hidden`
    /// (the viewer's, `None` when unknown: then never); a test compares every
    /// one with its resolver's value.
    fn plain(&self, name: &str, hidden: Option<HiddenFields>) -> Option<Value>;
}

/// Schema data: present when every field must go through the executor. Any
/// extension that watches fields (`extensions.resolve`) must come with it:
/// fields answered here, and the others' resolvers called from here, bypass
/// the extensions.
pub struct ExecutorOnly;

/// An object of type `T` whose plain fields are answered in one pass.
pub struct Fast<T>(pub T);

impl<T: Plain + Send + Sync> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        if ctx.data_opt::<ExecutorOnly>().is_some() {
            return resolve_container(ctx, &self.0).await;
        }
        resolve(ctx, &self.0).await
    }
}

/// A field left to its resolver, and its response key.
type Pending<'a> = BoxFuture<'a, (Name, ServerResult<Value>)>;

async fn resolve<'a, T: Plain + Send + Sync>(ctx: &ContextSelectionSet<'a>, root: &'a T) -> ServerResult<Value> {
    let mut map = IndexMap::with_capacity(ctx.item.node.items.len());
    let mut pending = Vec::new();
    let hidden = ctx.data_opt::<RequestContext>().map(|rc| rc.viewer().hidden);
    collect(ctx, root, hidden, &mut map, &mut pending)?;
    if !pending.is_empty() {
        for (name, result) in futures_util::future::join_all(pending).await {
            match result {
                Ok(value) => merge(&mut map, name, value),
                Err(err) => {
                    // As the executor does: the error is reported, the key left out (unless
                    // another selection of the same key already gave it a value).
                    if matches!(map.get(&name), Some(Value::Null)) {
                        map.shift_remove(&name);
                    }
                    ctx.add_error(err);
                }
            }
        }
    }
    Ok(if map.is_empty() { Value::Null } else { Value::Object(map) })
}

/// Walks a selection set (and its fragments) in order: plain fields are
/// written at once, the others get a place in the map and a future.
fn collect<'a, T: Plain + Send + Sync>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    hidden: Option<HiddenFields>,
    map: &mut IndexMap<Name, Value>,
    pending: &mut Vec<Pending<'a>>,
) -> ServerResult<()> {
    for selection in &ctx.item.node.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let name = field.node.name.node.as_str();
                if name == "__typename" {
                    map.entry(key).or_insert_with(|| Value::String(root.introspection_type_name().into_owned()));
                    continue;
                }
                if field.node.directives.is_empty()
                    && let Some(value) = root.plain(name, hidden)
                {
                    map.entry(key).or_insert(value);
                    continue;
                }
                map.entry(key.clone()).or_insert(Value::Null);
                let ctx = ctx.clone();
                pending.push(
                    async move {
                        let ctx_field = ctx.with_field(field);
                        let value = root.resolve_field(&ctx_field).await.map(Option::unwrap_or_default);
                        (key, value)
                    }
                    .boxed(),
                );
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node) else {
                    return Err(async_graphql::ServerError::new(
                        format!(r#"Unknown fragment "{}"."#, spread.node.fragment_name.node),
                        Some(spread.pos),
                    ));
                };
                let on = fragment.node.type_condition.node.on.node.as_str();
                if applies(ctx, root, Some(on)) {
                    collect(&ctx.with_selection_set(&fragment.node.selection_set), root, hidden, map, pending)?;
                }
            }
            Selection::InlineFragment(fragment) => {
                let on = fragment.node.type_condition.as_ref().map(|c| c.node.on.node.as_str());
                if applies(ctx, root, on) {
                    collect(&ctx.with_selection_set(&fragment.node.selection_set), root, hidden, map, pending)?;
                }
            }
        }
    }
    Ok(())
}

/// Whether a fragment on `condition` applies to the object: no condition, its
/// own type, or an interface it implements.
fn applies<T: Plain>(ctx: &ContextSelectionSet<'_>, root: &T, condition: Option<&str>) -> bool {
    let Some(condition) = condition else { return true };
    let own = root.introspection_type_name();
    own == condition
        || ctx.schema_env.registry.implements.get(own.as_ref()).is_some_and(|interfaces| interfaces.contains(condition))
}

/// Puts a resolved value in its place; a key selected more than once merges
/// its sub-selections, as the executor merges them.
fn merge(map: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    match (map.get_mut(&name), value) {
        (Some(Value::Object(target)), Value::Object(more)) => {
            for (key, value) in more {
                merge(target, key, value);
            }
        }
        (Some(Value::List(target)), Value::List(more)) => {
            for (slot, value) in target.iter_mut().zip(more) {
                if let (Value::Object(target), Value::Object(more)) = (slot, value) {
                    for (key, value) in more {
                        merge(target, key, value);
                    }
                }
            }
        }
        (Some(slot @ Value::Null), value) => *slot = value,
        (Some(_), _) => {}
        (None, value) => {
            map.insert(name, value);
        }
    }
}

/// A plain string field.
pub fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

/// Whether a sensitive field may answer in one pass: the viewer is known and may read it.
pub fn readable(hidden: Option<HiddenFields>, field: SensitiveField) -> bool {
    hidden.is_some_and(|hidden| !hidden.contains(field))
}

/// A plain optional string field.
pub fn opt_text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, text)
}

/// A plain field of any output scalar or enum, as its own type writes it.
pub fn scalar<S: async_graphql::ScalarType>(value: S) -> Value {
    value.to_value()
}

/// A plain optional field of any scalar.
pub fn opt_scalar<S: async_graphql::ScalarType>(value: Option<S>) -> Value {
    value.map_or(Value::Null, |v| v.to_value())
}

/// A plain global ID field (the `ID` written straight, without the copy its scalar makes).
pub fn global_id(kind: &str, id: i64) -> Value {
    Value::String(crate::gid::encode(kind, id))
}

/// A plain enum field. async-graphql makes a new name (an allocation) for every
/// enum value it writes; the names are few and fixed, so each is made once per
/// thread and shared.
pub fn enumerated<E: async_graphql::resolver_utils::EnumType>(value: E) -> Value {
    thread_local! {
        static NAMES: std::cell::RefCell<std::collections::HashMap<(usize, usize), Name>> = Default::default();
    }
    let Some(item) = E::items().iter().find(|item| item.value == value) else {
        return async_graphql::resolver_utils::enum_value(value);
    };
    let name = NAMES.with_borrow_mut(|names| {
        names.entry((item.name.as_ptr() as usize, item.name.len())).or_insert_with(|| Name::new(item.name)).clone()
    });
    Value::Enum(name)
}

/// A plain optional enum field.
pub fn opt_enumerated<E: async_graphql::resolver_utils::EnumType>(value: Option<E>) -> Value {
    value.map_or(Value::Null, enumerated)
}
