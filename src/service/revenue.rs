//! Revenue: monthly revenue and gross profit per customer, pushed in bulk by
//! integrations. Upserts are idempotent on (customer, month) and all-or-nothing.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use entity::{customer, revenue_entry};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;

use crate::service::write::{Effect, Write};
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        changes::{Change, ChangeEntity, Operation},
        now,
        rollups::{self, RevenueDelta},
    },
};

/// A whole file of revenue rows in a few set-based statements (an import).
pub mod staged;

/// Most rows accepted by one `upsertRevenueEntries` call.
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Default, Clone)]
pub struct RevenueFilter {
    pub customer_id: Option<i64>,
    pub from_month: Option<NaiveDate>,
    pub to_month: Option<NaiveDate>,
}

pub fn select(viewer: &Viewer, filter: &RevenueFilter) -> Select<revenue_entry::Entity> {
    let mut query =
        revenue_entry::Entity::find().filter(policy::visible_through(viewer, revenue_entry::Column::CustomerId));
    if let Some(customer) = filter.customer_id {
        query = query.filter(revenue_entry::Column::CustomerId.eq(customer));
    }
    if let Some(from) = filter.from_month {
        query = query.filter(revenue_entry::Column::Month.gte(from));
    }
    if let Some(to) = filter.to_month {
        query = query.filter(revenue_entry::Column::Month.lte(to));
    }
    query
}

#[derive(Debug, Clone)]
pub struct RevenueRow {
    pub customer_id: i64,
    pub month: NaiveDate,
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
}

/// Our ids of the customers a source knows by these external ids, among those
/// the viewer may push revenue for (FORBIDDEN first for a service account
/// without `revenue:write`): an external id of a customer outside that set is
/// not found, exactly like one that does not exist.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn resolve_external(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    source: &str,
    external_ids: Vec<String>,
) -> AppResult<std::collections::HashMap<String, i64>> {
    let scope = policy::revenue_writable_customers(viewer)?;
    // Not followed through merges: the survivor holds the merged customer's months added into its own, and
    // a month pushed by the old id would replace that sum. A merged customer's ids are unknown to revenue.
    let mut known =
        crate::service::external::resolve_exact(db, crate::service::external::Kind::Customer, source, external_ids)
            .await?;
    if known.is_empty() {
        return Ok(known);
    }
    let allowed: HashSet<i64> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::Id.is_in(known.values().copied()))
        .filter(customer::Column::MergedIntoId.is_null())
        .filter(scope)
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    known.retain(|_, id| allowed.contains(id));
    Ok(known)
}

/// Inserts or replaces every row in one transaction; returns the number of rows.
/// The audit entry keeps the old and new figures of every row that changed.
/// Segments and trailing revenue are recomputed soon after (`crate::service::segments`).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert(svc: &crate::service::Services, viewer: &Viewer, rows: Vec<RevenueRow>) -> AppResult<usize> {
    if rows.len() > MAX_BATCH {
        return Err(AppError::bad_input("entries", format!("at most {MAX_BATCH} entries per call")));
    }
    let (w, tally) = upsert_in(Write::begin(svc, viewer).await?, viewer, rows).await?;
    w.commit(svc).await?;
    Ok(tally.created + tally.updated + tally.unchanged)
}

