//! Stopping without losing a request: on SIGTERM or SIGINT the server stops
//! accepting connections, `/readyz` answers 503, open WebSockets are closed
//! with 1001 (going away) so their clients reconnect to another instance, and
//! requests in flight get up to `RAPPORT_SHUTDOWN_GRACE_SECONDS` to finish
//! (their transactions commit or roll back as they would have). Then the
//! background work stops and the process exits 0.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::sync::watch;

use crate::http::AppState;

/// Whether the server is stopping, and the WebSockets still open; cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    stopping: Arc<watch::Sender<bool>>,
    /// Open WebSocket connections. The HTTP server forgets a connection once
    /// it is upgraded, so its drain does not wait for them: this does, so
    /// that every socket has written its close frame before the process exits.
    sockets: Arc<watch::Sender<usize>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { stopping: Arc::new(watch::channel(false).0), sockets: Arc::new(watch::channel(0).0) }
    }
}

/// Held by a WebSocket connection until its last frame is written.
pub struct OpenSocket(Arc<watch::Sender<usize>>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open = open.saturating_sub(1));
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

    /// Counts a WebSocket connection as open until the guard is dropped.
    pub fn socket_opened(&self) -> OpenSocket {
        self.sockets.send_modify(|open| *open += 1);
        OpenSocket(self.sockets.clone())
    }

    /// WebSocket connections still open.
    pub fn open_sockets(&self) -> usize {
        *self.sockets.borrow()
    }

    /// Resolves once no WebSocket connection is open.
    pub async fn sockets_closed(&self) {
        let mut open = self.sockets.subscribe();
        let _ = open.wait_for(|open| *open == 0).await;
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
    // Requests in flight and open sockets (each closing with 1001) both
    // finish within the grace period.
    let drained = tokio::select! {
        served = async { server.into_future().await?; shutdown.sockets_closed().await; anyhow::Ok(()) } => {
            served?;
            true
        }
        () = async { shutdown.wait().await; tokio::time::sleep(grace).await } => false,
    };
    if !drained {
        tracing::warn!(grace_seconds = grace.as_secs(), "requests still running after the grace period were cut");
    }
    state.services.webhooks.stop();
    // Bulk reads counted here and not yet added to the shared count.
    if let Err(err) = state.services.exports.flush(&state.services.db).await {
        tracing::warn!(error = %err, "counting the last bulk reads failed");
    }
    Ok(())
}
