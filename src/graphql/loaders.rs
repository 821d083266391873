//! One DataLoader per relation, built per request from (db, viewer) so every
//! batch is scoped by the policy. Lists prime their loaders with the whole page's
//! keys ([`Siblings`]), so each relation costs exactly one statement per page,
//! however the executor interleaves the resolvers.

use std::{
    any::Any,
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    commitment, communication, communication_contact, contact, customer, external_ref, partnership, team, ticket,
    ticket_event, user,
};
use futures_util::future::BoxFuture;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, RelationDef, Select, Statement,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, PostgresQueryBuilder, Query},
};
use tokio::sync::OnceCell;

use crate::{
    analytics::{
        health::{AccountHealth, HealthRules, assess},
        health_facts::{self, Customers},
    },
    auth::LiveViewer,
    error::{AppError, AppResult},
    policy,
    service::{Services, directory::UserDirectory, exports::ExportWatch, external, tickets::OPEN_STATUS_CONDITION},
};

/// Loader errors must be cloneable; each waiting field gets the batch's own
/// error back (so an outage still answers SERVICE_UNAVAILABLE, and an internal
/// error keeps its logged cause).
pub type LoadError = Arc<AppError>;

pub fn load_error(err: LoadError) -> AppError {
    Arc::unwrap_or_clone(err)
}

async fn by_ids<E: EntityTrait>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    keys: &[i64],
) -> Result<Vec<E::Model>, LoadError> {
    select.filter(id.is_in(keys.iter().copied())).all(db).await.map_err(|e| Arc::new(e.into()))
}

/// Everything a loader needs: the database and the viewer as they are at the
/// time of the batch (a WebSocket connection's viewer can change).
#[derive(Clone)]
pub struct Scope {
    db: DatabaseConnection,
    viewer: LiveViewer,
    exports: Arc<ExportWatch>,
    users: Arc<UserDirectory>,
    health: HealthRules,
}

