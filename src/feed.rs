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
//! (resubscribe and refetch).
//!
//! When the listener loses its connection (a database restart or failover),
//! the notifications sent meanwhile are lost to this instance, so once it
//! listens again it catches up from the `ticket_event` table: every row after
//! the last one it delivered (less an overlap for transactions that committed
//! out of id order), in id order, skipping the ids it already delivered. Users
//! changed meanwhile are unknown, so every session re-reads its user.
//!
//! A user change (deactivation, role, team or scopes) is broadcast to this
//! instance's connections directly and announced to the others with a
//! `NOTIFY` on the same channel (payload `user:<id>`, or `user:*` for a
//! change that concerns everyone, such as the field policy).
//!
//! Tasks given to someone (created for them, reassigned to them) are announced
//! the same way (payload `task:<id> <id> ...`, space-separated so that an
//! older instance reading the ids as ticket events finds none) and broadcast
//! with the task as it is when loaded. They are not replayed after a lost
//! connection: the subscribers are told ([`TaskFeed::Missed`]) and refetch.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use entity::{customer, task, ticket, ticket_event, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use tokio::sync::broadcast;

/// Events buffered per instance; a subscriber further behind than this lags out.
pub const FEED_CAPACITY: usize = 4096;

/// Prefix of the NOTIFY payload that announces a changed user.
const USER_PREFIX: &str = "user:";
const TASK_PREFIX: &str = "task:";
/// What follows [`USER_PREFIX`] when every user is concerned.
const EVERYONE: &str = "*";
/// Task ids per NOTIFY: the payload stays far below PostgreSQL's 8 kB.
const TASK_IDS_PER_NOTIFY: usize = 400;

/// How far below the last delivered id a catch-up starts: ids are taken at
/// insert and become visible at commit, so a transaction that took a lower id
/// may commit after a higher one was delivered. Far more than the number of
/// writers that can be in flight at once.
const CATCH_UP_OVERLAP: i64 = 1024;

/// Ids remembered as delivered, so a catch-up never repeats one.
const REMEMBERED: usize = 4 * CATCH_UP_OVERLAP as usize;

/// Rows read per catch-up statement.
const CATCH_UP_PAGE: u64 = 500;

/// A change of users that sessions must notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserChange {
    /// This user was deactivated, or their role, team or scopes changed.
    One(i64),
    /// Some users may have changed unseen (the listener was away): every
    /// session re-reads its user.
    Unknown,
}

impl UserChange {
    /// Whether a session of `user_id` must re-read its user.
    pub fn concerns(self, user_id: i64) -> bool {
        match self {
            UserChange::One(id) => id == user_id,
            UserChange::Unknown => true,
        }
    }
}

/// The ids this instance has delivered lately, the highest of them, and the
/// newest id when it started listening (a catch-up never goes below it: what
/// was committed before is not this instance's to deliver).
#[derive(Default)]
struct Delivered {
    recent: BTreeSet<i64>,
    highest: i64,
    floor: i64,
}

impl Delivered {
    fn remember(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.recent.insert(id);
            self.highest = self.highest.max(id);
        }
        while self.recent.len() > REMEMBERED {
            self.recent.pop_first();
        }
    }
}

/// One change of a ticket: the history entry, the ticket as it is now, and who
/// owns its customer (to check visibility per event without a query).
#[derive(Debug)]
pub struct TicketChange {
    pub event: ticket_event::Model,
    pub ticket: ticket::Model,
    pub owner_id: i64,
    pub owner_team_id: Option<i64>,
}

/// A task given to its owner, with who owns its customer (to check
/// visibility per event without a query).
#[derive(Debug)]
pub struct TaskAssigned {
    pub task: task::Model,
    pub customer_owner_id: i64,
    pub owner_team_id: Option<i64>,
}

/// What the task feed carries.
#[derive(Debug, Clone)]
pub enum TaskFeed {
    Assigned(Arc<TaskAssigned>),
    /// The listener was away: tasks given meanwhile may be missing.
    Missed,
}

#[derive(Clone)]
pub struct Feed {
    sender: broadcast::Sender<Arc<TicketChange>>,
    tasks: broadcast::Sender<TaskFeed>,
    users: broadcast::Sender<UserChange>,
    db: DatabaseConnection,
    delivered: Arc<Mutex<Delivered>>,
    /// The NOTIFY channel on PostgreSQL; `None` on SQLite.
    channel: Option<String>,
}

