//! Colleagues' user records, kept in memory. Nearly every read names users
//! (a customer's owner, a ticket's assignee, a communication's author) and
//! users change rarely, so a page of customers costs no user lookup once the
//! directory is warm.
//!
//! An entry is dropped at once when the user changes (the same signal that
//! drops the viewer cache: `Services::user_changed` here, the feed from other
//! instances), and is reloaded after [`DIRECTORY_TTL`] at the latest, should a
//! signal be lost. Password hashes are never kept.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

/// The longest an entry is reused without a change signal.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(60);
/// Entries kept at most; beyond it the directory starts over.
const DIRECTORY_SIZE: usize = 50_000;

#[derive(Default)]
pub struct UserDirectory {
    entries: RwLock<HashMap<i64, (Arc<user::Model>, Instant)>>,
}

impl UserDirectory {
    /// The users with these ids that exist, from memory when fresh and from
    /// one statement for the rest.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_many(
        &self,
        db: &DatabaseConnection,
        ids: &[i64],
    ) -> Result<HashMap<i64, Arc<user::Model>>, DbErr> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                match entries.get(id) {
                    Some((user, at)) if at.elapsed() < DIRECTORY_TTL => {
                        found.insert(*id, user.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let rows = user::Entity::find().filter(user::Column::Id.is_in(missing)).all(db).await?;
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() + rows.len() > DIRECTORY_SIZE {
            entries.clear();
        }
        let now = Instant::now();
        for mut row in rows {
            row.password_hash = None;
            let row = Arc::new(row);
            entries.insert(row.id, (row.clone(), now));
            found.insert(row.id, row);
        }
        Ok(found)
    }

    /// Forgets a user after a change.
    pub fn invalidate(&self, user_id: i64) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(&user_id);
    }

    /// Forgets everyone (when change signals may have been missed).
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
