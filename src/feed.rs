//! Live changes, across instances: ticket events (behind the subscriptions)
//! and user changes (which end or narrow the sessions of a deactivated or
//! changed user at once, everywhere).
//!
//! Every committed ticket change is announced by the ids of the history rows it
//! wrote. On PostgreSQL the announcement is a `NOTIFY` (payload: the ids, far
//! below the 8 kB limit); every instance `LISTEN`s, loads the rows and
//! broadcasts them to its own subscribers, so a change made on one instance
//! reaches subscribers on all of them. On SQLite (one process) the rows are
//! loaded and broadcast directly.
//!
//! Delivery is at most once: a subscriber that falls more than
//! [`FEED_CAPACITY`] events behind is told so and its subscription ends
//! (resubscribe and refetch); a notification sent while an instance's listener
//! is reconnecting is lost to that instance.
//!
//! A user change (deactivation, role, team or scopes) is broadcast to this
//! instance's connections directly and announced to the others with a
//! `NOTIFY` on the same channel (payload `user:<id>`).

use std::{collections::HashMap, sync::Arc, time::Duration};

use entity::{customer, ticket, ticket_event, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Statement,
};
use tokio::sync::broadcast;

/// Events buffered per instance; a subscriber further behind than this lags out.
pub const FEED_CAPACITY: usize = 4096;

/// Prefix of the NOTIFY payload that announces a changed user.
const USER_PREFIX: &str = "user:";

/// One change of a ticket: the history entry, the ticket as it is now, and who
/// owns its customer (to check visibility per event without a query).
#[derive(Debug)]
pub struct TicketChange {
    pub event: ticket_event::Model,
    pub ticket: ticket::Model,
    pub owner_id: i64,
    pub owner_team_id: Option<i64>,
}

#[derive(Clone)]
pub struct Feed {
    sender: broadcast::Sender<Arc<TicketChange>>,
    users: broadcast::Sender<i64>,
    db: DatabaseConnection,
    /// The NOTIFY channel on PostgreSQL; `None` on SQLite.
    channel: Option<String>,
}

impl Feed {
    pub fn new(db: DatabaseConnection, channel: &str) -> Self {
        let (sender, _) = broadcast::channel(FEED_CAPACITY);
        let (users, _) = broadcast::channel(1024);
        let channel = (db.get_database_backend() == DatabaseBackend::Postgres).then(|| channel.to_owned());
        Self { sender, users, db, channel }
    }

    /// Ticket changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TicketChange>> {
        self.sender.subscribe()
    }

    /// Ids of users changed from now on (deactivated, or their role, team or scopes).
    pub fn user_changes(&self) -> broadcast::Receiver<i64> {
        self.users.subscribe()
    }

    /// Announces a committed change of a user to every instance.
    pub async fn user_changed(&self, user_id: i64) {
        let _ = self.users.send(user_id);
        if let Some(channel) = &self.channel {
            let stmt = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [channel.clone().into(), format!("{USER_PREFIX}{user_id}").into()],
            );
            if let Err(err) = self.db.execute_raw(stmt).await {
                tracing::error!(error = %err, user_id, "announcing a user change failed");
            }
        }
    }

    /// Announces history rows that were just committed. Failures are logged:
    /// the change itself is already durable.
    pub async fn announce(&self, event_ids: &[i64]) {
        if event_ids.is_empty() {
            return;
        }
        metrics::counter!("rapport_ticket_events_published_total").increment(event_ids.len() as u64);
        let result = match &self.channel {
            Some(channel) => {
                let payload = event_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let stmt = Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [channel.clone().into(), payload.into()],
                );
                self.db.execute_raw(stmt).await.map(|_| ())
            }
            None => self.deliver(event_ids).await,
        };
        if let Err(err) = result {
            tracing::error!(error = %err, ?event_ids, "announcing ticket events failed");
        }
    }

    /// Loads the changes and broadcasts them to this instance's subscribers.
    async fn deliver(&self, event_ids: &[i64]) -> Result<(), DbErr> {
        if self.sender.receiver_count() == 0 {
            return Ok(());
        }
        let events = ticket_event::Entity::find()
            .filter(ticket_event::Column::Id.is_in(event_ids.iter().copied()))
            .order_by_asc(ticket_event::Column::Id)
            .all(&self.db)
            .await?;
        let tickets: HashMap<i64, ticket::Model> = ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(events.iter().map(|e| e.ticket_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let owners: HashMap<i64, i64> = customer::Entity::find()
            .filter(customer::Column::Id.is_in(tickets.values().map(|t| t.customer_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.owner_id))
            .collect();
        let teams: HashMap<i64, Option<i64>> = user::Entity::find()
            .filter(user::Column::Id.is_in(owners.values().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.team_id))
            .collect();
        for event in events {
            let Some(ticket) = tickets.get(&event.ticket_id).cloned() else { continue };
            let Some(&owner_id) = owners.get(&ticket.customer_id) else { continue };
            let owner_team_id = teams.get(&owner_id).copied().flatten();
            // No receiver is not an error: nobody is listening right now.
            let _ = self.sender.send(Arc::new(TicketChange { event, ticket, owner_id, owner_team_id }));
        }
        Ok(())
    }

    /// On PostgreSQL, listens for other instances' (and this one's)
    /// announcements; resolves once the `LISTEN` is in place.
    pub async fn start_listening(&self, url: &str) -> anyhow::Result<()> {
        let Some(channel) = self.channel.clone() else { return Ok(()) };
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(&channel).await?;
        let feed = self.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(notification) => {
                        if let Some(user) = notification.payload().strip_prefix(USER_PREFIX) {
                            if let Ok(user_id) = user.trim().parse() {
                                let _ = feed.users.send(user_id);
                            }
                            continue;
                        }
                        let ids: Vec<i64> =
                            notification.payload().split(',').filter_map(|id| id.trim().parse().ok()).collect();
                        if let Err(err) = feed.deliver(&ids).await {
                            tracing::error!(error = %err, "loading announced ticket events failed");
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "ticket feed listener lost its connection; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }
}
