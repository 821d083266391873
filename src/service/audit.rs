//! The audit trail: every mutation records who changed what, in its own transaction.

use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;

use crate::{auth::Viewer, error::AppResult, service::now};

/// Appends one audit row; call it inside the mutation's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    action: &str,
    entity: &str,
    entity_id: i64,
    changes: Value,
) -> AppResult<()> {
    let at = now();
    audit_log::ActiveModel {
        actor_id: Set(Some(viewer.user_id)),
        action: Set(action.to_owned()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id),
        changes: Set(changes.to_string()),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
