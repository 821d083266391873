//! GraphQL over HTTP, following the GraphQL-over-HTTP specification, which the
//! stock async-graphql-axum handler does not: content negotiation, status codes,
//! GET for queries only, no batching.

use async_graphql::{
    Response, ServerError, Variables,
    parser::types::{ExecutableDocument, OperationType, Selection},
};
use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    auth::LiveViewer,
    error::codes::{BAD_REQUEST, RATE_LIMITED, SERVICE_UNAVAILABLE},
    graphql::{
        sessions::ANONYMOUS_FIELDS,
        support::{
            context::{ClientInfo, RequestContext},
            errors::{finish, is_request_error},
            limits, order,
        },
    },
    http::AppState,
    http::persisted::{self, Persisted},
    policy::Viewer,
    telemetry,
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

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

/// A response body as the GraphQL-over-HTTP specification has it, written
/// straight from the executor's values: fields keep the order in which they
/// were requested ("Serialized Map Ordering"), and nothing is copied.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

fn reply_bytes(status: StatusCode, media: MediaType, bytes: Vec<u8>) -> HttpResponse {
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    response
}

fn reply(status: StatusCode, media: MediaType, response: &Response, with_data: bool) -> HttpResponse {
    let body =
        Body { data: with_data.then_some(&response.data), errors: &response.errors, extensions: &response.extensions };
    // Sized for most answers at once, rather than grown by doubling from a few bytes.
    let mut bytes = Vec::with_capacity(8 * 1024);
    match serde_json::to_writer(&mut bytes, &body) {
        Ok(()) => reply_bytes(status, media, bytes),
        Err(err) => {
            tracing::error!(error = %err, "serialising a response failed");
            let fallback = error_response("internal server error", crate::error::codes::INTERNAL_SERVER_ERROR);
            reply(StatusCode::INTERNAL_SERVER_ERROR, media, &fallback, false)
        }
    }
}

/// A response with one error and no data.
fn error_response(message: &str, code: &str) -> Response {
    Response::from_errors(vec![crate::graphql::support::errors::request_error(message, code)])
}

fn refuse(status: StatusCode, media: MediaType, message: &str, code: &str) -> HttpResponse {
    reply(status, media, &error_response(message, code), false)
}

fn bad_request(media: MediaType, message: &str) -> HttpResponse {
    refuse(StatusCode::BAD_REQUEST, media, message, BAD_REQUEST)
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

/// Whether the request is a mutation made only of `login`, `refreshToken` and `logout`.
fn signs_in_only(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let Some(operation) = limits::selected_operation(doc, operation_name) else { return false };
    operation.ty == OperationType::Mutation
        && operation.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                ANONYMOUS_FIELDS.contains(&name) || name == "__typename"
            }
            _ => false,
        })
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    media: MediaType,
    params: Params,
    method: &Method,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let named =
        params.operation_name.as_deref().or_else(|| params.query.as_deref().and_then(telemetry::operation_name_of));
    let operation = telemetry::operation_label(named);
    tracing::Span::current().record("operation", operation.as_str());
    let response =
        telemetry::counting_statements(&operation, run(state, headers, extensions, media, params, method)).await;
    let outcome = match response.status() {
        StatusCode::OK => "ok",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "rejected",
    };
    telemetry::record_request(&operation, outcome, started.elapsed().as_secs_f64());
    response
}