/// What an upsert did: rows new for their customer and month, changed, and the same as stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// [`upsert`] inside a write that the caller commits; dropping the write on
/// an error rolls it back.
pub async fn upsert_in(w: Write, viewer: &Viewer, rows: Vec<RevenueRow>) -> AppResult<(Write, Tally)> {
    let scope = policy::revenue_writable_customers(viewer)?;
    check_rows(&rows)?;
    let customer_ids: HashSet<i64> = rows.iter().map(|r| r.customer_id).collect();
    let mut w = w;
    // Before anything is read: a concurrent push of the same customers waits,
    // and then reads this one's figures as its "before" (`crate::service::rollups`).
    let mut locked: Vec<i64> = customer_ids.iter().copied().collect();
    locked.sort_unstable();
    rollups::lock_customers(&*w, &locked).await?;
    let found = owners(&*w, &customer_ids, scope).await?;
    if let Some(i) = rows.iter().position(|r| !found.contains_key(&r.customer_id)) {
        return Err(AppError::bad_input(&format!("entries[{i}].customerId"), "customer not found"));
    }
    let months: HashSet<NaiveDate> = rows.iter().map(|r| r.month).collect();
    let before = stored_figures(&*w, &customer_ids, &months).await?;
    let changed = changed_figures(&rows, &before);
    let at = now();
    let count = rows.len();
    let created = rows.iter().filter(|r| !before.contains_key(&(r.customer_id, r.month))).count();
    let updated = changed.len() - created;
    write_rows(&*w, &rows, at).await?;
    rollups::apply(&*w, &deltas(&rows, &found, &before)).await?;
    let summary = json!({"rows": count, "customers": customer_ids.len(), "changed": changed});
    w.audit("upsert", "revenue_entry", 0, summary);
    let feed = feed(&*w, &rows, &before, &customer_ids, &months).await?;
    w.changes(feed);
    w.after(Effect::Segments);
    Ok((w, Tally { created, updated, unchanged: count - created - updated }))
}

/// The batch checks that need no reading: the first refusal names its entry.
fn check_rows(rows: &[RevenueRow]) -> AppResult<()> {
    if rows.is_empty() {
        return Err(AppError::bad_input("entries", "at least one entry is required"));
    }
    let mut seen = HashSet::new();
    let this_month = crate::rules::month_start(now().date_naive());
    for (i, row) in rows.iter().enumerate() {
        if row.month.day() != 1 {
            return Err(AppError::bad_input(&format!("entries[{i}].month"), "month must be the first day of a month"));
        }
        if row.month > this_month {
            return Err(AppError::bad_input(
                &format!("entries[{i}].month"),
                format!("{} has not begun: revenue is pushed for the current month or earlier", row.month),
            ));
        }
        if !seen.insert((row.customer_id, row.month)) {
            return Err(AppError::bad_input(&format!("entries[{i}]"), "the same customer and month appear twice"));
        }
    }
    Ok(())
}

/// The owner of each customer the viewer may push for, `None` for an archived
/// one: archived customers count in no owner's month. A customer missing here is
/// not found.
async fn owners(
    db: &impl ConnectionTrait,
    customer_ids: &HashSet<i64>,
    scope: Condition,
) -> AppResult<HashMap<i64, Option<i64>>> {
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::OwnerId)
        .column(customer::Column::ArchivedAt)
        .filter(customer::Column::Id.is_in(customer_ids.iter().copied()))
        .filter(scope)
        .into_tuple::<(i64, i64, Option<chrono::DateTime<chrono::Utc>>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, owner, archived)| (id, archived.is_none().then_some(owner)))
        .collect())
}

