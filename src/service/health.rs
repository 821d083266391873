//! The health snapshot: every customer's score, level and signals, stored in
//! `customer_health` so that the at-risk list can rank the whole book with an
//! index instead of scoring 100,000 customers per request.
//!
//! `customer.health` and `accountStatus` are computed per request and are
//! always current; the snapshot follows them closely:
//! - a customer's row is recomputed once any change to it is committed: the
//!   keeper reads the audit trail (every write records one row there, in its
//!   own transaction) for changes it has not seen, every 2 seconds and before
//!   each at-risk list, so a list reflects every change committed before it;
//! - the whole book is recomputed at start, every `RAPPORT_HEALTH_SWEEP_SECS`
//!   seconds (default 600) for what time alone changes (days since the last
//!   communication, deadlines passing), and on `refreshAccountHealth`;
//! - a row is only written when its figures changed, so `computedAt` is when
//!   its current figures were first computed.
//!
//! Every instance keeps the snapshot (it is in the database, shared); two
//! instances doing the same work twice is harmless.

use std::{
    collections::{BTreeSet, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use tokio::sync::Mutex;

use crate::db::Dialect;
use crate::db::rows::{int, text};
use crate::{
    analytics::{
        health::{AccountHealth, HealthRules, assess},
        health_facts::{self, Customers, Facts},
    },
    error::AppResult,
    service::outbox::{self, Event, EventType},
};
use serde_json::json;

/// Customers scored per statement by a sweep.
const SWEEP_CHUNK: i64 = 1000;
/// Rows per upsert statement (7 parameters each, under every backend's limit).
const WRITE_CHUNK: usize = 500;
/// How far back the audit trail is re-read: a write whose audit row was
/// stamped before this but committed after the last read is still seen.
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(15);

#[derive(Default)]
struct Progress {
    /// When the last whole-book sweep started; `None` before the first.
    swept: Option<Instant>,
    /// Audit rows read from (minus [`LOOKBACK`]) at the next catch-up.
    read_up_to: Option<DateTime<Utc>>,
    /// Audit rows already applied within the lookback window.
    applied: HashSet<i64>,
}

/// Keeps the snapshot; cheap to clone.
#[derive(Clone)]
pub struct HealthKeeper {
    rules: HealthRules,
    sweep_every: Duration,
    poll_every: Duration,
    progress: Arc<Mutex<Progress>>,
}

impl HealthKeeper {
    pub fn new(rules: HealthRules, sweep_every: Duration, poll_every: Duration) -> Self {
        Self { rules, sweep_every, poll_every, progress: Arc::default() }
    }

    pub fn rules(&self) -> &HealthRules {
        &self.rules
    }

    /// Brings the snapshot up to date with every committed change: recomputes
    /// the customers named by audit rows not applied yet. Catch-ups run one at
    /// a time; a sweep running beside them does not hold them up.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn catch_up(&self, db: &DatabaseConnection) -> AppResult<usize> {
        let mut progress = self.progress.lock().await;
        let now = crate::db::now();
        let since = progress.read_up_to.unwrap_or(now) - LOOKBACK;
        let (audit_ids, customers) = changed_since(db, since).await?;
        let fresh: BTreeSet<i64> = audit_ids
            .iter()
            .zip(&customers)
            .filter(|(id, _)| !progress.applied.contains(id))
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        let changed =
            if fresh.is_empty() { 0 } else { refresh(db, &self.rules, &fresh.into_iter().collect::<Vec<_>>()).await? };
        progress.applied = audit_ids.into_iter().collect();
        progress.read_up_to = Some(now);
        Ok(changed)
    }

    /// Recomputes the whole book now, a chunk of customers per statement;
    /// returns the rows that changed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sweep(&self, db: &DatabaseConnection) -> AppResult<usize> {
        let started = Instant::now();
        let read_from = crate::db::now();
        let dialect = Dialect::of(db);
        let last = dialect.rows(db, "SELECT MAX(id) AS n FROM customer".to_owned()).await?;
        let last = last.first().map(|r| int(r, "n")).transpose()?.unwrap_or(0);
        let mut changed = 0;
        let mut after = 0;
        while after < last {
            let up_to = after + SWEEP_CHUNK;
            let facts = health_facts::load(db, None, Customers::Range { after, up_to }, crate::db::now()).await?;
            changed += write(db, &scored(&facts, &self.rules)).await?;
            after = up_to;
        }
        // A chunk scored before a change and written after the change's
        // catch-up holds stale figures: the changes made since the sweep began
        // are applied again.
        let mut progress = self.progress.lock().await;
        progress.swept = Some(started);
        progress.read_up_to = Some(read_from);
        progress.applied.clear();
        tracing::info!(changed, elapsed_ms = started.elapsed().as_millis() as u64, "account health swept");
        Ok(changed)
    }

    /// Whether the whole book is due for a sweep (`RAPPORT_HEALTH_SWEEP_SECS`).
    pub async fn sweep_due(&self) -> bool {
        self.progress.lock().await.swept.is_none_or(|at| at.elapsed() >= self.sweep_every)
    }

    /// How often the audit trail is read for changes (`RAPPORT_HEALTH_POLL_SECS`).
    pub fn poll_every(&self) -> Duration {
        self.poll_every
    }
}