impl Feed {
    pub fn new(db: DatabaseConnection, channel: &str) -> Self {
        let (sender, _) = broadcast::channel(FEED_CAPACITY);
        let (users, _) = broadcast::channel(1024);
        let (tasks, _) = broadcast::channel(FEED_CAPACITY);
        let channel = crate::db::Dialect::of(&db).postgres().then(|| channel.to_owned());
        Self { sender, tasks, users, db, channel, delivered: Arc::default() }
    }

    /// Tasks given to someone from now on.
    pub fn tasks(&self) -> broadcast::Receiver<TaskFeed> {
        self.tasks.subscribe()
    }

    /// Announces tasks just given to their owners (created for them, or
    /// reassigned to them) to every instance. Failures are logged: the tasks
    /// themselves are already durable.
    pub async fn tasks_assigned(&self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        let Some(channel) = &self.channel else {
            if let Err(err) = self.deliver_tasks(ids).await {
                tracing::error!(error = %err, "loading assigned tasks failed");
            }
            return;
        };
        for chunk in ids.chunks(TASK_IDS_PER_NOTIFY) {
            let payload = format!("{TASK_PREFIX}{}", chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(" "));
            let stmt = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [channel.clone().into(), payload.into()],
            );
            if let Err(err) = self.db.execute_raw(stmt).await {
                tracing::error!(error = %err, "announcing assigned tasks failed");
            }
        }
    }

    /// Loads the tasks and broadcasts them to this instance's subscribers.
    async fn deliver_tasks(&self, ids: &[i64]) -> Result<(), DbErr> {
        if self.tasks.receiver_count() == 0 {
            return Ok(());
        }
        let tasks = task::Entity::find()
            .filter(task::Column::Id.is_in(ids.iter().copied()))
            .order_by_asc(task::Column::Id)
            .all(&self.db)
            .await?;
        let (owners, teams) = self.owners_and_teams(tasks.iter().map(|t| t.customer_id)).await?;
        for task in tasks {
            let Some(&customer_owner_id) = owners.get(&task.customer_id) else { continue };
            let owner_team_id = teams.get(&customer_owner_id).copied().flatten();
            let _ =
                self.tasks.send(TaskFeed::Assigned(Arc::new(TaskAssigned { task, customer_owner_id, owner_team_id })));
        }
        Ok(())
    }

    /// Each customer's owner, and each owner's team.
    async fn owners_and_teams(
        &self,
        customers: impl Iterator<Item = i64>,
    ) -> Result<(HashMap<i64, i64>, HashMap<i64, Option<i64>>), DbErr> {
        let owners: HashMap<i64, i64> = customer::Entity::find()
            .filter(customer::Column::Id.is_in(customers))
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
        Ok((owners, teams))
    }

    /// Ticket changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TicketChange>> {
        self.sender.subscribe()
    }

    /// Ids of users changed from now on (deactivated, or their role, team or scopes).
    pub fn user_changes(&self) -> broadcast::Receiver<UserChange> {
        self.users.subscribe()
    }

    /// Announces a committed change of a user to every instance.
    pub async fn user_changed(&self, user_id: i64) {
        let _ = self.users.send(UserChange::One(user_id));
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

    /// Announces a change that concerns every user (the field policy): every
    /// instance forgets its users and every session re-reads its own.
    pub async fn everyone_changed(&self) {
        let _ = self.users.send(UserChange::Unknown);
        if let Some(channel) = &self.channel {
            let stmt = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [channel.clone().into(), format!("{USER_PREFIX}{EVERYONE}").into()],
            );
            if let Err(err) = self.db.execute_raw(stmt).await {
                tracing::error!(error = %err, "announcing a change for every user failed");
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

    /// Loads the changes not delivered yet and broadcasts them to this
    /// instance's subscribers, in id order.
    async fn deliver(&self, event_ids: &[i64]) -> Result<(), DbErr> {
        let fresh: Vec<i64> = {
            let delivered = self.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            event_ids.iter().copied().filter(|id| !delivered.recent.contains(id)).collect()
        };
        if fresh.is_empty() {
            return Ok(());
        }
        if self.sender.receiver_count() == 0 {
            self.remember(&fresh);
            return Ok(());
        }
        let events = ticket_event::Entity::find()
            .filter(ticket_event::Column::Id.is_in(fresh.iter().copied()))
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
        let (owners, teams) = self.owners_and_teams(tickets.values().map(|t| t.customer_id)).await?;
        for event in events {
            let Some(ticket) = tickets.get(&event.ticket_id).cloned() else { continue };
            let Some(&owner_id) = owners.get(&ticket.customer_id) else { continue };
            let owner_team_id = teams.get(&owner_id).copied().flatten();
            // No receiver is not an error: nobody is listening right now.
            let _ = self.sender.send(Arc::new(TicketChange { event, ticket, owner_id, owner_team_id }));
        }
        self.remember(&fresh);
        Ok(())
    }

    fn remember(&self, ids: &[i64]) {
        self.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remember(ids.iter().copied());
    }

    /// Delivers the history rows this instance may have missed while its
    /// listener was away. Retries until the database answers.
    async fn catch_up(&self) {
        let _ = self.users.send(UserChange::Unknown);
        let _ = self.tasks.send(TaskFeed::Missed);
        loop {
            match self.catch_up_once().await {
                Ok(count) => {
                    tracing::info!(events = count, "ticket feed caught up after reconnecting");
                    return;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "ticket feed catch-up failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn catch_up_once(&self) -> Result<usize, DbErr> {
        let mut after = {
            let delivered = self.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (delivered.highest - CATCH_UP_OVERLAP).max(delivered.floor)
        };
        let mut count = 0;
        loop {
            let ids: Vec<i64> = ticket_event::Entity::find()
                .select_only()
                .column(ticket_event::Column::Id)
                .filter(ticket_event::Column::Id.gt(after))
                .order_by_asc(ticket_event::Column::Id)
                .limit(CATCH_UP_PAGE)
                .into_tuple()
                .all(&self.db)
                .await?;
            let Some(&last) = ids.last() else { return Ok(count) };
            count += ids.len();
            self.deliver(&ids).await?;
            after = last;
        }
    }

    /// Starts the catch-up window at the newest history row, so a listener
    /// that reconnects never replays what happened before it started.
    async fn start_from_newest(&self) -> Result<(), DbErr> {
        let newest: Option<i64> = ticket_event::Entity::find()
            .select_only()
            .column_as(ticket_event::Column::Id.max(), "newest")
            .into_tuple::<Option<i64>>()
            .one(&self.db)
            .await?
            .flatten();
        let mut delivered = self.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        delivered.highest = newest.unwrap_or(0);
        delivered.floor = delivered.highest;
        Ok(())
    }

    /// On PostgreSQL, listens for other instances' (and this one's)
    /// announcements; resolves once the `LISTEN` is in place. The listener
    /// reconnects on its own and catches up on what it missed.
    pub async fn start_listening(&self, url: &str) -> anyhow::Result<()> {
        let Some(channel) = self.channel.clone() else { return Ok(()) };
        self.start_from_newest().await?;
        let mut listener = listen(url, &channel).await?;
        let (feed, url) = (self.clone(), url.to_owned());
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => feed.on_notification(notification.payload()).await,
                    // The connection dropped and the listener has reconnected.
                    Ok(None) => {
                        tracing::warn!("ticket feed listener reconnected");
                        feed.catch_up().await;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "ticket feed listener lost its connection; reconnecting");
                        listener = loop {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            match listen(&url, &channel).await {
                                Ok(listener) => break listener,
                                Err(err) => tracing::debug!(error = %err, "ticket feed listener still away"),
                            }
                        };
                        tracing::info!("ticket feed listener reconnected");
                        feed.catch_up().await;
                    }
                }
            }
        });
        Ok(())
    }

    async fn on_notification(&self, payload: &str) {
        if let Some(user) = payload.strip_prefix(USER_PREFIX) {
            if user.trim() == EVERYONE {
                let _ = self.users.send(UserChange::Unknown);
            } else if let Ok(user_id) = user.trim().parse() {
                let _ = self.users.send(UserChange::One(user_id));
            }
            return;
        }
        if let Some(tasks) = payload.strip_prefix(TASK_PREFIX) {
            let ids: Vec<i64> = tasks.split_whitespace().filter_map(|id| id.parse().ok()).collect();
            if let Err(err) = self.deliver_tasks(&ids).await {
                tracing::error!(error = %err, "loading assigned tasks failed");
            }
            return;
        }
        let ids: Vec<i64> = payload.split(',').filter_map(|id| id.trim().parse().ok()).collect();
        if let Err(err) = self.deliver(&ids).await {
            tracing::error!(error = %err, "loading announced ticket events failed");
        }
    }
}

async fn listen(url: &str, channel: &str) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