macro_rules! loader {
    ($(#[$meta:meta])* $name:ident, $key:ty => $value:ty, |$self:ident, $viewer:ident, $keys:ident| $body:block) => {
        $(#[$meta])*
        pub struct $name(Scope);

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = LoadError;

            async fn load(&$self, $keys: &[$key]) -> Result<HashMap<$key, $value>, LoadError> {
                #[allow(unused_variables)]
                let $viewer = $self.0.viewer.get();
                $body
            }
        }
    };
}

loader!(
    /// Users by id, through the in-memory directory. Colleagues' names are not
    /// customer data, so users are not scoped (their details are, by the `User` type).
    UserById, i64 => user::Model, |self, viewer, keys| {
        let rows = self.0.users.get_many(&self.0.db, keys).await.map_err(|e| Arc::new(e.into()))?;
        Ok(rows.into_iter().map(|(id, user)| (id, user::Model::clone(&user))).collect())
    }
);

loader!(
    /// Teams by id.
    TeamById, i64 => team::Model, |self, viewer, keys| {
        let rows = by_ids(&self.0.db, team::Entity::find(), team::Column::Id, keys).await?;
        Ok(rows.into_iter().map(|t| (t.id, t)).collect())
    }
);

loader!(
    /// Customers by id, only the visible ones.
    CustomerById, i64 => customer::Model, |self, viewer, keys| {
        let select = customer::Entity::find().filter(policy::visible_customers(&viewer));
        let rows = by_ids(&self.0.db, select, customer::Column::Id, keys).await?;
        self.0.exports.record(&self.0.db, &viewer, rows.len()).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
);

loader!(
    /// Tickets by id, only those the viewer may read.
    TicketById, i64 => ticket::Model, |self, viewer, keys| {
        let select = ticket::Entity::find().filter(policy::visible_tickets(&viewer));
        let rows = by_ids(&self.0.db, select, ticket::Column::Id, keys).await?;
        Ok(rows.into_iter().map(|t| (t.id, t)).collect())
    }
);

loader!(
    /// Contacts by id, only those of visible customers.
    ContactById, i64 => contact::Model, |self, viewer, keys| {
        let select = contact::Entity::find().filter(policy::visible_through(&viewer, contact::Column::CustomerId));
        let rows = by_ids(&self.0.db, select, contact::Column::Id, keys).await?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
);

/// The `first` of a bounded nested list, checked: 1 to `max`.
pub fn bounded(field: &str, first: i32, max: i32) -> AppResult<u8> {
    if (1..=max).contains(&first) {
        Ok(u8::try_from(first).unwrap_or(u8::MAX))
    } else {
        Err(AppError::bad_input(field, format!("{field} must be between 1 and {max}")))
    }
}

/// Query complexity of a list field: its children's cost once per row it may return.
pub fn bounded_cost(first: i32, child_complexity: usize) -> usize {
    usize::try_from(first.clamp(1, 100)).unwrap_or(1).saturating_mul(child_complexity.max(1))
}

/// Query complexity of a connection: `first` (or `last`, or the default page) rows.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.or(last).unwrap_or(crate::graphql::support::limits::DEFAULT_PAGE_SIZE as i32);
    bounded_cost(rows, child_complexity)
}

/// Key of the bounded to-many loaders: the parent row and how many of its
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
    db: &DatabaseConnection,
    keys: &[LatestOf],
    select_for: impl Fn(Option<Vec<i64>>) -> Select<E>,
    (partition, order): (&str, &str),
    parent_of: impl Fn(&E::Model) -> i64,
) -> Result<HashMap<LatestOf, Vec<E::Model>>, LoadError>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
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
        let rows = E::Model::find_by_statement(statement).all(db).await.map_err(|e| Arc::new(e.into()))?;
        for row in rows {
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

loader!(
    /// The first N current (not archived) contacts of each customer, by name.
    ContactsByCustomerId, LatestOf => Vec<contact::Model>, |self, viewer, keys| {
        let select = |ids: Option<Vec<i64>>| {
            contact::Entity::find()
                .filter(policy::visible_through(&viewer, contact::Column::CustomerId))
                .filter(contact::Column::ArchivedAt.is_null())
                .filter(among(contact::Column::CustomerId, ids))
        };
        latest(&self.0.db, keys, select, ("customer_id", "lower(name), id"), |c| c.customer_id).await
    }
);

loader!(
    /// The first N subsidiaries of each customer (visible, not archived), by name.
    SubsidiariesByParentId, LatestOf => Vec<customer::Model>, |self, viewer, keys| {
        let select = |ids: Option<Vec<i64>>| {
            customer::Entity::find()
                .filter(policy::visible_customers(&viewer))
                .filter(customer::Column::ArchivedAt.is_null())
                .filter(among(customer::Column::ParentId, ids))
        };
        let rows = latest(&self.0.db, keys, select, ("parent_id", "lower(name), id"), |c| c.parent_id.unwrap_or(0)).await?;
        self.0.exports.record(&self.0.db, &viewer, rows.values().map(Vec::len).sum()).await.map_err(Arc::new)?;
        Ok(rows)
    }
);

loader!(
    /// The groups above each customer, nearest first, as far as the viewer can
    /// see them (one recursive query for the whole batch; the walk stops at
    /// the first invisible ancestor).
    AncestorsByCustomerId, i64 => Vec<customer::Model>, |self, viewer, keys| {
        let rows = crate::service::customers::ancestors(&self.0.db, &viewer, keys).await.map_err(Arc::new)?;
        Ok(rows)
    }
);

loader!(
    /// The N most recent communications of each customer.
    LatestCommunicationsByCustomerId, LatestOf => Vec<communication::Model>, |self, viewer, keys| {
        let select = |ids: Option<Vec<i64>>| {
            communication::Entity::find()
                .filter(policy::visible_through(&viewer, communication::Column::CustomerId))
                .filter(communication::Column::ArchivedAt.is_null())
                .filter(among(communication::Column::CustomerId, ids))
        };
        latest(&self.0.db, keys, select, ("customer_id", "occurred_at DESC, id DESC"), |c| c.customer_id).await
    }
);

loader!(
    /// The N most recent history entries of each ticket.
    RecentEventsByTicketId, LatestOf => Vec<ticket_event::Model>, |self, viewer, keys| {
        let select = |ids: Option<Vec<i64>>| {
            let visible = ticket::Entity::find()
                .select_only()
                .column(ticket::Column::Id)
                .filter(policy::visible_tickets(&viewer))
                .filter(among(ticket::Column::Id, ids))
                .into_query();
            ticket_event::Entity::find().filter(ticket_event::Column::TicketId.in_subquery(visible))
        };
        latest(&self.0.db, keys, select, ("ticket_id", "id DESC"), |e| e.ticket_id).await
    }
);

fn participants_join() -> RelationDef {
    communication_contact::Entity::belongs_to(contact::Entity)
        .from(communication_contact::Column::ContactId)
        .to(contact::Column::Id)
        .into()
}

loader!(
    /// Contacts who took part in each communication.
    ParticipantsByCommunicationId, i64 => Vec<contact::Model>, |self, viewer, keys| {
        let rows = communication_contact::Entity::find()
            .join(JoinType::InnerJoin, participants_join())
            .select_also(contact::Entity)
            .filter(communication_contact::Column::CommunicationId.is_in(keys.iter().copied()))
            .filter(policy::visible_through(&viewer, contact::Column::CustomerId))
            .order_by_asc(contact::Column::Name)
            .all(&self.0.db)
            .await
            .map_err(|e| Arc::new(e.into()))?;
        let mut map: HashMap<i64, Vec<contact::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (link, contact) in rows {
            if let Some(contact) = contact {
                map.entry(link.communication_id).or_default().push(contact);
            }
        }
        Ok(map)
    }
);

loader!(
    /// The first N tickets of each customer that still need work, oldest first.
    OpenTicketsByCustomerId, LatestOf => Vec<ticket::Model>, |self, viewer, keys| {
        let select = |ids: Option<Vec<i64>>| {
            ticket::Entity::find()
                .filter(policy::visible_tickets(&viewer))
                .filter(ticket::Column::ArchivedAt.is_null())
                .filter(Expr::cust(OPEN_STATUS_CONDITION))
                .filter(among(ticket::Column::CustomerId, ids))
        };
        latest(&self.0.db, keys, select, ("customer_id", "created_at, id"), |t| t.customer_id).await
    }
);

loader!(
    /// The first N promises of each customer not yet kept, soonest due first.
    OpenCommitmentsByCustomerId, LatestOf => Vec<commitment::Model>, |self, viewer, keys| {
        let select = |ids: Option<Vec<i64>>| {
            commitment::Entity::find()
                .filter(policy::visible_through(&viewer, commitment::Column::CustomerId))
                .filter(commitment::Column::ArchivedAt.is_null())
                .filter(commitment::Column::FulfilledOn.is_null())
                .filter(among(commitment::Column::CustomerId, ids))
        };
        latest(&self.0.db, keys, select, ("customer_id", "due_on, id"), |c| c.customer_id).await
    }
);

loader!(
    /// A customer's partnership, if it has one.
    PartnershipByCustomerId, i64 => Option<partnership::Model>, |self, viewer, keys| {
        let select = partnership::Entity::find()
            .filter(policy::visible_through(&viewer, partnership::Column::CustomerId));
        let rows = by_ids(&self.0.db, select, partnership::Column::CustomerId, keys).await?;
        let mut map: HashMap<i64, Option<partnership::Model>> = keys.iter().map(|k| (*k, None)).collect();
        for row in rows {
            map.insert(row.customer_id, Some(row));
        }
        Ok(map)
    }
);

loader!(
    /// Account health computed now, for the whole page in one statement; only visible customers.
    HealthByCustomerId, i64 => Arc<AccountHealth>, |self, viewer, keys| {
        let now = crate::db::now();
        let facts = health_facts::load(&self.0.db, Some(&viewer), Customers::Ids(keys), now)
            .await
            .map_err(Arc::new)?;
        Ok(facts.iter().map(|f| (f.customer_id, Arc::new(assess(f, &self.0.health)))).collect())
    }
);

loader!(
    /// The ids other systems know customers by (the customers are visible: the parent field checked).
    ExternalIdsByCustomerId, i64 => Vec<external_ref::Model>, |self, viewer, keys| {
        let mut found = external::of_rows(&self.0.db, external::Kind::Customer, keys).await.map_err(Arc::new)?;
        Ok(keys.iter().map(|k| (*k, found.remove(k).unwrap_or_default())).collect())
    }
);

loader!(
    /// The ids other systems know contacts by (the contacts are visible: the parent field checked).
    ExternalIdsByContactId, i64 => Vec<external_ref::Model>, |self, viewer, keys| {
        let mut found = external::of_rows(&self.0.db, external::Kind::Contact, keys).await.map_err(Arc::new)?;
        Ok(keys.iter().map(|k| (*k, found.remove(k).unwrap_or_default())).collect())
    }
);

pub type Cached<L> = DataLoader<L, HashMapCache>;

fn cached<L: Send + Sync + 'static>(loader: L) -> Cached<L> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

/// The loaders of one request.
pub struct Loaders {
    pub user_by_id: Cached<UserById>,
    pub team_by_id: Cached<TeamById>,
    pub customer_by_id: Cached<CustomerById>,
    pub contact_by_id: Cached<ContactById>,
    pub ticket_by_id: Cached<TicketById>,
    pub contacts_by_customer_id: Cached<ContactsByCustomerId>,
    pub subsidiaries_by_parent_id: Cached<SubsidiariesByParentId>,
    pub ancestors_by_customer_id: Cached<AncestorsByCustomerId>,
    pub latest_communications_by_customer_id: Cached<LatestCommunicationsByCustomerId>,
    pub recent_events_by_ticket_id: Cached<RecentEventsByTicketId>,
    pub participants_by_communication_id: Cached<ParticipantsByCommunicationId>,
    pub open_tickets_by_customer_id: Cached<OpenTicketsByCustomerId>,
    pub open_commitments_by_customer_id: Cached<OpenCommitmentsByCustomerId>,
    pub partnership_by_customer_id: Cached<PartnershipByCustomerId>,
    pub health_by_customer_id: Cached<HealthByCustomerId>,
    pub external_ids_by_customer_id: Cached<ExternalIdsByCustomerId>,
    pub external_ids_by_contact_id: Cached<ExternalIdsByContactId>,
}

impl Loaders {
    pub fn new(services: &Services, viewer: LiveViewer) -> Self {
        let scope = Scope {
            db: services.db.clone(),
            viewer,
            exports: services.exports.clone(),
            users: services.users.clone(),
            health: *services.health.rules(),
        };
        macro_rules! make {
            ($t:ident) => {
                cached($t(scope.clone()))
            };
        }
        Self {
            user_by_id: make!(UserById),
            team_by_id: make!(TeamById),
            customer_by_id: make!(CustomerById),
            contact_by_id: make!(ContactById),
            ticket_by_id: make!(TicketById),
            contacts_by_customer_id: make!(ContactsByCustomerId),
            subsidiaries_by_parent_id: make!(SubsidiariesByParentId),
            ancestors_by_customer_id: make!(AncestorsByCustomerId),
            latest_communications_by_customer_id: make!(LatestCommunicationsByCustomerId),
            recent_events_by_ticket_id: make!(RecentEventsByTicketId),
            participants_by_communication_id: make!(ParticipantsByCommunicationId),
            open_tickets_by_customer_id: make!(OpenTicketsByCustomerId),
            open_commitments_by_customer_id: make!(OpenCommitmentsByCustomerId),
            partnership_by_customer_id: make!(PartnershipByCustomerId),
            external_ids_by_customer_id: make!(ExternalIdsByCustomerId),
            external_ids_by_contact_id: make!(ExternalIdsByContactId),
            health_by_customer_id: make!(HealthByCustomerId),
        }
    }
}

impl Loaders {
    /// Turns every cache off (loaders still batch).
    pub fn disable_caches(&self) {
        self.user_by_id.enable_all_cache(false);
        self.team_by_id.enable_all_cache(false);
        self.customer_by_id.enable_all_cache(false);
        self.contact_by_id.enable_all_cache(false);
        self.ticket_by_id.enable_all_cache(false);
        self.contacts_by_customer_id.enable_all_cache(false);
        self.subsidiaries_by_parent_id.enable_all_cache(false);
        self.ancestors_by_customer_id.enable_all_cache(false);
        self.latest_communications_by_customer_id.enable_all_cache(false);
        self.recent_events_by_ticket_id.enable_all_cache(false);
        self.participants_by_communication_id.enable_all_cache(false);
        self.open_tickets_by_customer_id.enable_all_cache(false);
        self.open_commitments_by_customer_id.enable_all_cache(false);
        self.partnership_by_customer_id.enable_all_cache(false);
        self.health_by_customer_id.enable_all_cache(false);
    }
}

/// The rows of one page, shared by their wrappers, so the first resolver of a
/// relation loads it for the whole page in one batch and the others hit the cache.
pub struct Siblings<M> {
    pub rows: Vec<M>,
    /// Per relation: a cell initialised once, holding what the children share.
    primed: Mutex<HashMap<&'static str, Arc<dyn Any + Send + Sync>>>,
}

impl<M> Siblings<M> {
    pub fn new(rows: Vec<M>) -> Arc<Self> {
        Arc::new(Self { rows, primed: Mutex::new(HashMap::new()) })
    }

    fn cell<T: Send + Sync + 'static>(&self, relation: &'static str) -> Arc<OnceCell<T>> {
        let mut primed = self.primed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = primed.entry(relation).or_insert_with(|| Arc::new(OnceCell::<T>::new()));
        // A relation name is always used with the same type; a mismatch only loses priming.
        entry.clone().downcast::<OnceCell<T>>().unwrap_or_else(|_| Arc::new(OnceCell::new()))
    }
}

/// The distinct keys of a page, for one batch.
fn distinct<K: Hash + Eq + Clone>(keys: Vec<K>) -> Vec<K> {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.into_iter().filter(|k| seen.insert(k.clone())).collect()
}

/// One row by key, straight from the loader's batch function (one statement,
/// no batching window): for a lookup that is alone in its request, such as a
/// root `customer(id:)`.
pub async fn fetch_one<L, K>(loader: &Cached<L>, key: K) -> AppResult<Option<L::Value>>
where
    L: Loader<K, Error = LoadError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    let mut rows = loader.loader().load(std::slice::from_ref(&key)).await.map_err(load_error)?;
    Ok(rows.remove(&key))
}