/// The figures stored before this push, by (customer, month): what the
/// rollups move from, and what the audit and the feed compare with.
async fn stored_figures(
    db: &impl ConnectionTrait,
    customer_ids: &HashSet<i64>,
    months: &HashSet<NaiveDate>,
) -> AppResult<HashMap<(i64, NaiveDate), (i64, i64)>> {
    Ok(revenue_entry::Entity::find()
        .filter(revenue_entry::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .filter(revenue_entry::Column::Month.is_in(months.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|e| ((e.customer_id, e.month), (e.revenue_cents, e.gross_profit_cents)))
        .collect())
}

/// For the audit entry: the old and new figures of every row that changed.
fn changed_figures(rows: &[RevenueRow], before: &HashMap<(i64, NaiveDate), (i64, i64)>) -> Vec<serde_json::Value> {
    rows.iter()
        .filter(|r| before.get(&(r.customer_id, r.month)) != Some(&(r.revenue_cents, r.gross_profit_cents)))
        .map(|r| {
            let old = before.get(&(r.customer_id, r.month));
            json!({
                "customerId": r.customer_id,
                "month": r.month.to_string(),
                "revenueCents": [old.map(|o| o.0), r.revenue_cents],
                "grossProfitCents": [old.map(|o| o.1), r.gross_profit_cents],
            })
        })
        .collect()
}

/// Inserts or replaces the rows, chunked so that one statement stays under
/// every backend's bind-parameter limit.
async fn write_rows(
    db: &impl ConnectionTrait,
    rows: &[RevenueRow],
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    for chunk in rows.chunks(1000) {
        revenue_entry::Entity::insert_many(chunk.iter().map(|r| revenue_entry::ActiveModel {
            customer_id: Set(r.customer_id),
            month: Set(r.month),
            revenue_cents: Set(r.revenue_cents),
            gross_profit_cents: Set(r.gross_profit_cents),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }))
        .on_conflict(
            OnConflict::columns([revenue_entry::Column::CustomerId, revenue_entry::Column::Month])
                .update_columns([
                    revenue_entry::Column::RevenueCents,
                    revenue_entry::Column::GrossProfitCents,
                    revenue_entry::Column::UpdatedAt,
                ])
                // A month pushed again with the same figures is left as it is (no rewrite, no new timestamp).
                .action_cond_where(
                    sea_orm::Condition::any()
                        .add(Expr::col((revenue_entry::Entity, revenue_entry::Column::RevenueCents)).ne(Expr::col((
                            sea_orm::sea_query::Alias::new("excluded"),
                            revenue_entry::Column::RevenueCents,
                        ))))
                        .add(Expr::col((revenue_entry::Entity, revenue_entry::Column::GrossProfitCents)).ne(
                            Expr::col((
                                sea_orm::sea_query::Alias::new("excluded"),
                                revenue_entry::Column::GrossProfitCents,
                            )),
                        )),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// What the push moves the rollups by: the difference from the stored
/// figures (an archived customer's counts in its 12-month sums only).
fn deltas(
    rows: &[RevenueRow],
    found: &HashMap<i64, Option<i64>>,
    before: &HashMap<(i64, NaiveDate), (i64, i64)>,
) -> Vec<RevenueDelta> {
    rows.iter()
        .filter_map(|r| {
            let owner_id = *found.get(&r.customer_id)?;
            let (old_revenue, old_profit) = before.get(&(r.customer_id, r.month)).copied().unwrap_or((0, 0));
            Some(RevenueDelta {
                customer_id: r.customer_id,
                owner_id,
                month: r.month,
                revenue_cents: r.revenue_cents - old_revenue,
                gross_profit_cents: r.gross_profit_cents - old_profit,
            })
        })
        .collect()
}

/// The change-feed entries, by stored id: rows whose figures did not change
/// are no change for the feed either.
async fn feed(
    db: &impl ConnectionTrait,
    rows: &[RevenueRow],
    before: &HashMap<(i64, NaiveDate), (i64, i64)>,
    customer_ids: &HashSet<i64>,
    months: &HashSet<NaiveDate>,
) -> AppResult<Vec<Change>> {
    let fresh: HashMap<(i64, NaiveDate), bool> = rows
        .iter()
        .filter(|r| before.get(&(r.customer_id, r.month)) != Some(&(r.revenue_cents, r.gross_profit_cents)))
        .map(|r| ((r.customer_id, r.month), !before.contains_key(&(r.customer_id, r.month))))
        .collect();
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let stored: Vec<(i64, i64, NaiveDate)> = revenue_entry::Entity::find()
        .select_only()
        .columns([revenue_entry::Column::Id, revenue_entry::Column::CustomerId, revenue_entry::Column::Month])
        .filter(revenue_entry::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .filter(revenue_entry::Column::Month.is_in(months.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let mut feed: Vec<Change> = stored
        .into_iter()
        .filter_map(|(id, customer, month)| {
            let created = *fresh.get(&(customer, month))?;
            let operation = if created { Operation::Created } else { Operation::Updated };
            Some(Change::new(ChangeEntity::RevenueEntry, id, operation, customer))
        })
        .collect();
    feed.sort_by_key(|c| c.id);
    Ok(feed)
}
