//! The application: its shared state and [`prepare`], the one function that
//! opens and migrates the database, used by `serve`, the CLI and the tests.
//! It builds what the transport needs and imports no handler.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    config::Config,
    db,
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

    /// Starts what runs beside the requests: on PostgreSQL, the feed's
    /// listener (ticket events and user changes from every instance), and the
    /// task that drops changed users from this instance's caches.
    /// Resolves once the listener listens.
    pub async fn start_background(&self) -> anyhow::Result<()> {
        crate::service::sessions::warm_up().await;
        let keeper = self.services.segments.clone();
        tokio::spawn(keeper.run(self.services.db.clone(), self.services.config.segment_rules));
        tokio::spawn(self.services.health.clone().run(self.services.db.clone()));
        tokio::spawn(self.services.exports.clone().run(self.services.db.clone()));
        let worker = crate::webhooks::worker::Worker::new(
            self.services.db.clone(),
            self.services.config.webhook.clone(),
            self.services.webhooks.clone(),
        )?;
        tokio::spawn(worker.run());
        let mut changes = self.services.feed.user_changes();
        let services = self.services.clone();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(crate::feed::UserChange::One(user_id)) => services.forget_user(user_id),
                    Ok(crate::feed::UserChange::Unknown) => services.forget_users(),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => services.forget_users(),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        self.services.feed.start_listening(&self.services.config.database_url).await
    }
}

/// Connects to the configured database and applies pending migrations.
pub async fn prepare(config: &Config) -> anyhow::Result<DatabaseConnection> {
    crate::config::describe_database(&config.database_url)?;
    let db = db::connect(&config.database_url, config.db_max_connections).await?;
    db::migrate(&db).await?;
    Ok(db)
}