/// Loads `key` through `loader`. A row that came from a list loads the keys
/// of every sibling row at once, with one call of the loader's batch function
/// for the whole page and relation; the other rows of the page read the result.
///
/// The future is boxed: a resolver's future is as large as the largest of its
/// fields', and async-graphql allocates and moves one per resolved field, so
/// a loading field must not make every plain field's future that large.
pub fn load<'a, M, L, K>(
    siblings: Option<&'a Siblings<M>>,
    relation: &'static str,
    loader: &'a Cached<L>,
    keys_of: impl FnOnce(&[M]) -> Vec<K> + Send + 'a,
    key: K,
) -> BoxFuture<'a, AppResult<Option<L::Value>>>
where
    M: Send + Sync,
    L: Loader<K, Error = LoadError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    Box::pin(async move {
        let Some(siblings) = siblings else {
            return loader.load_one(key).await.map_err(load_error);
        };
        let loaded = siblings
            .cell::<HashMap<K, L::Value>>(relation)
            .get_or_try_init(|| async { loader.loader().load(&distinct(keys_of(&siblings.rows))).await })
            .await
            .map_err(load_error)?
            .get(&key)
            .cloned();
        Ok(loaded)
    })
}

/// The children of one parent, with every parent's children on the page as
/// their siblings.
pub type ListLoad<C> = (Vec<C>, Arc<Siblings<C>>);

