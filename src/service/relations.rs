//! The relations the API's fields follow, each read for a whole batch of
//! parents in one statement, through the policy: what the GraphQL loaders
//! batch (`crate::graphql::loaders`), one function per relation. Customers
//! and contacts read here count toward the bulk-read audit like any list.

use std::collections::HashMap;

use entity::{
    commitment, communication, communication_contact, contact, customer, enums::CustomFieldEntity, external_ref,
    partnership, task, team, ticket, ticket_event, user,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationDef,
    Select, Statement,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, PostgresQueryBuilder, Query},
};

use crate::{
    analytics::{
        health::{AccountHealth, assess},
        health_facts::{self, Customers},
        timeline,
    },
    db::decode::ByPosition,
    error::AppResult,
    policy::{self, Viewer},
    rules::sla::OPEN_STATUS_CONDITION,
    service::{
        Services,
        custom_fields::{self, FieldValue},
        customers, external,
    },
};

/// The rows of `select` whose `id` is among `keys`, by id.
async fn by_ids<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: E::Column,
    keys: &[i64],
) -> AppResult<Vec<E::Model>> {
    Ok(select.filter(id.is_in(keys.iter().copied())).all(db).await?)
}

fn keyed<M>(rows: Vec<M>, id: impl Fn(&M) -> i64) -> HashMap<i64, M> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

/// Users by id, through the in-memory directory. Colleagues' names are not
/// customer data, so users are not scoped (their details are, by the field
/// rule `policy::UserDetail`).
pub async fn users(svc: &Services, _viewer: &Viewer, keys: &[i64]) -> AppResult<HashMap<i64, user::Model>> {
    let rows = svc.users.get_many(&svc.db, keys).await?;
    Ok(rows.into_iter().map(|(id, user)| (id, user::Model::clone(&user))).collect())
}

/// Teams by id.
pub async fn teams(svc: &Services, _viewer: &Viewer, keys: &[i64]) -> AppResult<HashMap<i64, team::Model>> {
    Ok(keyed(by_ids(&svc.db, team::Entity::find(), team::Column::Id, keys).await?, |t| t.id))
}

/// Customers by id, only the visible ones.
pub async fn customers(svc: &Services, viewer: &Viewer, keys: &[i64]) -> AppResult<HashMap<i64, customer::Model>> {
    let select = customer::Entity::find().filter(policy::visible_customers(viewer));
    let rows = by_ids(&svc.db, select, customer::Column::Id, keys).await?;
    svc.exports.record(&svc.db, viewer, rows.len()).await?;
    Ok(keyed(rows, |c| c.id))
}

/// A customer by id, if visible, with the first page of its timeline (one
/// statement: `analytics::timeline::with_customer`), counted like any customer
/// read. Not a loader's batch: `customer(id:)` reads it ahead of its `timeline`.
pub async fn customer_with_timeline(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    window: &timeline::Window,
    first: u64,
) -> AppResult<Option<timeline::WithCustomer>> {
    let found = timeline::with_customer(&svc.db, viewer, id, window, first).await?;
    svc.exports.record(&svc.db, viewer, usize::from(found.is_some())).await?;
    Ok(found)
}

/// Tickets by id, only those the viewer may read.
pub async fn tickets(svc: &Services, viewer: &Viewer, keys: &[i64]) -> AppResult<HashMap<i64, ticket::Model>> {
    let select = ticket::Entity::find().filter(policy::visible_tickets(viewer));
    Ok(keyed(by_ids(&svc.db, select, ticket::Column::Id, keys).await?, |t| t.id))
}

/// Contacts by id, only those of visible customers.
pub async fn contacts(svc: &Services, viewer: &Viewer, keys: &[i64]) -> AppResult<HashMap<i64, contact::Model>> {
    let select = contact::Entity::find().filter(policy::visible_through(viewer, contact::Column::CustomerId));
    let rows = by_ids(&svc.db, select, contact::Column::Id, keys).await?;
    svc.exports.record(&svc.db, viewer, rows.len()).await?;
    Ok(keyed(rows, |c| c.id))
}

/// Key of a bounded to-many relation: the parent row and how many of its
/// children, in the relation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestOf {
    pub parent_id: i64,
    pub limit: u8,
}

