//! One extension that gives every error a stable `extensions.code` and masks
//! internal details (a resolver's `?` would otherwise drop the code; see STYLE.md).

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextSubscribe, NextValidation,
    },
    parser::types::ExecutableDocument,
};

use futures_util::{StreamExt, stream::BoxStream};

use crate::error::AppError;

pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";

/// Registers [`ErrorCodes`] on the schema.
pub struct ErrorCodesFactory;

impl ExtensionFactory for ErrorCodesFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

struct ErrorCodes;

fn has_code(err: &ServerError) -> bool {
    err.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some())
}

fn set_code(err: &mut ServerError, code: &str) {
    if !has_code(err) {
        err.extensions.get_or_insert_with(Default::default).set("code", code);
    }
}

/// Gives a resolver error its code: from the `AppError` behind it, or
/// BAD_USER_INPUT for async-graphql's own argument coercion errors.
pub fn classify(err: &mut ServerError) {
    let app = err.source::<AppError>().map(|e| (e.code(), e.to_string(), details(e)));
    match app {
        Some((code, message, extras)) => {
            if code == "INTERNAL_SERVER_ERROR" {
                tracing::error!(path = ?err.path, error = %err.source::<AppError>().map(|e| format!("{e:?}")).unwrap_or_default(), "internal error");
            }
            err.message = message;
            set_code(err, code);
            for (key, value) in extras {
                err.extensions.get_or_insert_with(Default::default).set(key, value);
            }
        }
        None => set_code(err, BAD_USER_INPUT),
    }
}

/// Machine-readable details of an error, beside its code.
fn details(err: &AppError) -> Vec<(&'static str, Value)> {
    match err {
        AppError::BadInput { field, .. } => vec![("field", Value::from(field.as_str()))],
        AppError::Conflict { current_version, allowed, .. } => {
            let mut extras = Vec::new();
            if let Some(v) = current_version {
                extras.push(("currentVersion", Value::from(*v)));
            }
            if !allowed.is_empty() {
                let allowed = allowed.iter().map(|s| Value::from(*s)).collect();
                extras.push(("allowed", Value::List(allowed)));
            }
            extras
        }
        _ => Vec::new(),
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut err| {
            set_code(&mut err, PARSE_FAILED);
            err
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            errors.iter_mut().for_each(|err| set_code(err, VALIDATION_FAILED));
            errors
        })
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors.iter_mut().for_each(classify);
                response
            })
            .boxed()
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        response.errors.iter_mut().for_each(classify);
        response
    }
}

/// Whether a response is a request error (nothing executed): parse, validation
/// or variable coercion failed. Such responses carry no `data`.
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|code| matches!(code, Value::String(s) if s == PARSE_FAILED || s == VALIDATION_FAILED))
                || e.path.is_empty() && !has_code(e)
        })
}