/// Like [`load`] for a to-many relation. The children of the whole page become
/// siblings of each other, so their own relations are loaded page-wide too.
pub fn load_list<'a, M, L, K, C>(
    siblings: Option<&'a Siblings<M>>,
    relation: &'static str,
    loader: &'a Cached<L>,
    keys_of: impl FnOnce(&[M]) -> Vec<K> + Send + 'a,
    key: K,
) -> BoxFuture<'a, AppResult<ListLoad<C>>>
where
    M: Send + Sync,
    L: Loader<K, Value = Vec<C>, Error = LoadError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
    C: Clone + Send + Sync + 'static,
{
    Box::pin(async move {
        let Some(siblings) = siblings else {
            let rows = loader.load_one(key).await.map_err(load_error)?.unwrap_or_default();
            return Ok((rows.clone(), Siblings::new(rows)));
        };
        let cell = siblings.cell::<(HashMap<K, Vec<C>>, Arc<Siblings<C>>)>(relation);
        let (by_parent, children) = cell
            .get_or_try_init(|| async {
                let by_parent = loader.loader().load(&distinct(keys_of(&siblings.rows))).await?;
                let children = Siblings::new(by_parent.values().flatten().cloned().collect());
                Ok::<_, LoadError>((by_parent, children))
            })
            .await
            .map_err(load_error)?;
        Ok((by_parent.get(&key).cloned().unwrap_or_default(), children.clone()))
    })
}