/// The first `limit` rows of each parent, in `order` within the parent
/// column `partition`, in one statement per distinct limit.
///
/// On PostgreSQL each parent is one index-ordered probe that stops after
/// `limit` rows (a LATERAL join over the page's parent IDs, passed as one
/// parameter so the statement text, and its prepared plan, is the same for
/// every page). SQLite has no LATERAL: it ranks the page's children with a
/// window function. `select_for` gets the parent IDs when they must be in
/// the statement (SQLite) and `None` when the join supplies them.
async fn latest<E>(
    db: &sea_orm::DatabaseConnection,
    keys: &[LatestOf],
    select_for: impl Fn(Option<Vec<i64>>) -> Select<E>,
    (partition, order): (&str, &str),
    parent_of: impl Fn(&E::Model) -> i64,
) -> AppResult<HashMap<LatestOf, Vec<E::Model>>>
where
    E: EntityTrait,
    E::Model: ByPosition,
{
    let mut result: HashMap<LatestOf, Vec<E::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    let mut limits: Vec<u8> = keys.iter().map(|k| k.limit).collect();
    limits.sort_unstable();
    limits.dedup();
    let dialect = crate::db::Dialect::of(db);
    let (backend, postgres) = (dialect.0, dialect.postgres());
    for limit in limits {
        let parents: Vec<i64> = keys.iter().filter(|k| k.limit == limit).map(|k| k.parent_id).collect();
        let statement = if postgres {
            let table = E::default().table_name().to_owned();
            let probe = select_for(None)
                .filter(Expr::cust(format!(r#""{table}"."{partition}" = page_parent.parent_key"#)))
                .into_query();
            let (probe, mut values) = probe.build(PostgresQueryBuilder);
            let parameter = values.0.len() + 1;
            // The nested loop keeps each probe's rows in its ORDER BY; parents are grouped below.
            let sql = format!(
                "SELECT child.* FROM unnest(CAST(string_to_array(${parameter}, ',') AS bigint[])) \
                 AS page_parent(parent_key) CROSS JOIN LATERAL ({probe} ORDER BY {order} LIMIT {limit}) AS child"
            );
            let ids = parents.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            values.0.push(ids.into());
            Statement::from_sql_and_values(backend, sql, values)
        } else {
            let window = format!("ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order})");
            let ranked = select_for(Some(parents)).expr_as(Expr::cust(window), "rn").into_query();
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(ranked, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("rn")).lte(i64::from(limit)))
                .order_by(Alias::new(partition), sea_orm::Order::Asc)
                .order_by(Alias::new("rn"), sea_orm::Order::Asc)
                .to_owned();
            backend.build(&outer)
        };
        let rows = db.query_all_raw(statement).await?;
        for row in rows.iter().map(<E::Model as ByPosition>::decode) {
            let row = row?;
            result.entry(LatestOf { parent_id: parent_of(&row), limit }).or_default().push(row);
        }
    }
    Ok(result)
}

/// `column IN ids`, or no condition when the ids come from the LATERAL join.
fn among<C: ColumnTrait>(column: C, ids: Option<Vec<i64>>) -> sea_orm::Condition {
    let condition = sea_orm::Condition::all();
    match ids {
        Some(ids) => condition.add(column.is_in(ids)),
        None => condition,
    }
}

/// Rows per parent read by a bounded relation.
fn count<K, V>(found: &HashMap<K, Vec<V>>) -> usize {
    found.values().map(Vec::len).sum()
}

/// The first N current (not archived) contacts of each customer, by name.
pub async fn contacts_of(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<contact::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        contact::Entity::find()
            .filter(policy::visible_through(viewer, contact::Column::CustomerId))
            .filter(contact::Column::ArchivedAt.is_null())
            .filter(among(contact::Column::CustomerId, ids))
    };
    let found = latest(&svc.db, keys, select, ("customer_id", "lower(name), id"), |c| c.customer_id).await?;
    svc.exports.record(&svc.db, viewer, count(&found)).await?;
    Ok(found)
}

/// The first N subsidiaries of each customer (visible, not archived), by name.
pub async fn subsidiaries(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<customer::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        customer::Entity::find()
            .filter(policy::visible_customers(viewer))
            .filter(customer::Column::ArchivedAt.is_null())
            .filter(among(customer::Column::ParentId, ids))
    };
    let found = latest(&svc.db, keys, select, ("parent_id", "lower(name), id"), |c| c.parent_id.unwrap_or(0)).await?;
    svc.exports.record(&svc.db, viewer, count(&found)).await?;
    Ok(found)
}

