//! Bulk-read detection: a user who reads more than a threshold of customers
//! and contacts within a window, by whatever path (the lists, by id, `node`
//! and `nodes`, nested under other rows, the change feed, the relationship
//! graph: every read in `crate::service::{customers, contacts, relations,
//! nodes}` records its rows here), is recorded in the audit trail as an
//! export, once per window, so a departing rep walking off with the account
//! book and its people leaves a trace. The audit entry's `customersRead`
//! counts both.
//!
//! The count is kept in the database (`export_window`, one row per user), so
//! reads spread over several instances add up to one count. Each instance
//! adds its reads there in batches: at once when a user's pending reads reach
//! a quarter of the threshold, and every second otherwise (`RAPPORT_EXPORT_FLUSH_MS`)
//! (`crate::jobs::exports`), so a request pays for a write only now and then.
//! Once a user's window is audited, nothing is left to decide in it: their
//! reads wait for the next flush however many they are, so a heavy reader
//! does not write the same row on every request.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::{error::AppResult, policy::Viewer, service::audit};

/// Reads not yet added to the database, per user.
#[derive(Default)]
struct Pending {
    rows: u64,
    /// The client of the latest read, for the audit entry.
    client: Option<String>,
}

pub struct ExportWatch {
    pending: Mutex<HashMap<i64, Pending>>,
    /// Per user, the end (Unix seconds) of a window already audited.
    audited_until: Mutex<HashMap<i64, i64>>,
    threshold: u64,
    window: Duration,
    flush_every: Duration,
}

impl ExportWatch {
    pub fn new(threshold: u64, window: Duration, flush_every: Duration) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            audited_until: Mutex::new(HashMap::new()),
            threshold,
            window,
            flush_every,
        }
    }

    /// Pending reads that are added to the database at once.
    fn batch(&self) -> u64 {
        (self.threshold / 4).max(1)
    }

    /// Counts `rows` rows of customer data read by the viewer; adds the user's
    /// pending reads to the database at once when they reach a batch.
    #[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
    pub async fn record(&self, db: &impl ConnectionTrait, viewer: &Viewer, rows: usize) -> AppResult<()> {
        if rows == 0 {
            return Ok(());
        }
        let audited = self.audited(viewer.user_id);
        let due = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let entry = pending.entry(viewer.user_id).or_default();
            entry.rows += rows as u64;
            entry.client.clone_from(&viewer.client);
            (!audited && entry.rows >= self.batch()).then(|| pending.remove(&viewer.user_id)).flatten()
        };
        match due {
            Some(batch) => self.add(db, viewer.user_id, batch).await,
            None => Ok(()),
        }
    }

    /// Whether the user's current window is already audited (as this instance last saw it).
    fn audited(&self, user_id: i64) -> bool {
        let until = self.audited_until.lock().unwrap_or_else(|p| p.into_inner()).get(&user_id).copied();
        until.is_some_and(|until| chrono::Utc::now().timestamp() < until)
    }

    fn remember(&self, user_id: i64, audited_until: Option<i64>) {
        let mut known = self.audited_until.lock().unwrap_or_else(|p| p.into_inner());
        match audited_until {
            Some(until) => known.insert(user_id, until),
            None => known.remove(&user_id),
        };
    }

    /// Adds every user's pending reads to the database.
    pub async fn flush(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for (user_id, batch) in pending {
            self.add(db, user_id, batch).await?;
        }
        Ok(())
    }

    /// How often counts are flushed (`RAPPORT_EXPORT_FLUSH_MS`, at least 10 ms).
    pub fn flush_every(&self) -> Duration {
        self.flush_every.max(Duration::from_millis(10))
    }

    /// Adds one user's reads to their window in the database (a new window
    /// when the last one is over), and audits the export when this crossed
    /// the threshold for the first time in the window. One statement, plus
    /// two when it audits; the claim on `audited` makes one instance write it.
    async fn add(&self, db: &impl ConnectionTrait, user_id: i64, batch: Pending) -> AppResult<()> {
        let backend = db.get_database_backend();
        let now = chrono::Utc::now().timestamp();
        let expired = now - i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX / 2);
        let rows = i64::try_from(batch.rows).unwrap_or(i64::MAX);
        let sql = crate::db::Dialect(backend).numbered(
            "INSERT INTO export_window (user_id, window_start, rows_read, audited) VALUES ($1, $2, $3, FALSE) \
             ON CONFLICT (user_id) DO UPDATE SET \
               rows_read = CASE WHEN export_window.window_start <= $4 THEN excluded.rows_read \
                           ELSE export_window.rows_read + excluded.rows_read END, \
               audited = CASE WHEN export_window.window_start <= $4 THEN FALSE ELSE export_window.audited END, \
               window_start = CASE WHEN export_window.window_start <= $4 THEN excluded.window_start \
                              ELSE export_window.window_start END \
             RETURNING rows_read, audited, window_start",
        );
        let statement =
            Statement::from_sql_and_values(backend, sql, [user_id.into(), now.into(), rows.into(), expired.into()]);
        let Some(row) = db.query_one_raw(statement).await? else { return Ok(()) };
        let total: i64 = row.try_get("", "rows_read")?;
        let audited = crate::db::rows::flag(&row, "audited")?.unwrap_or(false);
        let window_end = crate::db::rows::int(&row, "window_start")?
            .saturating_add(i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX / 2));
        self.remember(user_id, audited.then_some(window_end));
        if audited || u64::try_from(total).unwrap_or(0) <= self.threshold {
            return Ok(());
        }
        let claim = Statement::from_sql_and_values(
            backend,
            crate::db::Dialect(backend)
                .numbered("UPDATE export_window SET audited = TRUE WHERE user_id = $1 AND audited = FALSE"),
            [user_id.into()],
        );
        // Claimed here or by another instance: audited either way.
        self.remember(user_id, Some(window_end));
        if db.execute_raw(claim).await?.rows_affected() == 1 {
            let changes =
                json!({"customersRead": total, "windowSeconds": self.window.as_secs(), "threshold": self.threshold});
            audit::record_as(db, Some(user_id), batch.client, "export", "customer", 0, changes).await?;
        }
        Ok(())
    }
}
