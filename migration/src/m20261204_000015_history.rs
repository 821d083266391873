//! What was true of a customer and a user at any past moment, for reports
//! that group by what was true at the start of their window:
//!
//! - `customer_history`: a customer's owner and partnership tier, one row
//!   from each change on (`valid_from`);
//! - `user_team_history`: a user's team, one row from each change on.
//!
//! Database triggers write the rows on every insert and on every change of
//! those columns, so the history is complete whatever wrote the change: a
//! mutation, an import, or SQL. This migration first rebuilds the past from
//! what the audit trail and the tier history already hold (reassignments,
//! owner and team changes made through the API, tier changes); changes made
//! outside the API before it are unknown, and the values of the earliest
//! known row stand for the time before it.

use std::collections::HashMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, string_len_null, timestamp_with_time_zone,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, prelude::ChronoDateTimeUtc};

use crate::builders::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000015_history"
    }
}

type At = ChronoDateTimeUtc;

/// A change of a customer at an instant: its new owner, its new tier (or neither).
type CustomerChange = (At, Option<Option<i64>>, Option<Option<String>>);

/// One change read from the past: when, and the value before and after.
struct Step<T> {
    at: At,
    from: T,
    to: T,
}

fn pair_i64(value: &serde_json::Value) -> Option<(Option<i64>, Option<i64>)> {
    let pair = value.as_array()?;
    Some((pair.first()?.as_i64(), pair.get(1)?.as_i64()))
}

async fn rows(db: &impl ConnectionTrait, sql: &str) -> Result<Vec<sea_orm_migration::sea_orm::QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await
}

/// Audit entries of `entity` with `action`, parsed: (row id, changes, when).
async fn audited(
    db: &impl ConnectionTrait,
    entity: &str,
    actions: &[&str],
) -> Result<Vec<(i64, String, serde_json::Value, At)>, DbErr> {
    let list = actions.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT entity_id, action, changes, created_at FROM audit_log \
         WHERE entity = '{entity}' AND action IN ({list}) ORDER BY created_at, id"
    );
    let mut out = Vec::new();
    for row in rows(db, &sql).await? {
        let changes: String = row.try_get("", "changes")?;
        let parsed = serde_json::from_str(&changes).unwrap_or(serde_json::Value::Null);
        out.push((row.try_get("", "entity_id")?, row.try_get("", "action")?, parsed, row.try_get("", "created_at")?));
    }
    Ok(out)
}

