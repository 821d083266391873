//! What runs beside the requests: when and how often. The work itself (the
//! SQL, the rules) is the services'; a job only decides when to call it.

/// The webhook delivery worker and its sweeps.
pub mod webhooks;

use std::time::Duration;

use crate::service::Services;

/// Starts every job of this instance; resolves once the ticket feed listens
/// (on PostgreSQL), so the first change after it reaches every subscriber.
pub async fn start(services: &Services) -> anyhow::Result<()> {
    crate::service::sessions::warm_up().await;
    tokio::spawn(segments(services.clone()));
    tokio::spawn(health(services.clone()));
    tokio::spawn(exports(services.clone()));
    tokio::spawn(fold_customer_counts(services.clone()));
    tokio::spawn(follow_ups(services.clone()));
    let worker =
        webhooks::Worker::new(services.db.clone(), services.config.webhook.clone(), services.webhooks.clone())?;
    tokio::spawn(worker.run());
    tokio::spawn(forget_changed_users(services.clone()));
    services.feed.start_listening(&services.config.database_url).await
}

/// Stored segments: recomputed at start, on request (a burst of writes
/// coalesces into one recompute after 300 ms of quiet), when the date
/// changes, and every 10 minutes in any case.
async fn segments(services: Services) {
    let (keeper, rules) = (&services.segments, services.config.segment_rules);
    let mut computed_for = None;
    loop {
        let today = chrono::Utc::now().date_naive();
        if computed_for != Some(today) {
            match crate::service::segments::recompute(&services.db, rules, today).await {
                Ok(changed) => {
                    tracing::debug!(changed, "segments recomputed");
                    computed_for = Some(today);
                }
                Err(err) => tracing::warn!(error = %err, "recomputing segments failed; retrying"),
            }
        }
        tokio::select! {
            () = keeper.requested() => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                computed_for = None;
            }
            () = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
    }
}

/// The account-health snapshot: the whole book every
/// `RAPPORT_HEALTH_SWEEP_SECS`, the customers the audit trail shows changed
/// every `RAPPORT_HEALTH_POLL_SECS` in between.
async fn health(services: Services) {
    let keeper = &services.health;
    loop {
        let result = if keeper.sweep_due().await {
            keeper.sweep(&services.db).await
        } else {
            keeper.catch_up(&services.db).await
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "keeping account health failed; retrying");
        }
        tokio::time::sleep(keeper.poll_every()).await;
    }
}

/// Bulk reads counted here, added to the count every instance shares.
async fn exports(services: Services) {
    let mut tick = tokio::time::interval(services.exports.flush_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = services.exports.flush(&services.db).await {
            tracing::warn!(error = %err, "counting bulk reads failed");
        }
    }
}

/// The kept customer counts, folded every minute: writes append rows of
/// differences, and a count reads every row of its keys.
async fn fold_customer_counts(services: Services) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = crate::service::customer_counts::fold(&services.db).await {
            tracing::warn!(error = %err, "folding the customer counts failed");
        }
    }
}

/// Communications' follow-up dates, then the playbooks' trigger occurrences,
/// become tasks every `RAPPORT_TASK_SWEEP_SECS`; every instance sweeps, unique
/// indexes keep each follow-up and each occurrence one task.
async fn follow_ups(services: Services) {
    let mut tick = tokio::time::interval(services.config.task_sweep);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: the first sweep waits one period, as a start-up has enough to do.
    tick.tick().await;
    loop {
        tick.tick().await;
        match crate::service::tasks::sweep_follow_ups(&services).await {
            Ok(0) => {}
            Ok(created) => tracing::debug!(created, "follow-up tasks created"),
            Err(err) => tracing::warn!(error = %err, "creating follow-up tasks failed"),
        }
        match crate::service::playbooks::sweep(&services).await {
            Ok(created) if created.is_empty() => {}
            Ok(created) => tracing::debug!(created = created.len(), "playbook tasks created"),
            Err(err) => tracing::warn!(error = %err, "running the playbooks failed"),
        }
    }
}

/// Drops users announced as changed (on any instance) from this instance's caches.
async fn forget_changed_users(services: Services) {
    use tokio::sync::broadcast::error::RecvError;
    let mut changes = services.feed.user_changes();
    loop {
        match changes.recv().await {
            Ok(crate::feed::UserChange::One(user_id)) => services.forget_user(user_id),
            Ok(crate::feed::UserChange::Unknown) | Err(RecvError::Lagged(_)) => services.forget_users(),
            Err(RecvError::Closed) => break,
        }
    }
}