/// The request's document: as sent, or by its persisted-query hash; with
/// the hash to keep it under when it came with one.
fn document(
    state: &AppState,
    query: Option<String>,
    extensions: Option<&Value>,
) -> Result<(String, Option<String>), persisted::Refusal> {
    let query = query.filter(|q| !q.trim().is_empty());
    match (query, persisted::requested(extensions)?) {
        (Some(query), Persisted::No) => Ok((query, None)),
        (Some(query), Persisted::Hash(hash)) => {
            persisted::verify(&query, &hash)?;
            Ok((query, Some(hash)))
        }
        (None, Persisted::Hash(hash)) => match state.persisted.get(&hash) {
            Some(query) => Ok((query.to_string(), None)),
            None => Err(persisted::NOT_FOUND),
        },
        (None, Persisted::No) => Err(persisted::Refusal { message: "the request has no `query`", code: BAD_REQUEST }),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    media: MediaType,
    params: Params,
    method: &Method,
) -> HttpResponse {
    let Params { query, operation_name, variables, extensions: params_extensions } = params;
    if params_extensions.as_ref().is_some_and(|e| !e.is_object() && !e.is_null()) {
        return bad_request(media, "`extensions` must be an object");
    }
    let (query, to_keep) = match document(state, query, params_extensions.as_ref()) {
        Ok(found) => found,
        Err(refusal) if refusal.code == BAD_REQUEST => return bad_request(media, refusal.message),
        // Like a document that fails validation: nothing ran.
        Err(refusal) => return refuse(invalid_status(media), media, refusal.message, refusal.code),
    };
    let variables = match variables {
        None | Some(Value::Null) => Variables::default(),
        Some(vars @ Value::Object(_)) => Variables::from_json(vars),
        Some(_) => return bad_request(media, "`variables` must be an object"),
    };
    let config = state.config();
    let doc = match state.documents.prepare(&query, &config.limits) {
        Ok(doc) => doc,
        Err(err) => return reply(invalid_status(media), media, &Response::from_errors(vec![err]), false),
    };
    if let Some(refused) = refuse_method(method, media, &doc, operation_name.as_deref()) {
        return refused;
    }
    if let Err(err) = limits::check_variables(&doc, operation_name.as_deref(), &variables) {
        return reply(invalid_status(media), media, &Response::from_errors(vec![err]), false);
    }
    let authorization = headers.get(header::AUTHORIZATION).map(|h| h.to_str().unwrap_or_default());
    // Signing in is the one thing done without a token. A stale or invalid
    // header is ignored there: a client refreshes exactly when its token expired.
    let anonymous = signs_in_only(&doc, operation_name.as_deref());
    let client = crate::http::client_info(config, extensions, headers);
    let viewer = if anonymous {
        None
    } else {
        match authenticate(state, media, authorization, &client).await {
            Ok(viewer) => Some(viewer),
            Err(refused) => return refused,
        }
    };
    if let Some(viewer) = &viewer
        && let Some(refused) = rate_limit(state, media, viewer)
    {
        return refused;
    }
    // Kept only once it passed every check, from someone signed in.
    let to_keep = to_keep.map(|hash| (hash, query.clone()));
    let mut request = async_graphql::Request::new(query).variables(variables).data(client);
    request.set_parsed_query(ExecutableDocument::clone(&doc));
    let mut hidden = None;
    if let Some(viewer) = viewer {
        let context = RequestContext::new(&state.services, LiveViewer::new(viewer));
        hidden = Some(context.hidden_log());
        request = request.data(context);
    }
    if let Some(name) = &operation_name {
        request = request.operation_name(name);
    }
    let mut response = finish(state.schema.execute(request).await);
    if let Some(hidden) = hidden {
        response = hidden.finish(response);
    }
    order::reorder(&mut response.data, &doc, operation_name.as_deref());
    if let Some((hash, query)) = to_keep
        && !is_request_error(&response)
    {
        state.persisted.put(hash, &query);
    }
    respond(media, &response)
}

/// A request that fails validation ran nothing: with the GraphQL response
/// type that is a 400; plain JSON clients expect 200 and read the errors.
fn invalid_status(media: MediaType) -> StatusCode {
    if media == MediaType::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK }
}

/// GET is safe, so it runs queries only: a mutation or subscription sent by
/// GET gets 405, pointing at POST.
fn refuse_method(
    method: &Method,
    media: MediaType,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<HttpResponse> {
    if method != Method::GET
        || !matches!(
            limits::selected_operation(doc, operation_name).map(|op| op.ty),
            Some(OperationType::Mutation | OperationType::Subscription)
        )
    {
        return None;
    }
    let mut response = refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        media,
        &format!("{method} cannot run a mutation; use POST"),
        BAD_REQUEST,
    );
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    Some(response)
}

