//! GraphQL over HTTP, following the GraphQL-over-HTTP specification, which the
//! stock async-graphql-axum handler does not: content negotiation, status codes,
//! GET for queries only, no batching.

use async_graphql::{Variables, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    auth::Viewer,
    error::AppError,
    graphql::{
        context::RequestContext,
        errors::is_request_error,
        sessions::{ANONYMOUS_FIELDS, ClientAddress},
    },
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// `extensions.code` of a request the server cannot read as GraphQL over HTTP.
pub const BAD_REQUEST: &str = "BAD_REQUEST";

/// The media type the response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type from `Accept`, honouring q-values; `None` means 406.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        let media = match essence.as_str() {
            GRAPHQL_RESPONSE => MediaType::GraphqlResponse,
            JSON | "*/*" | "application/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, media));
        }
    }
    best.map(|(_, media)| media)
}

fn error_body(message: &str, code: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

fn reply(status: StatusCode, media: MediaType, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    response
}

fn bad_request(media: MediaType, message: &str) -> Response {
    reply(StatusCode::BAD_REQUEST, media, &error_body(message, BAD_REQUEST))
}

/// The parameters of a GraphQL request, from a JSON body or a query string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    extensions: Option<Value>,
}

/// Which operation the request would run, to refuse mutations over GET.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let mut operations = doc.operations.iter();
    match operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name)).map(|(_, op)| op.node.ty),
        None => operations.next().map(|(_, op)| op.node.ty),
    }
}

async fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthenticated("a bearer token is required".to_owned()))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .ok_or_else(|| AppError::Unauthenticated("the Authorization header must be `Bearer <token>`".to_owned()))?;
    let subject = state.tokens.verify(token.trim())?;
    let mut viewer = Viewer::load(&state.db, &subject).await?;
    viewer.client = client(headers);
    Ok(viewer)
}

/// The first address of `X-Forwarded-For`, set by the proxy in front of Rapport.
fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-forwarded-for")?.to_str().ok()?;
    value.split(',').next().map(|a| a.trim().chars().take(64).collect()).filter(|a: &String| !a.is_empty())
}

/// Whether the request is a mutation made only of `login`, `refreshToken` and `logout`.
fn signs_in_only(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::Selection;
    let Ok(doc) = async_graphql::parser::parse_query(query) else { return false };
    let mut operations = doc.operations.iter();
    let operation = match operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
        None => operations.next(),
    };
    let Some((_, operation)) = operation else { return false };
    operation.node.ty == OperationType::Mutation
        && operation.node.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                ANONYMOUS_FIELDS.contains(&name) || name == "__typename"
            }
            _ => false,
        })
}

/// `User-Agent`, with `X-Forwarded-For` when a proxy set it; at most 300 characters.
pub fn client(headers: &HeaderMap) -> Option<String> {
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let agent = header(header::USER_AGENT).filter(|a| !a.is_empty());
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).filter(|f| !f.is_empty());
    let text = match (agent, forwarded) {
        (None, None) => return None,
        (Some(agent), None) => agent.to_owned(),
        (None, Some(forwarded)) => format!("for={forwarded}"),
        (Some(agent), Some(forwarded)) => format!("{agent}; for={forwarded}"),
    };
    Some(text.chars().take(300).collect())
}

async fn execute(state: &AppState, headers: &HeaderMap, media: MediaType, params: Params) -> Response {
    let Some(query) = params.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request(media, "the request has no `query`");
    };
    let variables = match params.variables {
        None | Some(Value::Null) => Variables::default(),
        Some(vars @ Value::Object(_)) => Variables::from_json(vars),
        Some(_) => return bad_request(media, "`variables` must be an object"),
    };
    if params.extensions.as_ref().is_some_and(|e| !e.is_object() && !e.is_null()) {
        return bad_request(media, "`extensions` must be an object");
    }
    // Signing in is the one thing done without a token.
    let anonymous =
        headers.get(header::AUTHORIZATION).is_none() && signs_in_only(&query, params.operation_name.as_deref());
    let viewer = if anonymous {
        None
    } else {
        match viewer(state, headers).await {
            Ok(viewer) => Some(viewer),
            Err(err) => {
                let mut response = reply(StatusCode::UNAUTHORIZED, media, &error_body(&err.to_string(), err.code()));
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        }
    };
    if let Some(viewer) = &viewer
        && state.limiter.check_key(&viewer.user_id).is_err()
    {
        let message = format!("at most {} requests a minute; slow down", state.config.limits.requests_per_minute);
        let mut response = reply(StatusCode::TOO_MANY_REQUESTS, media, &error_body(&message, "RATE_LIMITED"));
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let mut request = async_graphql::Request::new(query)
        .variables(variables)
        .data(state.clone())
        .data(ClientAddress(forwarded_for(headers)));
    if let Some(viewer) = viewer {
        request = request.data(RequestContext::new(state, viewer));
    }
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    let response = state.schema.execute(request).await;
    let request_error = is_request_error(&response);
    let mut body = serde_json::to_value(&response)
        .unwrap_or_else(|_| error_body("internal server error", "INTERNAL_SERVER_ERROR"));
    let status = if request_error && media == MediaType::GraphqlResponse {
        // A request error means nothing executed: no `data` key, and 400.
        if let Value::Object(map) = &mut body {
            map.remove("data");
        }
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    reply(status, media, &body)
}

fn is_json_content(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON))
}

/// `POST /graphql`: a JSON body with `query`, `variables`, `operationName`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(media) = negotiate(&headers) else {
        return (StatusCode::NOT_ACCEPTABLE, "supported: application/graphql-response+json, application/json")
            .into_response();
    };
    if !is_json_content(&headers) {
        let mut response = reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            &error_body("Content-Type must be application/json", BAD_REQUEST),
        );
        response.headers_mut().insert(header::ACCEPT, HeaderValue::from_static(JSON));
        return response;
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return bad_request(media, "the body is not valid JSON"),
    };
    if value.is_array() {
        return bad_request(media, "batched requests are not supported; send one operation per request");
    }
    match serde_json::from_value::<Params>(value) {
        Ok(params) => execute(&state, &headers, media, params).await,
        Err(_) => bad_request(media, "the body must be an object with a string `query`"),
    }
}

/// `GET /graphql`: GraphiQL for browsers (development), queries from the URL otherwise.
pub async fn get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if wants_html && raw.is_none() && state.config.limits.introspection {
        return Html(async_graphql::http::GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return (StatusCode::NOT_ACCEPTABLE, "supported: application/graphql-response+json, application/json")
            .into_response();
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()) {
        Ok(pairs) => pairs,
        Err(_) => return bad_request(media, "the query string is malformed"),
    };
    let lookup = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let variables = match lookup("variables").map(|v| serde_json::from_str::<Value>(&v)) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return bad_request(media, "`variables` is not valid JSON"),
    };
    let params =
        Params { query: lookup("query"), operation_name: lookup("operationName"), variables, extensions: None };
    if let Some(query) = &params.query
        && matches!(
            operation_type(query, params.operation_name.as_deref()),
            Some(OperationType::Mutation | OperationType::Subscription)
        )
    {
        let mut response = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            &error_body(&format!("{method} cannot run a mutation; use POST"), BAD_REQUEST),
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, media, params).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")));
        headers
    }

    #[test]
    fn accept_header_picks_the_preferred_supported_type() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("application/graphql-response+json")), Some(MediaType::GraphqlResponse));
        assert_eq!(
            negotiate(&accept("application/json;q=0.9, application/graphql-response+json")),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("text/plain")), None);
    }
}
