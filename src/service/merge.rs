//! Merging duplicates: one transaction moves everything the merged customers
//! (or contacts) hold onto the survivor, archives them with the row they were
//! merged into, and records it all (audit, change feed, webhook).
//!
//! Nothing is lost. A merged row stays, archived, readable by its id with
//! `mergedInto`; what it held that the survivor already had (a custom-field
//! value, a link the survivor has too) stays with it; its audit entry holds
//! what it was, and each revenue month that was added into the survivor's.
//! Its churn events stay with it: the survivor's status follows its own.
//! Its external ids stay too, as aliases: `crate::service::external::resolve`
//! follows `merged_into_id`, so the next push by one of them updates the
//! survivor. Merges are flattened (rows merged into a merged row move on to
//! the survivor), so one hop always reaches the live row. Partnership terms,
//! supply priorities and health history are the survivor's own and stay so.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{contact, customer};
use sea_orm::{ConnectionTrait, QueryResult, Set, Statement};
use serde_json::{Value, json};

use crate::{
    db::{Dialect, now},
    error::{AppError, AppResult},
    gid,
    policy::{self, CustomerScope, Resource, Viewer},
    service::{
        Services,
        changes::{Change, ChangeEntity, Operation},
        outbox::{Event, EventType},
        rollups::{self, RevenueDelta},
        update_versioned,
        write::{Effect, Write},
    },
};

/// Most rows one merge takes in.
pub const MAX_MERGED: usize = 20;

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

async fn rows(db: &impl ConnectionTrait, sql: String) -> AppResult<Vec<QueryResult>> {
    Dialect::of(db).rows(db, sql).await
}

/// Runs a statement in which `{at}` stands for the time of the merge, bound
/// (so timestamps are stored as every other write stores them).
async fn exec(db: &impl ConnectionTrait, sql: &str, at: DateTime<Utc>) -> AppResult<()> {
    let dialect = Dialect::of(db);
    let values: Vec<sea_orm::Value> = if sql.contains("{at}") { vec![at.into()] } else { Vec::new() };
    let sql = sql.replace("{at}", &dialect.param(1));
    db.execute_raw(Statement::from_sql_and_values(dialect.0, sql, values)).await?;
    Ok(())
}

async fn ids(db: &impl ConnectionTrait, sql: String) -> AppResult<Vec<i64>> {
    rows(db, sql).await?.iter().map(|r| Ok(r.try_get::<i64>("", "id")?)).collect()
}

/// The ids given, checked: at least one to merge, at most [`MAX_MERGED`],
/// none twice, not the survivor, and one expected version for each row
/// (the survivor's first).
fn check_ids(survivor: i64, merged: &[i64], versions: &[i32]) -> AppResult<()> {
    if merged.is_empty() || merged.len() > MAX_MERGED {
        return Err(AppError::bad_input("mergedIds", format!("merge 1 to {MAX_MERGED} rows at a time")));
    }
    let distinct: HashSet<i64> = merged.iter().copied().collect();
    if distinct.len() != merged.len() || distinct.contains(&survivor) {
        return Err(AppError::bad_input("mergedIds", "each row once, and not the survivor"));
    }
    if versions.len() != merged.len() + 1 {
        return Err(AppError::bad_input(
            "expectedVersions",
            "give the survivor's version, then each merged row's, in the order of mergedIds",
        ));
    }
    Ok(())
}

fn stale(what: &str) -> AppError {
    AppError::conflict(format!("{what} was changed by someone else; reload it and retry"))
}

