//! Limits async-graphql does not have: a cap on aliases, which otherwise let one
//! request multiply an expensive field (depth and complexity are capped by the
//! schema itself), and a clear error when introspection is off (async-graphql
//! would quietly answer `null`).

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::graphql::errors::VALIDATION_FAILED;

/// Registers [`QueryLimits`] on the schema.
pub struct QueryLimitsFactory {
    pub max_aliases: usize,
    pub introspection: bool,
}

impl ExtensionFactory for QueryLimitsFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits { max_aliases: self.max_aliases, introspection: self.introspection })
    }
}

struct QueryLimits {
    max_aliases: usize,
    introspection: bool,
}

/// Whether an operation asks for `__schema` or `__type` at its root.
fn introspects(doc: &ExecutableDocument) -> bool {
    doc.operations.iter().any(|(_, op)| {
        op.node.selection_set.node.items.iter().any(|item| {
            matches!(&item.node, Selection::Field(f) if matches!(f.node.name.node.as_str(), "__schema" | "__type"))
        })
    })
}

fn refused(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", VALIDATION_FAILED);
    err
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

#[async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let count = count_aliases(&doc);
        if count > self.max_aliases {
            return Err(refused(format!("the query has {count} aliases; at most {} are allowed", self.max_aliases)));
        }
        if !self.introspection && introspects(&doc) {
            return Err(refused("introspection is disabled on this server".to_owned()));
        }
        Ok(doc)
    }
}
