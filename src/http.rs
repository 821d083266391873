//! The transport: the HTTP router, health checks, GraphQL over HTTP and over
//! WebSocket. Everything here turns bytes into GraphQL requests and back; the
//! rules live below, in the schema and the services.

use std::net::{IpAddr, SocketAddr};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State, connect_info::ConnectInfo},
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    routing::get,
};
use tower_http::trace::TraceLayer;

use crate::{config::Config, graphql::support::context::ClientInfo};

pub use state::AppState;

/// Shared execution of subscriptions: one execution per distinct subscription per event.
pub mod fanout;
/// GraphiQL and its assets, served from the binary.
pub mod graphiql;
/// GraphQL over HTTP (`POST` and `GET /graphql`).
pub mod graphql;
pub mod persisted;
/// Request ids and the request span.
pub mod request_id;
/// Stopping without losing a request.
pub mod shutdown;
/// The state every request and connection shares.
pub mod state;
/// GraphQL over WebSocket (`/graphql/ws`).
pub mod ws;

/// The HTTP routes of Rapport.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config().limits.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route(graphiql::ASSETS_PATH, get(graphiql::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(transport_limits))
        .layer(cors(&state.config().cors_origins))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Cross-origin calls from the configured origins: the methods and headers
/// GraphQL clients send, never credentials (tokens travel in `Authorization`,
/// not cookies), preflights cached for ten minutes.
fn cors(origins: &crate::config::CorsOrigins) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allow = match origins {
        crate::config::CorsOrigins::Any => AllowOrigin::any(),
        crate::config::CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()))
        }
    };
    let request_id = header::HeaderName::from_static("x-request-id");
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, request_id.clone()])
        .expose_headers([request_id])
        .max_age(std::time::Duration::from_secs(600))
}

/// Longest request target accepted (path and query string): a GET carries
/// its document in the URL, and 16 KiB holds any document a client would
/// send that way (longer ones belong in a POST body or a persisted query).
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Most header bytes (names and values) one request may carry.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// A refusal by the transport, as a GraphQL error body with its code, so a
/// client reads every refusal the same way.
pub fn refusal(status: StatusCode, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": crate::error::codes::BAD_REQUEST } }]
    });
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// Refuses request targets and headers beyond [`MAX_URI_BYTES`] and
/// [`MAX_HEADER_BYTES`] (414, 431) with a GraphQL error body. The HTTP layer
/// underneath refuses far larger ones on its own (about 64 KiB of target,
/// 400 KB of headers) with a bare status line, before any of this runs.
async fn transport_limits(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let target = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return refusal(
            StatusCode::URI_TOO_LONG,
            &format!("the request target is {target} bytes; at most {MAX_URI_BYTES} are accepted: POST long documents"),
        );
    }
    let headers: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers > MAX_HEADER_BYTES {
        return refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &format!("the request headers are {headers} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        );
    }
    next.run(request).await
}

/// The metrics, in the Prometheus text format; the pool and the webhook queue are sampled now.
async fn metrics(State(state): State<AppState>) -> ([(header::HeaderName, &'static str); 1], String) {
    let (size, idle, max) = crate::db::pool_stats(state.db());
    let queue = crate::service::webhooks::queue_depth(state.db()).await.ok();
    crate::telemetry::record_gauges(size, idle, max, queue);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

/// Ready when the database answers and the server is not shutting down.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.shutdown.begun() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    // A database that does not answer within a second is as good as down.
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), state.db().ping()).await;
    match ping.unwrap_or_else(|_| Err(sea_orm::DbErr::Custom("no answer within a second".to_owned()))) {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// The address of the client: the TCP peer, or, when the peer is one of the
/// configured trusted proxies (`RAPPORT_TRUSTED_PROXIES`), the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy. A header
/// from anyone else is ignored: clients could write anything there.
pub fn client_address(config: &Config, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let trusted = |ip: &IpAddr| config.trusted_proxies.iter().any(|net| net.contains(*ip));
    match peer {
        Some(peer) if trusted(&peer) => {
            let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
            let hops: Vec<IpAddr> =
                forwarded.flat_map(|v| v.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
            Some(hops.into_iter().rev().find(|ip| !trusted(ip)).unwrap_or(peer))
        }
        other => other,
    }
}

/// Who is calling, for the audit trail: `User-Agent` and the client address.
pub fn client_info(config: &Config, extensions: &Extensions, headers: &HeaderMap) -> ClientInfo {
    let address = client_address(config, extensions, headers).map(|ip| ip.to_string());
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::trim).filter(|a| !a.is_empty());
    let description = match (agent, &address) {
        (None, None) => None,
        (Some(agent), None) => Some(agent.to_owned()),
        (None, Some(address)) => Some(format!("for={address}")),
        (Some(agent), Some(address)) => Some(format!("{agent}; for={address}")),
    };
    ClientInfo { address, description: description.map(|d| d.chars().take(300).collect()) }
}