/// Recomputes the whole book's snapshot now (ADMIN), for data loaded outside
/// the API; audited. Returns how many customers' figures changed.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn refresh_all(svc: &crate::service::Services, viewer: &crate::policy::Viewer) -> AppResult<usize> {
    crate::policy::ensure_admin(viewer)?;
    let changed = svc.health.sweep(&svc.db).await?;
    let mut w = crate::service::write::Write::begin(svc, viewer).await?;
    w.audit("refresh", "account_health", 0, serde_json::json!({"changed": changed}));
    w.commit(svc).await?;
    Ok(changed)
}

/// Recomputes these customers' rows; returns the rows that changed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn refresh(db: &DatabaseConnection, rules: &HealthRules, ids: &[i64]) -> AppResult<usize> {
    let mut changed = 0;
    for chunk in ids.chunks(SWEEP_CHUNK as usize) {
        let facts = health_facts::load(db, None, Customers::Ids(chunk), crate::db::now()).await?;
        changed += write(db, &scored(&facts, rules)).await?;
    }
    Ok(changed)
}

/// Audit rows stamped at or after `since`, each with the customers it touched.
async fn changed_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> AppResult<(Vec<i64>, Vec<Vec<i64>>)> {
    let dialect = Dialect::of(db);
    let owned = |table: &str| format!("(SELECT x.customer_id FROM {table} x WHERE x.id = a.entity_id)");
    let sql = format!(
        "SELECT a.id, a.entity, a.entity_id, a.changes, CASE a.entity \
           WHEN 'customer' THEN a.entity_id \
           WHEN 'contact' THEN {contact} WHEN 'communication' THEN {communication} \
           WHEN 'ticket' THEN {ticket} WHEN 'commitment' THEN {commitment} \
           WHEN 'survey_response' THEN {survey} WHEN 'partnership' THEN {partnership} \
           WHEN 'task' THEN {task} END AS customer_id \
         FROM audit_log a WHERE a.created_at >= {since} ORDER BY a.id",
        contact = owned("contact"),
        communication = owned("communication"),
        ticket = owned("ticket"),
        commitment = owned("commitment"),
        survey = owned("survey_response"),
        partnership = owned("partnership"),
        task = owned("task"),
        since = dialect.instant(since),
    );
    let rows = dialect.rows(db, sql).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut customers = Vec::with_capacity(rows.len());
    let mut owners = Vec::new();
    for row in &rows {
        ids.push(int(row, "id")?);
        let entity = text(row, "entity")?.unwrap_or_default();
        let touched = match entity.as_str() {
            // A user's change (deactivation) shows on the customers they own.
            "user" => {
                owners.push((customers.len(), int(row, "entity_id")?));
                Vec::new()
            }
            // A revenue push names the customers whose figures changed.
            "revenue_entry" => {
                let changes: serde_json::Value =
                    serde_json::from_str(&text(row, "changes")?.unwrap_or_default()).unwrap_or_default();
                changes["changed"]
                    .as_array()
                    .map(|rows| rows.iter().filter_map(|r| r["customerId"].as_i64()).collect())
                    .unwrap_or_default()
            }
            _ => row.try_get::<Option<i64>>("", "customer_id").ok().flatten().into_iter().collect(),
        };
        customers.push(touched);
    }
    if !owners.is_empty() {
        let list = owners.iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>().join(", ");
        let owned = dialect.rows(db, format!("SELECT id, owner_id FROM customer WHERE owner_id IN ({list})")).await?;
        for row in &owned {
            let (id, owner) = (int(row, "id")?, int(row, "owner_id")?);
            for (at, _) in owners.iter().filter(|(_, o)| *o == owner) {
                customers[*at].push(id);
            }
        }
    }
    Ok((ids, customers))
}

/// Notes the day's score and level of customers whose score or level moved:
/// one row per customer and day (the day's last figures), so the history holds
/// a row only for the days something changed.
async fn record_history(txn: &impl ConnectionTrait, dialect: Dialect, rows: &[&Row]) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 4);
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let n = values.len();
        tuples.push(format!("({})", (1..=4).map(|i| dialect.param(n + i)).collect::<Vec<_>>().join(", ")));
        let h = &row.health;
        values.extend::<[Value; 4]>([
            h.customer_id.into(),
            h.computed_at.date_naive().into(),
            h.score.into(),
            h.level.as_str().into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO customer_health_history (customer_id, day, score, level) VALUES {} \
         ON CONFLICT (customer_id, day) DO UPDATE SET score = excluded.score, level = excluded.level",
        tuples.join(", ")
    );
    txn.execute_raw(Statement::from_sql_and_values(dialect.0, sql, values)).await?;
    Ok(())
}