/// Merges `merged` into `survivor` (customers). The viewer must be able to
/// write every one of them.
pub async fn merge_customers(
    svc: &Services,
    viewer: &Viewer,
    survivor_id: i64,
    merged_ids: &[i64],
    versions: &[i32],
) -> AppResult<customer::Model> {
    policy::ensure_can_write(viewer)?;
    check_ids(survivor_id, merged_ids, versions)?;
    let mut w = Write::begin(svc, viewer).await?;
    let mut everyone: Vec<i64> = merged_ids.to_vec();
    everyone.push(survivor_id);
    everyone.sort_unstable();
    rollups::lock_customers(&*w, &everyone).await?;
    let survivor = policy::writable_customer(&*w, viewer, survivor_id).await?;
    let mut merged = Vec::with_capacity(merged_ids.len());
    for id in merged_ids {
        merged.push(policy::writable_customer(&*w, viewer, *id).await?);
    }
    for (row, expected) in std::iter::once(&survivor).chain(&merged).zip(versions) {
        if row.archived_at.is_some() {
            return Err(AppError::bad_input(
                "mergedIds",
                format!("customer {} is archived: only live customers merge", gid::encode("Customer", row.id)),
            ));
        }
        if row.version != *expected {
            return Err(stale("a customer"));
        }
    }
    let list = id_list(merged_ids);
    refuse_hidden_neighbours(&*w, viewer, &list).await?;
    let at = now();
    let mut notes: HashMap<i64, serde_json::Map<String, Value>> = HashMap::new();

    let revenue = move_revenue(&mut w, &survivor, &merged).await?;
    for (id, originals) in revenue {
        notes.entry(id).or_default().insert("revenue".into(), Value::Array(originals));
    }

    // The rows each merged customer holds move as they are.
    for (table, entity, versioned) in [
        ("contact", Some(ChangeEntity::Contact), true),
        ("communication", Some(ChangeEntity::Communication), false),
        ("ticket", None, true),
        ("commitment", Some(ChangeEntity::Commitment), true),
        ("task", Some(ChangeEntity::Task), true),
        ("key_date", None, false),
        ("survey_response", None, false),
    ] {
        let moved = ids(&*w, format!("SELECT id FROM {table} WHERE customer_id IN ({list}) ORDER BY id")).await?;
        if moved.is_empty() {
            continue;
        }
        let version = if versioned { ", version = version + 1" } else { "" };
        exec(&*w, &format!(
            "UPDATE {table} SET customer_id = {survivor_id}, updated_at = {{at}}{version} WHERE customer_id IN ({list})"
        ), at)
        .await?;
        let entity = match (entity, table) {
            (Some(entity), _) => Some(entity),
            (None, "ticket") => Some(ChangeEntity::Ticket),
            _ => None,
        };
        if let Some(entity) = entity {
            w.changes(moved.iter().map(|id| Change::new(entity, *id, Operation::Updated, survivor_id)));
        }
    }

    move_links(&mut w, survivor_id, merged_ids, at).await?;

    // Subsidiaries of a merged customer belong to the survivor's group now.
    let children = ids(
        &*w,
        format!("SELECT id FROM customer WHERE parent_id IN ({list}) AND id <> {survivor_id} AND id NOT IN ({list})"),
    )
    .await?;
    if !children.is_empty() {
        exec(
            &*w,
            &format!(
                "UPDATE customer SET parent_id = {survivor_id}, updated_at = {{at}}, version = version + 1 \
             WHERE id IN ({})",
                id_list(&children)
            ),
            at,
        )
        .await?;
        w.changes(children.iter().map(|id| Change::customer(*id, Operation::Updated, None)));
    }

    // Custom-field values: the survivor's win; a value it lacks comes from the first merged row that has one.
    let taken = move_custom_values(&w, "CUSTOMER", survivor_id, merged_ids).await?;
    for (id, keys) in taken {
        notes.entry(id).or_default().insert("customFieldsMoved".into(), json!(keys));
    }

    w.execute_unprepared(&format!(
        "UPDATE customer SET merged_into_id = {survivor_id} WHERE merged_into_id IN ({list})"
    ))
    .await?;
    exec(
        &*w,
        &format!(
            "UPDATE customer SET archived_at = {{at}}, merged_into_id = {survivor_id}, updated_at = {{at}}, \
         version = version + 1 WHERE id IN ({list})"
        ),
        at,
    )
    .await?;
    for row in &merged {
        let mut note = notes.remove(&row.id).unwrap_or_default();
        note.insert("mergedInto".into(), json!(gid::encode("Customer", survivor_id)));
        note.insert("was".into(), customer_snapshot(row));
        w.audit("merge", "customer", row.id, Value::Object(note));
        w.change(Change { merged_into: Some(survivor_id), ..Change::customer(row.id, Operation::Merged, None) });
    }

    // A survivor whose parent was merged into it takes that parent's parent; and a group never loops: a survivor
    // that finds itself above its own parent (its parent was under a merged customer) leaves the group.
    let mut parent = match survivor.parent_id {
        Some(parent) if merged_ids.contains(&parent) => {
            let grand = merged.iter().find(|m| m.id == parent).and_then(|m| m.parent_id);
            Some(grand.filter(|g| *g != survivor_id && !merged_ids.contains(g)))
        }
        _ => None,
    };
    let mut above = parent.unwrap_or(survivor.parent_id);
    // As deep as a group goes (`crate::service::customers` walks as far).
    for _ in 0..64 {
        let Some(id) = above else { break };
        if id == survivor_id {
            parent = Some(None);
            break;
        }
        above = rows(&*w, format!("SELECT parent_id FROM customer WHERE id = {id}"))
            .await?
            .first()
            .map(|r| r.try_get::<Option<i64>>("", "parent_id"))
            .transpose()?
            .flatten();
    }
    let parent = parent.map_or(sea_orm::ActiveValue::NotSet, Set);
    let updated = update_versioned::<customer::Entity>(
        &*w,
        customer::ActiveModel {
            parent_id: parent,
            updated_at: Set(at),
            version: Set(survivor.version + 1),
            ..Default::default()
        },
        (customer::Column::Id, survivor_id),
        (customer::Column::Version, survivor.version),
        "customer",
    )
    .await?;
    let merged_gids: Vec<String> = merged_ids.iter().map(|id| gid::encode("Customer", *id)).collect();
    let mut survivor_note = notes.remove(&survivor_id).unwrap_or_default();
    survivor_note.insert("merged".into(), json!(merged_gids));
    w.audit("merge", "customer", survivor_id, Value::Object(survivor_note));
    w.change(Change::customer(survivor_id, Operation::Updated, None));
    w.announce([Event::new(
        EventType::CustomerMerged,
        survivor_id,
        json!({ "customerId": gid::encode("Customer", survivor_id), "mergedIds": merged_gids }),
    )]);
    w.after(Effect::Segments);
    w.commit(svc).await?;
    // The merge stands whatever happens here: the health sweep takes the merge in from its audit entries anyway.
    if let Err(err) = crate::service::health::refresh(&svc.db, svc.health.rules(), &everyone).await {
        tracing::warn!(error = %err, "refreshing health after a merge failed; the sweep will");
    }
    Ok(updated)
}

