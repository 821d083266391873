//! Limits async-graphql does not have: a cap on aliases, which otherwise let one
//! request multiply an expensive field (depth and complexity are capped by the
//! schema itself).

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::graphql::errors::VALIDATION_FAILED;

/// Registers [`AliasLimit`] on the schema.
pub struct AliasLimitFactory(pub usize);

impl ExtensionFactory for AliasLimitFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimit(self.0))
    }
}

struct AliasLimit(usize);

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
impl Extension for AliasLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let count = count_aliases(&doc);
        if count > self.0 {
            let mut err =
                ServerError::new(format!("the query has {count} aliases; at most {} are allowed", self.0), None);
            err.extensions.get_or_insert_with(Default::default).set("code", VALIDATION_FAILED);
            return Err(err);
        }
        Ok(doc)
    }
}
