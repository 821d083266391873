//! Application state and router: the one function both `serve` and the tests call.

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::get,
};
use sea_orm::DatabaseConnection;
use tower_http::trace::TraceLayer;

use crate::{
    auth::TokenService,
    config::Config,
    db,
    graphql::{self, AppSchema},
    ticket_feed::TicketFeed,
};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub tokens: TokenService,
    pub config: Arc<Config>,
    pub feed: TicketFeed,
    /// Requests per user per minute.
    pub limiter: Arc<governor::DefaultKeyedRateLimiter<i64>>,
    /// Failed logins per account and address.
    pub throttle: Arc<crate::service::sessions::LoginThrottle>,
    /// Bulk reads of customers, audited as exports.
    pub exports: Arc<crate::service::exports::ExportWatch>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        Self {
            schema: graphql::build_schema(&config.limits),
            tokens: TokenService::new(&config.jwt_secret, config.token_ttl)
                .with_provider(config.identity_provider.clone()),
            feed: TicketFeed::new(db.clone(), &config.notify_channel),
            throttle: Arc::default(),
            exports: Arc::new(crate::service::exports::ExportWatch::new(
                config.limits.export_threshold,
                std::time::Duration::from_secs(3600),
            )),
            limiter: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(config.limits.requests_per_minute.max(1))
                    .unwrap_or(std::num::NonZeroU32::MIN),
            ))),
            db,
            config: Arc::new(config),
        }
    }

    /// Starts what runs beside the requests: on PostgreSQL, the ticket feed's
    /// listener. Resolves once it listens.
    pub async fn start_background(&self) -> anyhow::Result<()> {
        self.feed.start_listening(&self.config.database_url).await
    }
}

/// Connects to the configured database and applies pending migrations.
pub async fn prepare(config: &Config) -> anyhow::Result<DatabaseConnection> {
    crate::config::describe_database(&config.database_url)?;
    let db = db::connect(&config.database_url, config.db_max_connections).await?;
    db::migrate(&db).await?;
    Ok(db)
}

/// The HTTP routes of Rapport.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphql::http::get).post(graphql::http::post))
        .route("/graphql/ws", get(graphql::ws::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Ready when the database answers.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