/// Wraps the rows of a page, giving each wrapper the shared siblings.
pub fn wrap_page<M: Clone, N>(rows: Vec<M>, wrap: impl Fn(M, Arc<Siblings<M>>) -> N) -> Vec<N> {
    let siblings = Siblings::new(rows.clone());
    attach(rows, &siblings, wrap)
}

/// Wraps rows that share already-built siblings (the children of a whole page).
pub fn attach<M, N>(rows: Vec<M>, siblings: &Arc<Siblings<M>>, wrap: impl Fn(M, Arc<Siblings<M>>) -> N) -> Vec<N> {
    rows.into_iter().map(|row| wrap(row, siblings.clone())).collect()
}

/// A GraphQL wrapper of a row that may belong to a page: `one` for a single row,
/// `page` for a list (its rows become siblings), `shared` for the children of a
/// whole page (siblings already built by [`load_list`]).
macro_rules! listed {
    ($(#[$meta:meta])* $name:ident, $model:ty) => {
        $(#[$meta])*
        pub struct $name {
            pub model: $model,
            pub siblings: Option<std::sync::Arc<$crate::graphql::loaders::Siblings<$model>>>,
        }

        impl $name {
            pub fn one(model: $model) -> Self {
                Self { model, siblings: None }
            }

            pub fn page(rows: Vec<$model>) -> Vec<Self> {
                $crate::graphql::loaders::wrap_page(rows, |model, siblings| Self { model, siblings: Some(siblings) })
            }

            pub fn shared(
                rows: Vec<$model>,
                siblings: &std::sync::Arc<$crate::graphql::loaders::Siblings<$model>>,
            ) -> Vec<Self> {
                $crate::graphql::loaders::attach(rows, siblings, |model, siblings| Self { model, siblings: Some(siblings) })
            }
        }
    };
}
pub(crate) use listed;
