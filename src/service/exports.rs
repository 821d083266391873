//! Bulk-read detection: a user who reads more than a threshold of customers
//! within a window is recorded in the audit trail as an export, once per window,
//! so a departing rep walking off with the customer list leaves a trace.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{auth::Viewer, error::AppResult, service::audit};

pub struct ExportWatch {
    reads: Mutex<HashMap<i64, (u64, Instant, bool)>>,
    threshold: u64,
    window: Duration,
}

impl ExportWatch {
    pub fn new(threshold: u64, window: Duration) -> Self {
        Self { reads: Mutex::new(HashMap::new()), threshold, window }
    }

    /// Counts `rows` customers read by the viewer; returns the window's total when
    /// this read crossed the threshold.
    fn count(&self, user_id: i64, rows: u64) -> Option<u64> {
        let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        let entry = reads.entry(user_id).or_insert((0, Instant::now(), false));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now(), false);
        }
        entry.0 += rows;
        if entry.0 > self.threshold && !entry.2 {
            entry.2 = true;
            return Some(entry.0);
        }
        None
    }

    /// Records the read, writing an `export` audit entry when it crosses the threshold.
    #[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
    pub async fn record(&self, db: &impl ConnectionTrait, viewer: &Viewer, rows: usize) -> AppResult<()> {
        if let Some(total) = self.count(viewer.user_id, rows as u64) {
            let changes =
                json!({"customersRead": total, "windowSeconds": self.window.as_secs(), "threshold": self.threshold});
            audit::record(db, viewer, "export", "customer", 0, changes).await?;
        }
        Ok(())
    }
}