/// The groups above each customer, nearest first, as far as the viewer can
/// see them (one recursive query for the whole batch; the walk stops at the
/// first invisible ancestor).
pub async fn ancestors(svc: &Services, viewer: &Viewer, keys: &[i64]) -> AppResult<HashMap<i64, Vec<customer::Model>>> {
    customers::ancestors(&svc.db, viewer, keys).await
}

/// The N most recent communications of each customer.
pub async fn latest_communications(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<communication::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        communication::Entity::find()
            .filter(policy::visible_through(viewer, communication::Column::CustomerId))
            .filter(communication::Column::ArchivedAt.is_null())
            .filter(among(communication::Column::CustomerId, ids))
    };
    latest(&svc.db, keys, select, ("customer_id", "occurred_at DESC, id DESC"), |c| c.customer_id).await
}

/// The N most recent history entries of each ticket.
pub async fn recent_events(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<ticket_event::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        let visible = ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .filter(policy::visible_tickets(viewer))
            .filter(among(ticket::Column::Id, ids))
            .into_query();
        ticket_event::Entity::find().filter(ticket_event::Column::TicketId.in_subquery(visible))
    };
    latest(&svc.db, keys, select, ("ticket_id", "id DESC"), |e| e.ticket_id).await
}

fn participants_join() -> RelationDef {
    communication_contact::Entity::belongs_to(contact::Entity)
        .from(communication_contact::Column::ContactId)
        .to(contact::Column::Id)
        .into()
}

/// Contacts who took part in each communication.
pub async fn participants(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<contact::Model>>> {
    let rows = communication_contact::Entity::find()
        .join(JoinType::InnerJoin, participants_join())
        .select_also(contact::Entity)
        .filter(communication_contact::Column::CommunicationId.is_in(keys.iter().copied()))
        .filter(policy::visible_through(viewer, contact::Column::CustomerId))
        .order_by_asc(contact::Column::Name)
        .all(&svc.db)
        .await?;
    let mut found: HashMap<i64, Vec<contact::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (link, contact) in rows {
        if let Some(contact) = contact {
            found.entry(link.communication_id).or_default().push(contact);
        }
    }
    svc.exports.record(&svc.db, viewer, count(&found)).await?;
    Ok(found)
}

/// The first N tickets of each customer that still need work, oldest first.
pub async fn open_tickets(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<ticket::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        ticket::Entity::find()
            .filter(policy::visible_tickets(viewer))
            .filter(ticket::Column::ArchivedAt.is_null())
            .filter(Expr::cust(OPEN_STATUS_CONDITION))
            .filter(among(ticket::Column::CustomerId, ids))
    };
    latest(&svc.db, keys, select, ("customer_id", "created_at, id"), |t| t.customer_id).await
}

/// The first N promises of each customer not yet kept, soonest due first.
pub async fn open_commitments(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<commitment::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        commitment::Entity::find()
            .filter(policy::visible_through(viewer, commitment::Column::CustomerId))
            .filter(commitment::Column::ArchivedAt.is_null())
            .filter(commitment::Column::FulfilledOn.is_null())
            .filter(among(commitment::Column::CustomerId, ids))
    };
    latest(&svc.db, keys, select, ("customer_id", "due_on, id"), |c| c.customer_id).await
}

/// The N open tasks of each customer, soonest due first (the overdue first).
pub async fn open_tasks(
    svc: &Services,
    viewer: &Viewer,
    keys: &[LatestOf],
) -> AppResult<HashMap<LatestOf, Vec<task::Model>>> {
    let select = |ids: Option<Vec<i64>>| {
        task::Entity::find()
            .filter(policy::visible_through(viewer, task::Column::CustomerId))
            .filter(task::Column::Status.eq(entity::enums::TaskStatus::Open))
            .filter(among(task::Column::CustomerId, ids))
    };
    latest(&svc.db, keys, select, ("customer_id", "due_on, id"), |t| t.customer_id).await
}

