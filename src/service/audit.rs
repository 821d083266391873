//! The audit trail: every mutation records who changed what, in its own transaction.

use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::Value;

use crate::{
    error::AppResult,
    policy::{SensitiveField, Viewer},
    service::now,
};

/// Appends one audit row; call it inside the mutation's transaction.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn record(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    action: &str,
    entity: &str,
    entity_id: i64,
    changes: Value,
) -> AppResult<()> {
    record_as(db, Some(viewer.user_id), viewer.client.clone(), action, entity, entity_id, changes).await
}

/// Appends one audit row for an actor who may not be signed in (sign-ins).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_as(
    db: &impl ConnectionTrait,
    actor: Option<i64>,
    client: Option<String>,
    action: &str,
    entity: &str,
    entity_id: i64,
    changes: Value,
) -> AppResult<()> {
    let at = now();
    audit_log::ActiveModel {
        actor_id: Set(actor),
        action: Set(action.to_owned()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id),
        changes: Set(changes.to_string()),
        client: Set(client),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One entry to append with [`record_all`].
pub struct Entry {
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub changes: Value,
}

/// Appends entries of one actor, several per statement (a batch of a
/// thousand created rows writes two statements, not a thousand).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_all(
    db: &impl ConnectionTrait,
    actor: Option<i64>,
    client: Option<String>,
    entries: Vec<Entry>,
) -> AppResult<()> {
    let at = now();
    let rows: Vec<audit_log::ActiveModel> = entries
        .into_iter()
        .map(|e| audit_log::ActiveModel {
            actor_id: Set(actor),
            action: Set(e.action),
            entity: Set(e.entity),
            entity_id: Set(e.entity_id),
            changes: Set(e.changes.to_string()),
            client: Set(client.clone()),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        audit_log::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Appends one entry per row of `select` (`entity_id`, and `changes` as JSON
/// text): the audit of a set-based write, one statement however many rows.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_from(
    db: &impl ConnectionTrait,
    actor: Option<i64>,
    client: Option<String>,
    action: &str,
    entity: &str,
    select: &str,
) -> AppResult<()> {
    let dialect = crate::db::Dialect::of(db);
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        dialect.0,
        dialect.numbered(&format!(
            "INSERT INTO audit_log (actor_id, action, entity, entity_id, changes, client, created_at, updated_at) \
             SELECT $1, $2, $3, s.entity_id, s.changes, $4, $5, $5 FROM ({select}) s"
        )),
        [actor.into(), action.into(), entity.into(), client.into(), now().into()],
    ))
    .await?;
    Ok(())
}

/// Filters of the audit trail.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub actions: Vec<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// The audit trail, for leadership only.
pub fn select(viewer: &Viewer, filter: &AuditFilter) -> AppResult<sea_orm::Select<audit_log::Entity>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    crate::policy::ensure_leadership(viewer)?;
    let mut query = audit_log::Entity::find();
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_log::Column::ActorId.eq(actor));
    }
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::Column::Entity.eq(entity.as_str()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(audit_log::Column::EntityId.eq(id));
    }
    if !filter.actions.is_empty() {
        query = query.filter(audit_log::Column::Action.is_in(filter.actions.iter().map(String::as_str)));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::Column::CreatedAt.lt(to));
    }
    Ok(query)
}

/// The keys under which the audit entries of rows of `entity` record a
/// sensitive field's values: the row's columns, and the names pushes and
/// merges record them by (a customer's merge holds its revenue months). Custom
/// values sit under `customFields` whatever the entity.
fn keys_of(entity: &str, field: SensitiveField) -> &'static [&'static str] {
    match (entity, field) {
        ("customer", SensitiveField::Revenue) => &["revenue", "revenue_t12m_cents"],
        ("customer", SensitiveField::GrossProfit) => &["grossProfit", "gross_profit_t12m_cents", "segment"],
        ("revenue_entry", SensitiveField::Revenue) => &["revenueCents", "revenue_cents"],
        ("revenue_entry", SensitiveField::GrossProfit) => &["grossProfitCents", "gross_profit_cents"],
        ("partnership", SensitiveField::Discount) => &["discount_bps"],
        ("partnership", SensitiveField::CreditTerms) => &["credit_terms_days"],
        ("contact", SensitiveField::ContactEmail) => &["email"],
        ("contact", SensitiveField::ContactPhone) => &["phone"],
        ("contact", SensitiveField::ContactBirthday) => &["birthday"],
        _ => &[],
    }
}

/// Replaces with null, wherever they sit in an entry's `changes` of a row of
/// `entity`, the values of the sensitive fields the viewer may not read
/// (`custom` names the sensitive custom fields, from
/// `policy::fields::hidden_custom_keys`). Returns whether anything was withheld.
pub fn withhold(viewer: &Viewer, entity: &str, changes: &mut Value, custom: &[String]) -> bool {
    if viewer.hidden.is_empty() {
        return false;
    }
    let keys: Vec<&str> = viewer.hidden.iter().flat_map(|f| keys_of(entity, f).iter().copied()).collect();
    withhold_in(changes, &keys, custom)
}

fn withhold_in(value: &mut Value, keys: &[&str], custom: &[String]) -> bool {
    let mut withheld = false;
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                if keys.contains(&key.as_str()) && !inner.is_null() {
                    *inner = Value::Null;
                    withheld = true;
                } else if key == "customFields"
                    && let Value::Object(values) = inner
                {
                    for (field, held) in values.iter_mut() {
                        if custom.contains(field) && !held.is_null() {
                            *held = Value::Null;
                            withheld = true;
                        }
                    }
                } else {
                    withheld |= withhold_in(inner, keys, custom);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                withheld |= withhold_in(item, keys, custom);
            }
        }
        _ => {}
    }
    withheld
}

/// The fields that differ between two versions of a row, as
/// `{"field": [old, new]}`; bookkeeping columns are left out.
pub fn diff<M: sea_orm::ModelTrait>(old: &M, new: &M) -> Value {
    use sea_orm::{IdenStatic, Iterable, sea_query::value::sea_value_to_json_value};
    let mut changes = serde_json::Map::new();
    for column in <<M as sea_orm::ModelTrait>::Entity as sea_orm::EntityTrait>::Column::iter() {
        let name = column.as_str();
        if matches!(name, "updated_at" | "version" | "created_at") {
            continue;
        }
        let (before, after) = (old.get(column), new.get(column));
        if before != after {
            changes.insert(
                name.to_owned(),
                serde_json::json!([sea_value_to_json_value(&before), sea_value_to_json_value(&after)]),
            );
        }
    }
    Value::Object(changes)
}

/// Every field of a new row, as `{"field": [null, value]}`: a creation seen as
/// a change from nothing, so the trail reads the same way for both.
pub fn created<M: sea_orm::ModelTrait>(new: &M) -> Value {
    use sea_orm::{IdenStatic, Iterable, sea_query::value::sea_value_to_json_value};
    let mut changes = serde_json::Map::new();
    for column in <<M as sea_orm::ModelTrait>::Entity as sea_orm::EntityTrait>::Column::iter() {
        let name = column.as_str();
        if matches!(name, "updated_at" | "version" | "created_at" | "id") {
            continue;
        }
        changes.insert(name.to_owned(), serde_json::json!([Value::Null, sea_value_to_json_value(&new.get(column))]));
    }
    Value::Object(changes)
}
