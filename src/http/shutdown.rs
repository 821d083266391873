//! Stopping without losing a request: on SIGTERM or SIGINT the server stops
//! accepting connections, `/readyz` answers 503, open WebSockets are closed
//! with 1001 (going away) so their clients reconnect to another instance, and
//! requests in flight get up to `RAPPORT_SHUTDOWN_GRACE_SECONDS` to finish
//! (their transactions commit or roll back as they would have). Then the
//! background work stops and the process exits 0.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::sync::watch;

use crate::app::AppState;

/// Whether the server is stopping; cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    stopping: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { stopping: Arc::new(watch::channel(false).0) }
    }
}

impl Shutdown {
    /// Starts the shutdown (idempotent).
    pub fn begin(&self) {
        self.stopping.send_replace(true);
    }

    pub fn begun(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once the shutdown has begun.
    pub async fn wait(&self) {
        let mut stopping = self.stopping.subscribe();
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }
}

/// SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Serves until `stop` resolves, then shuts down as the module says.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown = state.shutdown.clone();
    let grace = state.config().shutdown_grace;
    let router = crate::http::router(state.clone());
    let begin = shutdown.clone();
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            stop.await;
            tracing::info!("shutting down: draining requests and closing WebSockets");
            begin.begin();
        });
    let drained = tokio::select! {
        served = server.into_future() => { served?; true }
        () = async { shutdown.wait().await; tokio::time::sleep(grace).await } => false,
    };
    if !drained {
        tracing::warn!(grace_seconds = grace.as_secs(), "requests still running after the grace period were cut");
    }
    state.services.webhooks.stop();
    Ok(())
}