/// A snapshot row: the health, and what the list filters and sorts on.
struct Row {
    health: AccountHealth,
    revenue_cents: i64,
    owner_id: i64,
    live: bool,
}

fn scored(facts: &[Facts], rules: &HealthRules) -> Vec<Row> {
    facts
        .iter()
        .map(|f| Row {
            health: assess(f, rules),
            revenue_cents: f.revenue_t12m_cents,
            owner_id: f.owner_id,
            live: f.live(),
        })
        .collect()
}

/// Columns of a snapshot row, in the order they are bound.
const COLUMNS: [&str; 8] =
    ["customer_id", "score", "level", "revenue_t12m_cents", "owner_id", "live", "signals", "computed_at"];

/// Upserts scored rows, writing only those whose figures changed, and
/// announces each level change (`health.level_changed`) in the same
/// transaction. On PostgreSQL the chunk's rows are locked first, so two
/// instances scoring the same change announce it once.
async fn write(db: &DatabaseConnection, rows: &[Row]) -> AppResult<usize> {
    let dialect = Dialect::of(db);
    let updates = COLUMNS[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
    let changed_when = ["score", "signals", "level", "revenue_t12m_cents", "owner_id", "live"]
        .iter()
        .map(|c| dialect.distinct(&format!("customer_health.{c}"), &format!("excluded.{c}")))
        .collect::<Vec<_>>()
        .join(" OR ");
    let mut changed = 0;
    for chunk in rows.chunks(WRITE_CHUNK) {
        let txn = crate::db::write(db).await?;
        let ids: Vec<String> = chunk.iter().map(|r| r.health.customer_id.to_string()).collect();
        let lock = dialect.for_update();
        let before = dialect
            .rows_with(
                &txn,
                format!(
                    "SELECT customer_id, score, level FROM customer_health WHERE {}{lock}",
                    dialect.in_id_list("customer_id", 1)
                ),
                vec![ids.join(",").into()],
            )
            .await?;
        let mut levels = std::collections::HashMap::new();
        let mut scores = std::collections::HashMap::new();
        for row in &before {
            levels.insert(int(row, "customer_id")?, text(row, "level")?.unwrap_or_default());
            scores.insert(int(row, "customer_id")?, int(row, "score")?);
        }
        let announced: Vec<Event> = chunk
            .iter()
            .filter_map(|row| {
                let health = &row.health;
                let from = levels.get(&health.customer_id).filter(|l| l.as_str() != health.level.as_str())?;
                let data = json!({
                    "customerId": crate::gid::encode("Customer", health.customer_id),
                    "from": from,
                    "to": health.level.as_str(),
                    "score": health.score,
                });
                Some(Event::new(EventType::HealthLevelChanged, health.customer_id, data))
            })
            .collect();
        let mut values = Vec::with_capacity(chunk.len() * COLUMNS.len());
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let n = values.len();
            let params: Vec<String> = (1..=COLUMNS.len()).map(|i| dialect.param(n + i)).collect();
            tuples.push(format!("({})", params.join(", ")));
            let health = &row.health;
            let signals = serde_json::to_string(&health.signals).unwrap_or_else(|_| "[]".to_owned());
            values.extend::<[Value; 8]>([
                health.customer_id.into(),
                health.score.into(),
                health.level.as_str().into(),
                row.revenue_cents.into(),
                row.owner_id.into(),
                row.live.into(),
                signals.into(),
                health.computed_at.into(),
            ]);
        }
        let sql = format!(
            "INSERT INTO customer_health ({}) VALUES {} ON CONFLICT (customer_id) DO UPDATE SET {updates} \
             WHERE {changed_when}",
            COLUMNS.join(", "),
            tuples.join(", ")
        );
        let result = txn.execute_raw(Statement::from_sql_and_values(dialect.0, sql, values)).await?;
        changed += result.rows_affected() as usize;
        let moved: Vec<&Row> = chunk
            .iter()
            .filter(|row| {
                let h = &row.health;
                scores.get(&h.customer_id) != Some(&i64::from(h.score))
                    || levels.get(&h.customer_id).map(String::as_str) != Some(h.level.as_str())
            })
            .collect();
        record_history(&txn, dialect, &moved).await?;
        outbox::emit(&txn, &announced).await?;
        txn.commit().await?;
    }
    Ok(changed)
}