/// A merge re-points the merged customers' subsidiaries and links: every
/// customer at their other end must be one the viewer can write too.
async fn refuse_hidden_neighbours(db: &impl ConnectionTrait, viewer: &Viewer, list: &str) -> AppResult<()> {
    if policy::customer_scope(viewer, Resource::Customers) == CustomerScope::All {
        return Ok(());
    }
    let visible = Dialect::of(db).subquery(&policy::visible_customer_ids(viewer));
    let hidden = ids(
        db,
        format!(
            "SELECT id FROM customer WHERE parent_id IN ({list}) AND id NOT IN ({visible}) \
             UNION SELECT to_customer_id AS id FROM customer_link WHERE from_customer_id IN ({list}) \
               AND to_customer_id NOT IN ({visible}) \
             UNION SELECT from_customer_id AS id FROM customer_link WHERE to_customer_id IN ({list}) \
               AND from_customer_id NOT IN ({visible})"
        ),
    )
    .await?;
    if hidden.is_empty() {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "{} of the merged customers' subsidiaries or linked customers are not yours to change: ask someone who \
         can write them all (their team lead, or a LEADER)",
        hidden.len()
    )))
}

/// What a merged customer was, for its audit entry.
fn customer_snapshot(row: &customer::Model) -> Value {
    json!({
        "name": row.name,
        "industry": row.industry,
        "region": row.region,
        "status": row.status.as_str(),
        "ownerId": gid::encode("User", row.owner_id),
        "parentId": row.parent_id.map(|p| gid::encode("Customer", p)),
        "strategicImportance": row.strategic_importance.as_str(),
        "customerSince": row.customer_since,
        "nextReviewOn": row.next_review_on,
        "version": row.version,
    })
}

