//! The transport's shared state: what every request and connection uses
//! (the services, the schema, the limiter, the caches), built once by
//! `serve`, the tests and the benchmarks.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    config::Config,
    graphql::{self, AppSchema},
    service::Services,
};

/// Shared by every request and connection.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: AppSchema,
    /// Requests (and WebSocket operations) per user per minute.
    pub limiter: Arc<governor::DefaultKeyedRateLimiter<i64>>,
    /// Renders the metrics (`GET /metrics`).
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Documents already parsed and checked, by their text.
    pub documents: Arc<crate::graphql::support::limits::Documents>,
    /// Running subscriptions, shared by subscribers who would get the same results.
    pub fanout: Arc<crate::http::fanout::Fanout>,
    /// Documents of automatic persisted queries, by hash.
    pub persisted: Arc<crate::http::persisted::PersistedQueries>,
    /// Begun on SIGTERM: readiness fails and WebSockets close.
    pub shutdown: crate::http::shutdown::Shutdown,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let config = Arc::new(config);
        let services = Services::new(db, config.clone());
        let per_minute =
            std::num::NonZeroU32::new(config.limits.requests_per_minute.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        Self {
            schema: graphql::build_schema(&config.limits, config.slow_resolver, Some(services.clone())),
            limiter: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute))),
            metrics: crate::telemetry::install(),
            documents: Arc::default(),
            fanout: Arc::default(),
            persisted: Arc::new(crate::http::persisted::PersistedQueries::new(config.limits.persisted_query_bytes)),
            shutdown: crate::http::shutdown::Shutdown::default(),
            services,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.services.db
    }

    pub fn config(&self) -> &Config {
        &self.services.config
    }

    /// Starts what runs beside the requests (`crate::jobs`); resolves once
    /// the ticket feed listens.
    pub async fn start_background(&self) -> anyhow::Result<()> {
        crate::jobs::start(&self.services).await
    }
}
