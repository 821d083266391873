//! The unit of work every write ends through. A write opens one
//! ([`Write::begin`]), does its checks and saves inside its transaction
//! (`&*write` is the transaction), and notes as it goes what the change
//! means to the rest of the system:
//!
//! - audit entries ([`Write::audit`]): who changed what, for the audit trail;
//! - change-feed entries ([`Write::change`]): what integrations must sync;
//! - webhook events ([`Write::announce`]): what receivers are told;
//! - effects after the commit ([`Write::after`]): ticket events published,
//!   changed users announced, stored segments asked to recompute.
//!
//! [`Write::commit`] writes them in one fixed order: audit rows, the webhook
//! outbox, the change feed last (its position comes from a clock row locked
//! until the commit, so it is held for the shortest time), then commits and
//! runs the effects. A write therefore cannot record one and forget another,
//! and a write that fails at any point leaves nothing behind.

use sea_orm::DatabaseTransaction;
use serde_json::Value;

use crate::{
    error::AppResult,
    policy::Viewer,
    service::{
        Services, audit,
        changes::{self, Change},
        outbox::{self, Event},
    },
};

/// What to do once a write has committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Publish these ticket events to live subscribers on every instance.
    Publish(Vec<i64>),
    /// This user changed (role, team, scopes, activity): drop caches, tell open connections.
    UserChanged(i64),
    /// Stored segments may have moved: recompute them soon.
    Segments,
    /// A delivery was queued by hand: wake the webhook job.
    WakeWebhooks,
    /// These tasks were given to their owners: tell the owners' live subscriptions on every instance.
    TasksAssigned(Vec<i64>),
    /// The field policy changed: every instance forgets it and its viewers, open connections re-read theirs.
    FieldPolicyChanged,
}

/// A write in progress: its transaction and what it will record.
pub struct Write {
    txn: DatabaseTransaction,
    /// Who writes, and from where, for the audit trail.
    actor: Option<i64>,
    client: Option<String>,
    entries: Vec<audit::Entry>,
    changes: Vec<Change>,
    events: Vec<Event>,
    effects: Vec<Effect>,
    /// Change-feed entries already written by [`Write::flush`], waiting for their positions.
    staged: i64,
}

impl std::ops::Deref for Write {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl Write {
    /// Opens a write transaction (`crate::db::write`) on behalf of `viewer`.
    pub async fn begin(svc: &Services, viewer: &Viewer) -> AppResult<Self> {
        Self::begin_as(svc, Some(viewer.user_id), viewer.client.clone()).await
    }

    /// Opens a write for an actor who may not be signed in (a sign-in, a
    /// refused one): the audit trail names `actor`, if known, and `client`.
    pub async fn begin_as(svc: &Services, actor: Option<i64>, client: Option<String>) -> AppResult<Self> {
        Ok(Self {
            txn: crate::db::write(&svc.db).await?,
            actor,
            client,
            entries: Vec::new(),
            changes: Vec::new(),
            events: Vec::new(),
            effects: Vec::new(),
            staged: 0,
        })
    }

    /// Notes an audit entry.
    pub fn audit(&mut self, action: &str, entity: &str, id: i64, changes: Value) {
        self.entries.push(audit::Entry {
            action: action.to_owned(),
            entity: entity.to_owned(),
            entity_id: id,
            changes,
        });
    }

    /// Notes a change-feed entry.
    pub fn change(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Notes change-feed entries.
    pub fn changes(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.changes.extend(changes);
    }

    /// Notes webhook events.
    pub fn announce(&mut self, events: impl IntoIterator<Item = Event>) {
        self.events.extend(events);
    }

    /// Notes something to do once the write has committed.
    pub fn after(&mut self, effect: Effect) {
        // A sweep gives many tasks: one announcement for all of them.
        if let Effect::TasksAssigned(ids) = &effect
            && let Some(Effect::TasksAssigned(noted)) =
                self.effects.iter_mut().find(|e| matches!(e, Effect::TasksAssigned(_)))
        {
            noted.extend(ids.iter().filter(|id| !noted.contains(id)).copied().collect::<Vec<_>>());
            return;
        }
        if !self.effects.contains(&effect) {
            self.effects.push(effect);
        }
    }

    /// Writes what was noted, in order (audit, outbox, change feed), commits,
    /// then runs the effects.
    pub async fn commit(self, svc: &Services) -> AppResult<()> {
        let Self { txn, actor, client, entries, changes: feed, events, effects, staged } = self;
        audit::record_all(&txn, actor, client, entries).await?;
        outbox::emit(&txn, &events).await?;
        if staged == 0 {
            changes::record(&txn, &feed).await?;
        } else {
            let staged = changes::stage(&txn, &feed, staged).await?;
            changes::settle_staged(&txn, staged).await?;
        }
        txn.commit().await?;
        for effect in effects {
            match effect {
                Effect::Publish(events) => svc.feed.announce(&events).await,
                Effect::UserChanged(user_id) => svc.user_changed(user_id).await,
                Effect::Segments => svc.segments.request(),
                Effect::WakeWebhooks => svc.webhooks.wake(),
                Effect::TasksAssigned(ids) => svc.feed.tasks_assigned(&ids).await,
                Effect::FieldPolicyChanged => {
                    svc.forget_users();
                    svc.feed.everyone_changed().await;
                }
            }
        }
        Ok(())
    }

    /// Writes what was noted so far (audit, outbox, change feed) without
    /// committing: a long write (an import of a whole file) keeps its memory
    /// flat by flushing after each batch. Its feed entries get their positions
    /// at the commit (`changes::stage`), so other writers do not wait for it.
    pub async fn flush(&mut self) -> AppResult<()> {
        audit::record_all(&self.txn, self.actor, self.client.clone(), std::mem::take(&mut self.entries)).await?;
        outbox::emit(&self.txn, &std::mem::take(&mut self.events)).await?;
        self.staged = changes::stage(&self.txn, &std::mem::take(&mut self.changes), self.staged).await?;
        Ok(())
    }

    /// Audits rows a set-based write changed, one entry per row of `select`
    /// (`entity_id`, and `changes`: the JSON text of what changed).
    pub async fn audit_from(&self, action: &str, entity: &str, select: &str) -> AppResult<()> {
        audit::record_from(&self.txn, self.actor, self.client.clone(), action, entity, select).await
    }

    /// Notes the change-feed entries a set-based write made (`changes::stage_from`),
    /// after those noted before.
    pub async fn changes_from(&mut self, entity: changes::ChangeEntity, select: &str, order: &str) -> AppResult<()> {
        self.flush().await?;
        self.staged = changes::stage_from(&self.txn, entity, select, order, self.staged).await?;
        Ok(())
    }

    /// Ends the write without writing anything (nothing changed after all).
    pub async fn rollback(self) -> AppResult<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}

impl Write {
    /// The transaction itself, for helpers that take a connection.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