/// Moves the merged customers' revenue months to the survivor: a month the
/// survivor has already is added into its row (the merged row is removed),
/// any other moves. The rollups move with them. Returns, per merged
/// customer, its original months for the audit.
async fn move_revenue(
    w: &mut Write,
    survivor: &customer::Model,
    merged: &[customer::Model],
) -> AppResult<HashMap<i64, Vec<Value>>> {
    let list = id_list(&merged.iter().map(|m| m.id).collect::<Vec<_>>());
    let owner_of: HashMap<i64, i64> = merged.iter().map(|m| (m.id, m.owner_id)).collect();
    let sql = |who: &str| {
        format!(
            "SELECT id, customer_id, month, revenue_cents, gross_profit_cents FROM revenue_entry \
             WHERE customer_id IN ({who}) ORDER BY customer_id, month"
        )
    };
    // The survivor's row for each month it will hold (its own, or one moved onto it).
    let mut held: BTreeMap<chrono::NaiveDate, i64> = BTreeMap::new();
    for row in rows(&**w, sql(&survivor.id.to_string())).await? {
        if let Some(month) = crate::db::rows::date(&row, "month")? {
            held.insert(month, row.try_get::<i64>("", "id")?);
        }
    }
    let mut originals: HashMap<i64, Vec<Value>> = HashMap::new();
    let mut deltas = Vec::new();
    let mut added: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut moved: Vec<i64> = Vec::new();
    let mut removed: Vec<(i64, i64)> = Vec::new();
    for row in rows(&**w, sql(&list)).await? {
        let id: i64 = row.try_get("", "id")?;
        let customer_id: i64 = row.try_get("", "customer_id")?;
        let Some(month) = crate::db::rows::date(&row, "month")? else { continue };
        let (revenue, profit) =
            (crate::db::rows::int(&row, "revenue_cents")?, crate::db::rows::int(&row, "gross_profit_cents")?);
        let fate = match held.get(&month) {
            Some(into) => {
                let sum = added.entry(*into).or_default();
                sum.0 += revenue;
                sum.1 += profit;
                removed.push((id, customer_id));
                json!({ "addedInto": gid::encode("RevenueEntry", *into) })
            }
            None => {
                held.insert(month, id);
                moved.push(id);
                json!({ "moved": true })
            }
        };
        let mut original = json!({
            "id": gid::encode("RevenueEntry", id),
            "month": month,
            "revenue": crate::rules::format_cents(revenue),
            "grossProfit": crate::rules::format_cents(profit),
        });
        if let (Value::Object(o), Value::Object(f)) = (&mut original, fate) {
            o.extend(f);
        }
        originals.entry(customer_id).or_default().push(original);
        let owner = owner_of.get(&customer_id).copied();
        deltas.push(RevenueDelta {
            customer_id,
            owner_id: owner,
            month,
            revenue_cents: -revenue,
            gross_profit_cents: -profit,
        });
        deltas.push(RevenueDelta {
            customer_id: survivor.id,
            owner_id: Some(survivor.owner_id),
            month,
            revenue_cents: revenue,
            gross_profit_cents: profit,
        });
    }
    let at = now();
    for (into, (revenue, profit)) in &added {
        exec(
            &**w,
            &format!(
                "UPDATE revenue_entry SET revenue_cents = revenue_cents + {revenue}, \
             gross_profit_cents = gross_profit_cents + {profit}, updated_at = {{at}} WHERE id = {into}"
            ),
            at,
        )
        .await?;
    }
    if !removed.is_empty() {
        let gone = id_list(&removed.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        w.execute_unprepared(&format!("DELETE FROM revenue_entry WHERE id IN ({gone})")).await?;
    }
    if !moved.is_empty() {
        exec(
            &**w,
            &format!(
                "UPDATE revenue_entry SET customer_id = {}, updated_at = {{at}} WHERE id IN ({})",
                survivor.id,
                id_list(&moved)
            ),
            at,
        )
        .await?;
    }
    rollups::apply(&**w, &deltas).await?;
    let survivor_id = survivor.id;
    w.changes(
        added
            .keys()
            .chain(&moved)
            .map(|id| Change::new(ChangeEntity::RevenueEntry, *id, Operation::Updated, survivor_id)),
    );
    w.changes(
        removed
            .iter()
            .map(|(id, customer)| Change::new(ChangeEntity::RevenueEntry, *id, Operation::Archived, *customer)),
    );
    Ok(originals)
}

/// Re-points the merged customers' links at the survivor. A link that would
/// join the survivor to itself, or that the survivor already has, is archived
/// where it is instead.
async fn move_links(w: &mut Write, survivor_id: i64, merged_ids: &[i64], at: DateTime<Utc>) -> AppResult<()> {
    let list = id_list(merged_ids);
    let archived = |row: &QueryResult| -> AppResult<bool> {
        Ok(row.try_get::<bool>("", "archived").or_else(|_| row.try_get::<i32>("", "archived").map(|a| a != 0))?)
    };
    // The survivor's own links (live or archived), by their ends and kind.
    let mut held: HashMap<(i64, i64, String), (i64, bool)> = HashMap::new();
    for row in rows(
        &**w,
        format!(
            "SELECT id, from_customer_id, to_customer_id, kind, archived_at IS NOT NULL AS archived FROM customer_link \
             WHERE (from_customer_id = {survivor_id} OR to_customer_id = {survivor_id}) \
             AND from_customer_id NOT IN ({list}) AND to_customer_id NOT IN ({list})"
        ),
    )
    .await?
    {
        let key = (row.try_get("", "from_customer_id")?, row.try_get("", "to_customer_id")?, row.try_get("", "kind")?);
        held.insert(key, (row.try_get("", "id")?, archived(&row)?));
    }
    // Live links first: where two meet, the live one is kept.
    let links = rows(
        &**w,
        format!(
            "SELECT id, from_customer_id, to_customer_id, kind, archived_at IS NOT NULL AS archived FROM customer_link \
             WHERE from_customer_id IN ({list}) OR to_customer_id IN ({list}) ORDER BY archived_at IS NOT NULL, id"
        ),
    )
    .await?;
    let onto = |id: i64| if merged_ids.contains(&id) { survivor_id } else { id };
    let archive =
        |id: i64| format!("UPDATE customer_link SET archived_at = {{at}}, updated_at = {{at}} WHERE id = {id}");
    for link in links {
        let id: i64 = link.try_get("", "id")?;
        let (from, to, kind): (i64, i64, String) =
            (link.try_get("", "from_customer_id")?, link.try_get("", "to_customer_id")?, link.try_get("", "kind")?);
        let live = !archived(&link)?;
        let (new_from, new_to) = (onto(from), onto(to));
        let key = (new_from, new_to, kind);
        let clash = new_from == new_to || held.contains_key(&key);
        if clash {
            // The survivor's archived copy of a live link comes back to life in its place.
            if let Some((kept, true)) = held.get(&key).copied().filter(|_| live && new_from != new_to) {
                exec(
                    &**w,
                    &format!("UPDATE customer_link SET archived_at = NULL, updated_at = {{at}} WHERE id = {kept}"),
                    at,
                )
                .await?;
                held.insert(key, (kept, false));
                w.change(Change::link(kept, Operation::Updated, new_from, new_to));
            }
            if live {
                exec(&**w, &archive(id), at).await?;
                w.change(Change::link(id, Operation::Archived, from, to));
            }
            continue;
        }
        exec(
            &**w,
            &format!(
                "UPDATE customer_link SET from_customer_id = {new_from}, to_customer_id = {new_to}, updated_at = {{at}} \
                 WHERE id = {id}"
            ),
            at,
        )
        .await?;
        held.insert(key, (id, !live));
        if live {
            w.change(Change::link(id, Operation::Updated, new_from, new_to));
        }
    }
    Ok(())
}

/// Moves custom-field values the survivor lacks from the merged rows (the
/// first in the list that has one wins); the others stay with their merged
/// row. Returns, per merged row, the keys taken from it.
async fn move_custom_values(
    w: &Write,
    entity: &str,
    survivor_id: i64,
    merged_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<String>>> {
    let mut held: HashSet<i64> = HashSet::new();
    for row in
        rows(&**w, format!("SELECT field_id FROM custom_value WHERE entity = '{entity}' AND row_id = {survivor_id}"))
            .await?
    {
        held.insert(row.try_get("", "field_id")?);
    }
    let values = rows(
        &**w,
        format!(
            "SELECT v.id, v.field_id, v.row_id, f.key FROM custom_value v JOIN custom_field f ON f.id = v.field_id \
             WHERE v.entity = '{entity}' AND v.row_id IN ({})",
            id_list(merged_ids)
        ),
    )
    .await?;
    let rank = |row: i64| merged_ids.iter().position(|m| *m == row).unwrap_or(usize::MAX);
    let mut values: Vec<(usize, i64, i64, i64, String)> = values
        .iter()
        .map(|v| {
            let row: i64 = v.try_get("", "row_id")?;
            Ok((rank(row), v.try_get("", "id")?, v.try_get("", "field_id")?, row, v.try_get("", "key")?))
        })
        .collect::<AppResult<_>>()?;
    values.sort();
    let mut taken: HashMap<i64, Vec<String>> = HashMap::new();
    let mut moved = Vec::new();
    for (_, id, field, row, key) in values {
        if held.insert(field) {
            moved.push(id);
            taken.entry(row).or_default().push(key);
        }
    }
    if !moved.is_empty() {
        w.execute_unprepared(&format!(
            "UPDATE custom_value SET row_id = {survivor_id} WHERE id IN ({})",
            id_list(&moved)
        ))
        .await?;
    }
    Ok(taken)
}

/// Merges `merged` into `survivor` (contacts, at any customers the viewer can write).
pub async fn merge_contacts(
    svc: &Services,
    viewer: &Viewer,
    survivor_id: i64,
    merged_ids: &[i64],
    versions: &[i32],
) -> AppResult<contact::Model> {
    policy::ensure_can_write(viewer)?;
    check_ids(survivor_id, merged_ids, versions)?;
    let mut w = Write::begin(svc, viewer).await?;
    let columns = (contact::Column::Id, contact::Column::CustomerId);
    let found = policy::writable::<contact::Entity>(&*w, viewer, columns, survivor_id, "contact").await?;
    // Merges of one customer's contacts run one at a time: each reads what the one before it moved.
    rollups::lock_customers(&*w, &[found.customer_id]).await?;
    let survivor = policy::writable::<contact::Entity>(&*w, viewer, columns, survivor_id, "contact").await?;
    let mut merged = Vec::with_capacity(merged_ids.len());
    for id in merged_ids {
        let row = policy::writable::<contact::Entity>(&*w, viewer, columns, *id, "contact").await?;
        // A contact's communications, tickets and tasks are its customer's: contacts merge within one customer
        // (merge duplicate customers first).
        if row.customer_id != survivor.customer_id {
            return Err(AppError::bad_input(
                "mergedIds",
                format!(
                    "contact {} is at another customer: merge contacts of one customer",
                    gid::encode("Contact", row.id)
                ),
            ));
        }
        merged.push(row);
    }
    for (row, expected) in std::iter::once(&survivor).chain(&merged).zip(versions) {
        if row.archived_at.is_some() {
            return Err(AppError::bad_input(
                "mergedIds",
                format!("contact {} is archived: only live contacts merge", gid::encode("Contact", row.id)),
            ));
        }
        if row.version != *expected {
            return Err(stale("a contact"));
        }
    }
    let list = id_list(merged_ids);
    let at = now();

    // Communications: the survivor takes the merged contacts' places (once each).
    let communications = ids(
        &*w,
        format!(
            "SELECT DISTINCT communication_id AS id FROM communication_contact WHERE contact_id IN ({list}) ORDER BY 1"
        ),
    )
    .await?;
    if !communications.is_empty() {
        let touched = id_list(&communications);
        w.execute_unprepared(&format!(
            "DELETE FROM communication_contact WHERE contact_id IN ({list}) AND communication_id IN \
             (SELECT communication_id FROM communication_contact WHERE contact_id = {survivor_id})"
        ))
        .await?;
        // Two merged contacts on one communication: one row stays for the survivor.
        w.execute_unprepared(&format!(
            "DELETE FROM communication_contact WHERE contact_id IN ({list}) AND EXISTS \
             (SELECT 1 FROM communication_contact o WHERE o.communication_id = communication_contact.communication_id \
              AND o.contact_id IN ({list}) AND o.contact_id < communication_contact.contact_id)"
        ))
        .await?;
        w.execute_unprepared(&format!(
            "UPDATE communication_contact SET contact_id = {survivor_id} WHERE contact_id IN ({list})"
        ))
        .await?;
        exec(&*w, &format!("UPDATE communication SET updated_at = {{at}} WHERE id IN ({touched})"), at).await?;
        for row in rows(&*w, format!("SELECT id, customer_id FROM communication WHERE id IN ({touched})")).await? {
            w.change(Change::new(
                ChangeEntity::Communication,
                row.try_get("", "id")?,
                Operation::Updated,
                row.try_get("", "customer_id")?,
            ));
        }
    }
    for (table, entity, versioned) in [
        ("ticket", Some(ChangeEntity::Ticket), true),
        ("task", Some(ChangeEntity::Task), true),
        ("key_date", None, false),
        ("survey_response", None, false),
    ] {
        let moved =
            rows(&*w, format!("SELECT id, customer_id FROM {table} WHERE contact_id IN ({list}) ORDER BY id")).await?;
        if moved.is_empty() {
            continue;
        }
        let version = if versioned { ", version = version + 1" } else { "" };
        exec(
            &*w,
            &format!("UPDATE {table} SET contact_id = {survivor_id}, updated_at = {{at}}{version} WHERE contact_id IN ({list})"),
            at,
        )
        .await?;
        if let Some(entity) = entity {
            for row in moved {
                w.change(Change::new(
                    entity,
                    row.try_get("", "id")?,
                    Operation::Updated,
                    row.try_get("", "customer_id")?,
                ));
            }
        }
    }
    let taken = move_custom_values(&w, "CONTACT", survivor_id, merged_ids).await?;
    w.execute_unprepared(&format!(
        "UPDATE contact SET merged_into_id = {survivor_id} WHERE merged_into_id IN ({list})"
    ))
    .await?;
    exec(
        &*w,
        &format!(
            "UPDATE contact SET archived_at = {{at}}, merged_into_id = {survivor_id}, updated_at = {{at}}, \
         version = version + 1 WHERE id IN ({list})"
        ),
        at,
    )
    .await?;
    for row in &merged {
        w.audit(
            "merge",
            "contact",
            row.id,
            json!({
                "mergedInto": gid::encode("Contact", survivor_id),
                "customFieldsMoved": taken.get(&row.id).cloned().unwrap_or_default(),
                "was": {
                    "customerId": gid::encode("Customer", row.customer_id),
                    "name": row.name,
                    "title": row.title,
                    "department": row.department,
                    "orgLevel": row.org_level.as_str(),
                    "email": row.email,
                    "phone": row.phone,
                    "startedOn": row.started_on,
                    "endedOn": row.ended_on,
                    "version": row.version,
                },
            }),
        );
        w.change(Change {
            merged_into: Some(survivor_id),
            ..Change::new(ChangeEntity::Contact, row.id, Operation::Merged, row.customer_id)
        });
    }
    let updated = update_versioned::<contact::Entity>(
        &*w,
        contact::ActiveModel { updated_at: Set(at), version: Set(survivor.version + 1), ..Default::default() },
        (contact::Column::Id, survivor_id),
        (contact::Column::Version, survivor.version),
        "contact",
    )
    .await?;
    let merged_gids: Vec<String> = merged_ids.iter().map(|id| gid::encode("Contact", *id)).collect();
    w.audit("merge", "contact", survivor_id, json!({ "merged": merged_gids }));
    w.change(Change::new(ChangeEntity::Contact, survivor_id, Operation::Updated, survivor.customer_id));
    w.commit(svc).await?;
    Ok(updated)
}
