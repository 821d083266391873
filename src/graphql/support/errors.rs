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

/// What a scalar must look like, in the project's words, for the built-in
/// scalars whose library messages say little ("input is out of range").
fn scalar_rule(scalar: &str) -> Option<&'static str> {
    Some(match scalar {
        "Int" => "an Int is a whole number from -2147483648 to 2147483647",
        "Float" => "a Float is a finite number",
        "Boolean" => "a Boolean is true or false",
        "String" => "a String is text in double quotes",
        "ID" => "an ID is a string the API handed out",
        "DateTime" => "a DateTime is written in ISO 8601 with its offset, like 2026-11-28T09:30:00Z",
        _ => return None,
    })
}

/// Rewrites async-graphql's coercion messages (`Failed to parse "DateTime":
/// input contains invalid characters (occurred while parsing "X")`) into a
/// sentence that says what is expected; the project's own scalars already
/// say it, so only the prefix goes.
fn reword(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Failed to parse \"")?;
    let (scalar, detail) = rest.split_once("\": ")?;
    let (detail, inside) = match detail.split_once(" (occurred while parsing \"") {
        Some((detail, inside)) => (detail, inside.strip_suffix("\")").or(Some(inside))),
        None => (detail, None),
    };
    let rule = scalar_rule(scalar).map_or_else(|| detail.to_owned(), str::to_owned);
    Some(match inside {
        Some(input) => format!("{rule} (in {input})"),
        None => rule,
    })
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
        if let Some(message) = reword(&err.message) {
            err.message = message;
        }
        set_code(err, codes::GRAPHQL_VALIDATION_FAILED);
    } else if is_coercion_error(err) {
        if let Some(message) = reword(&err.message) {
            err.message = message;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_coercion_messages_are_said_in_the_projects_words() {
        assert_eq!(
            reword(
                "Failed to parse \"DateTime\": input is out of range (occurred while parsing \"CustomerFilterInput\")"
            ),
            Some(
                "a DateTime is written in ISO 8601 with its offset, like 2026-11-28T09:30:00Z (in CustomerFilterInput)"
                    .into()
            )
        );
        assert_eq!(
            reword("Failed to parse \"Int\": Only integers from -2147483648 to 2147483647 are accepted."),
            Some("an Int is a whole number from -2147483648 to 2147483647".into())
        );
        assert_eq!(
            reword("Failed to parse \"Date\": a Date is written YYYY-MM-DD"),
            Some("a Date is written YYYY-MM-DD".into())
        );
        assert_eq!(reword("Unknown field"), None);
    }
}
