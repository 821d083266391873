//! The audit trail in the API.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::audit_log;

use crate::{
    graphql::loaders::page_cost,
    graphql::{
        support::context::request,
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
    },
    service::audit::{self as service, AuditFilter},
};

/// One change recorded in the audit trail.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// Who made the change.
    pub actor_id: Option<ID>,
    /// What was done: create, update, archive, status_change, reassign, deactivate, ...
    pub action: String,
    /// The table changed (customer, contact, ticket, ...).
    pub entity: String,
    /// The row changed (0 for a bulk change).
    pub entity_id: i64,
    /// The changed fields, as recorded (old and new values where known); the values of sensitive fields you may
    /// not read are null.
    pub changes: Json<serde_json::Value>,
    /// The client that made it (`User-Agent`, and `X-Forwarded-For` behind a proxy).
    pub client: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(m: audit_log::Model) -> Self {
        Self {
            id: ids::encode("AuditEntry", m.id),
            actor_id: m.actor_id.map(|a| ids::encode("User", a)),
            action: m.action,
            entity: m.entity,
            entity_id: m.entity_id,
            changes: Json(serde_json::from_str(&m.changes).unwrap_or(serde_json::Value::Null)),
            client: m.client,
            created_at: m.created_at,
        }
    }
}

/// Filters of the audit trail.
#[derive(InputObject, Default)]
pub struct AuditFilterInput {
    /// Changes made by this user.
    pub actor_id: Option<ID>,
    /// Changes of this table.
    pub entity: Option<String>,
    /// Changes of this row (with `entity`).
    pub entity_id: Option<i64>,
    /// Any of these actions.
    pub actions: Option<Vec<String>>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

order_by!(
    /// Sort order of the list.
    AuditOrder, AuditOrderField, audit_log::Column,
    default(CreatedAt, Desc),
    {
        /// By when it was recorded.
        CreatedAt => audit_log::Column::Id;
    }
);

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Who changed what and when, newest first (ADMIN and LEADER only).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<AuditFilterInput>,
        #[graphql(desc = "Sort order (default: newest first).")] order_by: Option<AuditOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<AuditEntry>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = AuditFilter {
            actor_id: ids::decode_opt("User", "actorId", f.actor_id.as_ref())?,
            entity: f.entity,
            entity_id: f.entity_id,
            actions: f.actions.unwrap_or_default(),
            from: f.from,
            to: f.to,
        };
        let viewer = rc.viewer();
        let select = service::select(&viewer, &filter)?;
        let sort = order_by.unwrap_or_default().sort(audit_log::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let custom = crate::policy::fields::hidden_custom_keys(&rc.db, &viewer).await?;
        let wrap = |rows: Vec<audit_log::Model>| {
            rows.into_iter()
                .map(|row| {
                    let mut entry = AuditEntry::from(row);
                    if service::withhold(&viewer, &entry.entity, &mut entry.changes.0, &custom) {
                        rc.hidden_log().note("AuditEntry.changes");
                    }
                    entry
                })
                .collect()
        };
        Ok(connection(ctx, &rc.db, select, sort, args, |a| a.id, wrap).await?)
    }
}
