//! Every request has an id: the caller's `X-Request-Id` when it sends a
//! sensible one (up to 128 visible ASCII characters), a fresh one otherwise.
//! It is echoed in the response and carried by the request's tracing span,
//! beside the method, path, GraphQL operation name and viewer id, so one
//! request can be followed through the logs of a proxy, Rapport and its client.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use rand::RngCore;
use tracing::Span;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

fn fresh() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Gives the request its id (before the trace layer makes its span) and echoes it back.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let id = given.unwrap_or_else(fresh);
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert(HEADER.clone(), value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(HEADER.clone(), value);
    response
}

/// The span of one request; the GraphQL layer fills `operation` and `viewer_id` in.
pub fn span<B>(request: &axum::http::Request<B>) -> Span {
    let id = request.headers().get(&HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
        operation = tracing::field::Empty,
        viewer_id = tracing::field::Empty,
    )
}
