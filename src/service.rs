//! Business rules and queries: `(db, viewer, validated input) -> AppResult<Model>`.
//!
//! Nothing here knows about GraphQL or HTTP (`.ci/run` checks it). Every
//! operation starts with its access check (`crate::policy`). Reads go
//! through the read modules below (a list's page, a relation's batch, rows by
//! global ID); every write ends through [`write::Write`], which writes the
//! audit entry, outbox events and change-feed rows in the write's own
//! transaction and runs the effects (publishing, recomputing) after commit.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{auth::Authenticator, auth::TokenService, config::Config, feed::Feed};

// How a request reads: lists by keyset, relations in batches, rows by
// global ID; customers and contacts read count toward the export audit.
/// Input checks shared by every service.
pub mod validate;
/// One page of any list, by keyset.
pub mod pages;
/// The relations fields follow, read for a whole batch of parents at once.
pub mod relations;
/// Rows by global-ID kind and id, through the policy.
pub mod nodes;
/// Bulk reads of customers and contacts, audited as exports.
pub mod exports;
/// Colleagues' user records, kept in memory.
pub mod directory;

// The domain, one module per kind of record.
/// Customers, their group hierarchy and their life cycle.
pub mod customers;
/// How many customers a list holds, from the kept counts where they serve.
pub mod customer_counts;
/// People at customers.
pub mod contacts;
/// Touchpoints with customers.
pub mod communications;
/// Service tickets and their history.
pub mod tickets;
/// Promises made to customers.
pub mod commitments;
/// Work on a customer: by hand, by playbook, from follow-ups.
pub mod tasks;
/// Playbooks: triggers that become tasks.
pub mod playbooks;
/// The fields each company adds to customers, contacts and tickets.
pub mod custom_fields;
/// Who may read the sensitive fields.
pub mod field_access;
/// Duplicate candidates of customers and contacts, kept current with the change feed.
pub mod duplicates;
/// Merging duplicate customers and contacts.
pub mod merge;
/// Partnership tiers and terms.
pub mod partnerships;
/// Supply priorities.
pub mod supply;
/// Monthly revenue and gross profit.
pub mod revenue;
/// Churn events.
pub mod churn;
/// Satisfaction surveys.
pub mod surveys;
/// Key dates on customers and contacts: project starts, renewals.
pub mod key_dates;
/// Typed links between customers.
pub mod links;
/// Customers and contacts pushed by other systems, keyed by their ids.
pub mod external;
/// Employees, teams, service accounts; reassignment and deactivation.
pub mod users;
/// Password sign-in, refresh tokens, throttling, password changes.
pub mod sessions;
/// Invitations: an ADMIN lets a new user choose a first password.
pub mod invitations;
/// API tokens of service accounts.
pub mod api_tokens;
/// Webhook endpoints (ADMIN only).
pub mod webhooks;

// Derived data kept current after writes.
/// The account-health snapshot the at-risk list ranks.
pub mod health;
/// Keeping stored segments and trailing revenue current.
pub mod segments;
/// Keeping the revenue rollups current on every write that changes them.
pub mod rollups;
/// Who owns an account, and the open work that moves with it.
pub mod ownership;

// How every write ends: one unit of work writing the audit trail, the
// outbox, the change feed, then the effects after commit.
/// The unit of work every write ends through: audit, outbox, change feed, effects.
pub mod write;
/// The audit trail every mutation writes.
pub mod audit;
/// The outbox changes announce webhook events through.
pub mod outbox;
/// The change feed: every change of the synced tables, in commit order.
pub mod changes;
/// Webhook deliveries: claims, attempts, and the sweeps of timed events.
pub mod deliveries;

/// What the services need beside the database: configuration, the live feed,
/// token signing and the process-wide watches. Shared: every request holds it,
/// so a clone is one reference count, not one per part.
#[derive(Clone)]
pub struct Services(Arc<Parts>);

/// The parts of [`Services`].
pub struct Parts {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub feed: Feed,
    pub tokens: TokenService,
    pub authenticator: Arc<Authenticator>,
    /// Failed logins per account and address.
    pub throttle: Arc<sessions::LoginThrottle>,
    /// Bulk reads of customers, audited as exports.
    pub exports: Arc<exports::ExportWatch>,
    /// Recomputes stored segments after changes.
    pub segments: segments::SegmentKeeper,
    /// Users by id, for every field that names one.
    pub users: Arc<directory::UserDirectory>,
    /// Keeps the account-health snapshot.
    pub health: health::HealthKeeper,
    /// Wakes and stops the webhook delivery worker.
    pub webhooks: deliveries::WebhookHandle,
}

impl std::ops::Deref for Services {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl Services {
    pub fn new(db: DatabaseConnection, config: Arc<Config>) -> Self {
        let tokens =
            TokenService::new(&config.jwt_secret, config.token_ttl).with_provider(config.identity_provider.clone());
        Self(Arc::new(Parts {
            feed: Feed::new(db.clone(), &config.notify_channel),
            authenticator: Arc::new(Authenticator::new(tokens.clone(), db.clone())),
            tokens,
            throttle: Arc::default(),
            exports: Arc::new(exports::ExportWatch::new(
                config.limits.export_threshold,
                std::time::Duration::from_secs(3600),
                config.export_flush,
            )),
            segments: segments::SegmentKeeper::default(),
            health: health::HealthKeeper::new(config.health_rules, config.health_sweep, config.health_poll),
            users: Arc::default(),
            webhooks: deliveries::WebhookHandle::default(),
            db,
            config,
        }))
    }

    /// Makes a change of a user effective everywhere: this instance's cache
    /// at once, other instances and open connections through the feed.
    pub async fn user_changed(&self, user_id: i64) {
        self.forget_user(user_id);
        self.feed.user_changed(user_id).await;
    }

    /// Drops a user from this instance's caches (viewer and directory).
    pub fn forget_user(&self, user_id: i64) {
        self.authenticator.invalidate(user_id);
        self.users.invalidate(user_id);
    }

    /// Drops every user from this instance's caches.
    pub fn forget_users(&self) {
        self.authenticator.clear();
        self.users.clear();
    }
}

/// The clock every write stamps its rows with.
pub use crate::db::now;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::{AppError, AppResult};

/// Writes `changes` only if the row still has `expected` as its version, and
/// returns the row as written; the check and the write are one statement, so
/// concurrent writers cannot both win.
pub async fn update_versioned<E: EntityTrait>(
    db: &impl ConnectionTrait,
    changes: E::ActiveModel,
    (id_column, id): (E::Column, i64),
    (version_column, expected): (E::Column, i32),
    entity: &'static str,
) -> AppResult<E::Model> {
    let result =
        E::update_many().set(changes).filter(id_column.eq(id)).filter(version_column.eq(expected)).exec(db).await?;
    if result.rows_affected != 1 {
        return Err(AppError::conflict(format!("{entity} was changed by someone else; reload it and retry")));
    }
    E::find().filter(id_column.eq(id)).one(db).await?.ok_or(AppError::NotFound(entity))
}