/// Each customer's partnership, if it has one.
pub async fn partnerships(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Option<partnership::Model>>> {
    let select = partnership::Entity::find().filter(policy::visible_through(viewer, partnership::Column::CustomerId));
    let rows = by_ids(&svc.db, select, partnership::Column::CustomerId, keys).await?;
    let mut found: HashMap<i64, Option<partnership::Model>> = keys.iter().map(|k| (*k, None)).collect();
    for row in rows {
        found.insert(row.customer_id, Some(row));
    }
    Ok(found)
}

/// Account health computed now, for the whole batch in one statement; only visible customers.
pub async fn health(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, std::sync::Arc<AccountHealth>>> {
    let facts = health_facts::load(&svc.db, Some(viewer), Customers::Ids(keys), crate::db::now()).await?;
    let rules = svc.health.rules();
    Ok(facts.iter().map(|f| (f.customer_id, std::sync::Arc::new(assess(f, rules)))).collect())
}

/// Each customer's health history over a range of days.
pub async fn health_history(
    svc: &Services,
    viewer: &Viewer,
    keys: &[crate::analytics::health_history::HistoryOf],
) -> AppResult<HashMap<crate::analytics::health_history::HistoryOf, Vec<crate::analytics::health_history::Point>>> {
    crate::analytics::health_history::ranges(&svc.db, viewer, keys).await
}

/// Each customer's health 30 days ago (the point of its history in force then).
pub async fn health_a_month_ago(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, crate::analytics::health_history::Point>> {
    let day = crate::db::now().date_naive() - chrono::Duration::days(TREND_DAYS);
    crate::analytics::health_history::on_day(&svc.db, viewer, keys, day).await
}

/// How far back a health trend looks.
pub const TREND_DAYS: i64 = 30;

/// The figures of each customer's group, from a health snapshot caught up first.
pub async fn groups(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, std::sync::Arc<crate::analytics::groups::GroupFigures>>> {
    svc.health.catch_up(&svc.db).await?;
    let now = crate::db::now();
    let found = crate::analytics::groups::figures(&svc.db, viewer, keys, now.date_naive(), now).await?;
    Ok(found.into_iter().map(|(id, figures)| (id, std::sync::Arc::new(figures))).collect())
}

/// The ids other systems know customers by (the customers are visible: the parent field checked).
pub async fn customer_external_ids(
    svc: &Services,
    _viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<external_ref::Model>>> {
    let mut found = external::of_rows(&svc.db, external::Kind::Customer, keys).await?;
    Ok(keys.iter().map(|k| (*k, found.remove(k).unwrap_or_default())).collect())
}

/// The ids other systems know contacts by (the contacts are visible: the parent field checked).
pub async fn contact_external_ids(
    svc: &Services,
    _viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<external_ref::Model>>> {
    let mut found = external::of_rows(&svc.db, external::Kind::Contact, keys).await?;
    Ok(keys.iter().map(|k| (*k, found.remove(k).unwrap_or_default())).collect())
}

/// The custom field values of rows of `entity` the caller reached through a
/// visible parent row; the rows are filtered again through the viewer's scope.
async fn custom_fields_of(
    svc: &Services,
    viewer: &Viewer,
    entity: CustomFieldEntity,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<FieldValue>>> {
    let visible: Vec<i64> = match entity {
        CustomFieldEntity::Customer => customers_visible(svc, viewer, keys).await?,
        CustomFieldEntity::Contact => {
            let select = contact::Entity::find()
                .select_only()
                .column(contact::Column::Id)
                .filter(policy::visible_through(viewer, contact::Column::CustomerId))
                .filter(contact::Column::Id.is_in(keys.iter().copied()));
            select.into_tuple::<i64>().all(&svc.db).await?
        }
        CustomFieldEntity::Ticket => {
            let select = ticket::Entity::find()
                .select_only()
                .column(ticket::Column::Id)
                .filter(policy::visible_tickets(viewer))
                .filter(ticket::Column::Id.is_in(keys.iter().copied()));
            select.into_tuple::<i64>().all(&svc.db).await?
        }
    };
    custom_fields::values(&svc.db, entity, &visible).await
}

async fn customers_visible(svc: &Services, viewer: &Viewer, keys: &[i64]) -> AppResult<Vec<i64>> {
    let select = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(policy::visible_customers(viewer))
        .filter(customer::Column::Id.is_in(keys.iter().copied()));
    Ok(select.into_tuple::<i64>().all(&svc.db).await?)
}

/// Custom field values of customers.
pub async fn customer_custom_fields(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<FieldValue>>> {
    custom_fields_of(svc, viewer, CustomFieldEntity::Customer, keys).await
}

/// Custom field values of contacts.
pub async fn contact_custom_fields(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<FieldValue>>> {
    custom_fields_of(svc, viewer, CustomFieldEntity::Contact, keys).await
}

/// Custom field values of tickets.
pub async fn ticket_custom_fields(
    svc: &Services,
    viewer: &Viewer,
    keys: &[i64],
) -> AppResult<HashMap<i64, Vec<FieldValue>>> {
    custom_fields_of(svc, viewer, CustomFieldEntity::Ticket, keys).await
}
