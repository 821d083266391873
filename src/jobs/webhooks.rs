//! The webhook delivery job, one per instance: each round claims due
//! deliveries (`crate::service::deliveries`), posts each with a timeout, and
//! records the attempt. Network errors, timeouts, 408, 429 and 5xx are
//! retried on the configured schedule (about a day by default) with ±20%
//! jitter, after which the delivery is FAILED; any other answer outside 2xx
//! fails it at once (the receiver refused it). Every
//! `RAPPORT_WEBHOOK_SWEEP_SECS` it also sweeps for the events time makes.

use std::time::Duration;

use entity::{webhook_endpoint, webhook_event};
use rand::Rng;
use sea_orm::DatabaseConnection;

use crate::{
    config::WebhookConfig,
    error::AppResult,
    service::{
        deliveries::{self, Outcome, WebhookHandle},
        now,
        webhooks::previous_secret,
    },
    webhooks::{address, signing},
};

/// Posts due deliveries until stopped.
pub struct Worker {
    db: DatabaseConnection,
    config: WebhookConfig,
    client: reqwest::Client,
    handle: WebhookHandle,
}

impl Worker {
    pub fn new(db: DatabaseConnection, config: WebhookConfig, handle: WebhookHandle) -> anyhow::Result<Self> {
        let client = client(&config, None)?;
        Ok(Self { db, config, client, handle })
    }

    pub async fn run(self) {
        let mut stop = self.handle.stopped();
        let mut swept: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            if swept.is_none_or(|at| at.elapsed() >= self.config.sweep) {
                if let Err(err) = deliveries::sweep(&self.db).await {
                    tracing::warn!(error = %err, "webhook sweep failed; retrying");
                }
                swept = Some(tokio::time::Instant::now());
            }
            loop {
                match self.round().await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "webhook delivery round failed; retrying");
                        break;
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = self.handle.woken() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Claims and posts one batch; returns how many were claimed.
    async fn round(&self) -> AppResult<usize> {
        let lease = self.config.timeout * 2 + Duration::from_secs(1);
        let claimed = deliveries::claim(&self.db, lease).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let results = futures_util::future::join_all(claimed.iter().map(|c| async move {
            let outcome = self.post(&c.event, &c.endpoint).await;
            let retry = usize::try_from(c.delivery.attempts).ok().and_then(|n| self.config.retries.get(n));
            deliveries::record_attempt(&self.db, &c.delivery, &outcome, retry.map(|wait| jittered(*wait))).await
        }))
        .await;
        for result in results {
            result?;
        }
        Ok(claimed.len())
    }

    /// One attempt: the Standard Webhooks headers over the stored payload.
    async fn post(&self, event: &webhook_event::Model, endpoint: &webhook_endpoint::Model) -> Outcome {
        let started = std::time::Instant::now();
        let elapsed = |started: std::time::Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let checked = match address::check(&endpoint.url, self.config.allow_private).await {
            Ok(checked) => checked,
            Err(reason) => return Outcome { status_code: None, error: Some(reason), duration_ms: elapsed(started) },
        };
        // A host name connects to the addresses just checked, not to a fresh resolution.
        let client = match &checked.pinned {
            None => self.client.clone(),
            Some((host, addresses)) => match client(&self.config, Some((host, addresses))) {
                Ok(client) => client,
                Err(err) => {
                    return Outcome { status_code: None, error: Some(err.to_string()), duration_ms: elapsed(started) };
                }
            },
        };
        let at = now();
        let id = format!("msg_{}", event.id);
        let timestamp = at.timestamp();
        let secrets = std::iter::once(endpoint.secret.as_str()).chain(previous_secret(endpoint, at));
        let signature = signing::signature_header(secrets, &id, timestamp, &event.payload);
        let sent = client
            .post(checked.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(event.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                Outcome { status_code: Some(response.status().as_u16()), error: None, duration_ms: elapsed(started) }
            }
            Err(err) => {
                let error = if err.is_timeout() { "timed out".to_owned() } else { without_url(err) };
                Outcome { status_code: None, error: Some(error), duration_ms: elapsed(started) }
            }
        }
    }
}

/// The HTTP client of deliveries, optionally held to checked addresses of a host.
fn client(
    config: &WebhookConfig,
    pinned: Option<(&String, &Vec<std::net::SocketAddr>)>,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Rapport-Webhooks/1");
    if let Some((host, addresses)) = pinned {
        builder = builder.resolve_to_addrs(host, addresses);
    }
    builder.build()
}

/// A wait stretched or shrunk by up to 20%, so retries of many deliveries spread out.
fn jittered(wait: Duration) -> chrono::Duration {
    let factor = rand::rng().random_range(0.8..=1.2);
    chrono::Duration::from_std(wait.mul_f64(factor)).unwrap_or_else(|_| chrono::Duration::days(1))
}

/// A transport error without the URL (it may carry a token in its query).
fn without_url(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut cause = std::error::Error::source(&err);
    let mut detail = err.to_string();
    while let Some(inner) = cause {
        detail = format!("{detail}: {inner}");
        cause = inner.source();
    }
    detail
}
