//! Every error leaves with a stable `extensions.code`. A resolver's `?` on an
//! `AppError` would otherwise lose its code (async-graphql keeps only the
//! message), so the transport passes each response through [`finish`], which
//! reads the code from the `AppError` behind the error, adds its structured
//! details (`field`, `currentVersion`, `allowed`), and masks anything internal
//! after logging it. This runs once per response rather than as a schema
//! extension, which would sit in the path of every resolved field.

use async_graphql::{Response, ServerError, Value};

use crate::error::{AppError, codes};

fn has_code(err: &ServerError) -> bool {
    err.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some())
}

/// Sets `code` unless the error already has one.
pub fn set_code(err: &mut ServerError, code: &str) {
    if !has_code(err) {
        err.extensions.get_or_insert_with(Default::default).set("code", code);
    }
}

/// A request error with a code, for errors the transport finds itself.
pub fn request_error(message: impl Into<String>, code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    set_code(&mut err, code);
    err
}

/// async-graphql's own messages for an argument that does not coerce to its type.
fn is_coercion_error(err: &ServerError) -> bool {
    err.source.is_none()
        && (err.message.starts_with("Failed to parse") || err.message.starts_with("Expected input type"))
}

/// Gives one error its code. `request_failed`: nothing executed (no `data`),
/// so a code-less error is about the request itself (the operation name, the
/// variables), not about a field.
fn classify(err: &mut ServerError, request_failed: bool) {
    if has_code(err) {
        return;
    }
    if let Some(app) = err.source::<AppError>() {
        let code = app.code();
        if let AppError::Internal(detail) = app {
            tracing::error!(path = ?err.path, error = %detail, "internal error");
        }
        let message = app.to_string();
        let extras = details(app);
        err.message = message;
        set_code(err, code);
        for (key, value) in extras {
            err.extensions.get_or_insert_with(Default::default).set(key, value);
        }
    } else if request_failed && err.path.is_empty() {
        set_code(err, codes::GRAPHQL_VALIDATION_FAILED);
    } else if is_coercion_error(err) {
        set_code(err, codes::BAD_USER_INPUT);
    } else {
        tracing::error!(path = ?err.path, error = %err.message, "internal error");
        err.message = "internal server error".to_owned();
        set_code(err, codes::INTERNAL_SERVER_ERROR);
    }
}

/// Machine-readable details of an error, beside its code.
fn details(err: &AppError) -> Vec<(&'static str, Value)> {
    match err {
        AppError::BadInput { field, .. } => vec![("field", Value::from(field.as_str()))],
        AppError::BadRows { field, rows, .. } => {
            let rows = rows
                .iter()
                .map(|r| {
                    let mut row = async_graphql::indexmap::IndexMap::new();
                    row.insert(async_graphql::Name::new("index"), Value::from(r.index as u64));
                    row.insert(async_graphql::Name::new("field"), Value::from(r.field.as_str()));
                    row.insert(async_graphql::Name::new("message"), Value::from(r.message.as_str()));
                    Value::Object(row)
                })
                .collect();
            vec![("field", Value::from(field.as_str())), ("rows", Value::List(rows))]
        }
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

/// Gives every error of a response its code; call it on every response before
/// it is serialised (HTTP and WebSocket alike).
pub fn finish(mut response: Response) -> Response {
    let request_failed = response.data == Value::Null;
    response.errors.iter_mut().for_each(|err| classify(err, request_failed));
    response
}

/// Whether a response is a request error (nothing executed): parse, validation
/// or variable coercion failed. Such responses carry no `data`.
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions.as_ref().and_then(|x| x.get("code")).is_some_and(|code| {
                matches!(code, Value::String(s) if s == codes::GRAPHQL_PARSE_FAILED || s == codes::GRAPHQL_VALIDATION_FAILED)
            })
        })
}