/// The signed-in viewer, or the refusal: 401 with the Bearer challenge, or
/// 503 when sessions cannot be checked (the database is down, not the token bad).
async fn authenticate(
    state: &AppState,
    media: MediaType,
    authorization: Option<&str>,
    client: &ClientInfo,
) -> Result<Viewer, HttpResponse> {
    match state.services.authenticator.authenticate(authorization).await {
        Ok(authenticated) => {
            let mut viewer = authenticated.viewer;
            viewer.client = client.description.clone();
            tracing::Span::current().record("viewer_id", viewer.user_id);
            Ok(viewer)
        }
        Err(err) => {
            let status = match err {
                crate::error::AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut response = refuse(status, media, &err.to_string(), err.code());
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(response)
        }
    }
}

/// The per-user rate limit: 429 with `Retry-After` once a viewer is over it.
fn rate_limit(state: &AppState, media: MediaType, viewer: &Viewer) -> Option<HttpResponse> {
    if state.limiter.check_key(&viewer.user_id).is_ok() {
        return None;
    }
    let message = format!("at most {} requests a minute; slow down", state.config().limits.requests_per_minute);
    metrics::counter!("rapport_rate_limited_total", "transport" => "http").increment(1);
    let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, media, &message, RATE_LIMITED);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Some(response)
}

/// The reply to a request that ran, its error codes counted.
fn respond(media: MediaType, response: &Response) -> HttpResponse {
    for error in &response.errors {
        if let Some(async_graphql::Value::String(code)) = error.extensions.as_ref().and_then(|e| e.get("code")) {
            telemetry::record_error(code);
        }
    }
    let unavailable = response.errors.iter().any(|e| {
        e.extensions.as_ref().and_then(|x| x.get("code"))
            == Some(&async_graphql::Value::String(SERVICE_UNAVAILABLE.to_owned()))
    });
    if is_request_error(response) && media == MediaType::GraphqlResponse {
        // A request error means nothing executed: no `data` key, and 400.
        reply(StatusCode::BAD_REQUEST, media, response, false)
    } else {
        // The database being down is the server's trouble, not the request's: 503, so proxies and clients retry.
        let status = if unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
        let with_data = !is_request_error(response);
        reply(status, media, response, with_data)
    }
}

/// 406, in the JSON a client can read whatever it asked for.
fn not_acceptable() -> HttpResponse {
    crate::http::refusal(
        StatusCode::NOT_ACCEPTABLE,
        "supported response types: application/graphql-response+json, application/json",
    )
}

fn is_json_content(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON))
}

/// `POST /graphql`: a JSON body with `query`, `variables`, `operationName`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResponse {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = state.config().limits.max_body_bytes;
            let message = format!("the body is larger than {limit} bytes (RAPPORT_MAX_BODY_BYTES)");
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, media, &message, BAD_REQUEST);
        }
        Err(_) => return bad_request(media, "the body could not be read"),
    };
    if !is_json_content(&headers) {
        let mut response =
            refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, media, "Content-Type must be application/json", BAD_REQUEST);
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
        Ok(params) => execute(&state, &headers, &extensions, media, params, &Method::POST).await,
        Err(_) => bad_request(media, "the body must be an object with a string `query`"),
    }
}

/// `GET /graphql`: GraphiQL for browsers (development), queries from the URL otherwise.
pub async fn get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    extensions: Extensions,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if wants_html && raw.is_none() && state.config().limits.introspection {
        return crate::http::graphiql::page();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
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
    let extensions_param = match lookup("extensions").map(|v| serde_json::from_str::<Value>(&v)) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return bad_request(media, "`extensions` is not valid JSON"),
    };
    let params = Params {
        query: lookup("query"),
        operation_name: lookup("operationName"),
        variables,
        extensions: extensions_param,
    };
    let mut response = execute(&state, &headers, &extensions, media, params, &method).await;
    // Answers depend on who asks: no shared cache may keep them, and nothing
    // stores them (see the README, "Persisted queries").
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
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