async fn insert(
    db: &impl ConnectionTrait,
    table: &'static str,
    columns: [&'static str; 3],
    values: Vec<[SimpleExpr; 3]>,
) -> Result<(), DbErr> {
    for chunk in values.chunks(300) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new(table)).columns(columns.map(Alias::new));
        for row in chunk {
            insert.values_panic(row.clone());
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Rebuilds each customer's owner and tier over time from the audit trail
/// and the tier history.
async fn backfill_customers(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let mut owners: HashMap<i64, Vec<Step<Option<i64>>>> = HashMap::new();
    for (id, action, changes, at) in audited(db, "customer", &["reassign", "update"]).await? {
        let key = if action == "reassign" { "ownerId" } else { "owner_id" };
        if let Some((from, to)) = changes.get(key).and_then(pair_i64) {
            owners.entry(id).or_default().push(Step { at, from, to });
        }
    }
    let mut tiers: HashMap<i64, Vec<Step<Option<String>>>> = HashMap::new();
    for row in
        rows(db, "SELECT customer_id, from_tier, to_tier, created_at FROM partnership_change ORDER BY created_at, id")
            .await?
    {
        tiers.entry(row.try_get("", "customer_id")?).or_default().push(Step {
            at: row.try_get("", "created_at")?,
            from: row.try_get("", "from_tier")?,
            to: Some(row.try_get("", "to_tier")?),
        });
    }
    let mut values = Vec::new();
    for row in rows(db, "SELECT id, owner_id, tier, created_at FROM customer").await? {
        let id: i64 = row.try_get("", "id")?;
        let created: At = row.try_get("", "created_at")?;
        let owner_steps = owners.remove(&id).unwrap_or_default();
        let tier_steps = tiers.remove(&id).unwrap_or_default();
        let mut owner: Option<i64> = owner_steps.first().map_or(Some(row.try_get("", "owner_id")?), |s| s.from);
        let mut tier: Option<String> = match tier_steps.first() {
            Some(step) => step.from.clone(),
            None => row.try_get("", "tier")?,
        };
        let first_change = owner_steps.iter().map(|s| s.at).chain(tier_steps.iter().map(|s| s.at)).min();
        let start = first_change.map_or(created, |at| Ord::min(at, created));
        let mut changes: Vec<CustomerChange> = owner_steps
            .into_iter()
            .map(|s| (s.at, Some(s.to), None))
            .chain(tier_steps.into_iter().map(|s| (s.at, None, Some(s.to))))
            .collect();
        changes.sort_by_key(|c| c.0);
        let mut push = |at: At, owner: Option<i64>, tier: Option<String>| {
            if let Some(owner) = owner {
                values.push([id.into(), owner.into(), tier.into(), at.into()]);
            }
        };
        push(start, owner, tier.clone());
        for (at, new_owner, new_tier) in changes {
            if let Some(o) = new_owner {
                owner = o;
            }
            if let Some(t) = new_tier {
                tier = t;
            }
            push(at, owner, tier.clone());
        }
    }
    for chunk in values.chunks(200) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("customer_history"))
            .columns(["customer_id", "owner_id", "tier", "valid_from"].map(Alias::new));
        for row in chunk {
            insert.values_panic(row.clone().map(|v: sea_orm_migration::sea_orm::Value| SimpleExpr::Value(v)));
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Rebuilds each user's team over time from the audit trail.
async fn backfill_users(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let mut teams: HashMap<i64, Vec<Step<Option<i64>>>> = HashMap::new();
    for (id, _, changes, at) in audited(db, "user", &["update"]).await? {
        if let Some((from, to)) = changes.get("team_id").and_then(pair_i64) {
            teams.entry(id).or_default().push(Step { at, from, to });
        }
    }
    let mut values = Vec::new();
    for row in rows(db, "SELECT id, team_id, created_at FROM app_user").await? {
        let id: i64 = row.try_get("", "id")?;
        let created: At = row.try_get("", "created_at")?;
        let steps = teams.remove(&id).unwrap_or_default();
        let mut team = steps.first().map_or(row.try_get::<Option<i64>>("", "team_id")?, |s| s.from);
        let start = steps.first().map_or(created, |s| Ord::min(s.at, created));
        values.push([id.into(), team.into(), start.into()]);
        for step in steps {
            team = step.to;
            values.push([id.into(), team.into(), step.at.into()]);
        }
    }
    insert(db, "user_team_history", ["user_id", "team_id", "valid_from"], values).await
}

/// The triggers that keep both histories from now on.
fn triggers(backend: DatabaseBackend) -> Vec<&'static str> {
    if backend == DatabaseBackend::Postgres {
        vec![
            "CREATE OR REPLACE FUNCTION rapport_customer_history() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN INSERT INTO customer_history (customer_id, owner_id, tier, valid_from) \
               VALUES (NEW.id, NEW.owner_id, NEW.tier, now()); RETURN NULL; END $$",
            "CREATE TRIGGER customer_history_insert AFTER INSERT ON customer \
             FOR EACH ROW EXECUTE FUNCTION rapport_customer_history()",
            "CREATE TRIGGER customer_history_update AFTER UPDATE OF owner_id, tier ON customer FOR EACH ROW \
             WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.tier IS DISTINCT FROM NEW.tier) \
             EXECUTE FUNCTION rapport_customer_history()",
            "CREATE OR REPLACE FUNCTION rapport_user_team_history() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN INSERT INTO user_team_history (user_id, team_id, valid_from) VALUES (NEW.id, NEW.team_id, now()); \
             RETURN NULL; END $$",
            "CREATE TRIGGER user_team_history_insert AFTER INSERT ON app_user \
             FOR EACH ROW EXECUTE FUNCTION rapport_user_team_history()",
            "CREATE TRIGGER user_team_history_update AFTER UPDATE OF team_id ON app_user FOR EACH ROW \
             WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id) EXECUTE FUNCTION rapport_user_team_history()",
        ]
    } else {
        // The same instant format the application writes, to the millisecond.
        vec![
            "CREATE TRIGGER customer_history_insert AFTER INSERT ON customer BEGIN \
             INSERT INTO customer_history (customer_id, owner_id, tier, valid_from) \
             VALUES (NEW.id, NEW.owner_id, NEW.tier, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')); END",
            "CREATE TRIGGER customer_history_update AFTER UPDATE OF owner_id, tier ON customer \
             WHEN OLD.owner_id IS NOT NEW.owner_id OR OLD.tier IS NOT NEW.tier BEGIN \
             INSERT INTO customer_history (customer_id, owner_id, tier, valid_from) \
             VALUES (NEW.id, NEW.owner_id, NEW.tier, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')); END",
            "CREATE TRIGGER user_team_history_insert AFTER INSERT ON app_user BEGIN \
             INSERT INTO user_team_history (user_id, team_id, valid_from) \
             VALUES (NEW.id, NEW.team_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')); END",
            "CREATE TRIGGER user_team_history_update AFTER UPDATE OF team_id ON app_user \
             WHEN OLD.team_id IS NOT NEW.team_id BEGIN \
             INSERT INTO user_team_history (user_id, team_id, valid_from) \
             VALUES (NEW.id, NEW.team_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')); END",
        ]
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customer_history")
                    .col(big_pk_auto("id"))
                    .col(big_integer("customer_id"))
                    .col(big_integer("owner_id"))
                    .col(string_len_null("tier", 16))
                    .col(timestamp_with_time_zone("valid_from"))
                    .take(),
            )
            .await?;
        manager.create_index(index("customer_history", &["customer_id", "valid_from"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("user_team_history")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(big_integer_null("team_id"))
                    .col(timestamp_with_time_zone("valid_from"))
                    .take(),
            )
            .await?;
        manager.create_index(index("user_team_history", &["user_id", "valid_from"])).await?;
        let db = manager.get_connection();
        backfill_customers(db).await?;
        backfill_users(db).await?;
        for statement in triggers(db.get_database_backend()) {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for trigger in ["customer_history_insert", "customer_history_update"] {
            let on = if db.get_database_backend() == DatabaseBackend::Postgres { " ON customer" } else { "" };
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}{on}")).await?;
        }
        for trigger in ["user_team_history_insert", "user_team_history_update"] {
            let on = if db.get_database_backend() == DatabaseBackend::Postgres { " ON app_user" } else { "" };
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}{on}")).await?;
        }
        if db.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS rapport_customer_history()").await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS rapport_user_team_history()").await?;
        }
        manager.drop_table(Table::drop().table("user_team_history").take()).await?;
        manager.drop_table(Table::drop().table("customer_history").take()).await
    }
}
