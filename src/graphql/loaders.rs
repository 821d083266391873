//! One DataLoader per relation, made on a request's first use of it from
//! (services, viewer):
//! each batches its relation's read in `crate::service::relations`, which
//! scopes it by the policy. Lists prime their loaders with the whole page's
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
    commitment, communication, contact, customer, external_ref, partnership, task, team, ticket, ticket_event, user,
};
use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

pub use crate::service::relations::LatestOf;
use crate::{
    analytics::health::AccountHealth,
    auth::LiveViewer,
    error::{AppError, AppResult},
    service::{Services, custom_fields::FieldValue, relations},
};

/// Loader errors must be cloneable; each waiting field gets the batch's own
/// error back (so an outage still answers SERVICE_UNAVAILABLE, and an internal
/// error keeps its logged cause).
pub type LoadError = Arc<AppError>;

pub fn load_error(err: LoadError) -> AppError {
    Arc::unwrap_or_clone(err)
}

/// Everything a loader needs: the services and the viewer as they are at
/// the time of the batch (a WebSocket connection's viewer can change).
#[derive(Clone)]
pub struct Scope {
    services: Services,
    viewer: LiveViewer,
}

pub type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request, from one list: each is a batch of its
/// relation in `crate::service::relations`, named by the request's field.
macro_rules! loaders {
    ($($(#[$meta:meta])* $field:ident: $name:ident($key:ty => $value:ty) = $batch:path;)*) => {
        $(
            $(#[$meta])*
            pub struct $name(Scope);

            impl Loader<$key> for $name {
                type Value = $value;
                type Error = LoadError;

                async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, LoadError> {
                    let viewer = self.0.viewer.get();
                    $batch(&self.0.services, &viewer, keys).await.map_err(Arc::new)
                }
            }
        )*

        /// The loaders of one request, each made when the request first uses
        /// it: most requests use one or two of them, and a loader costs a few
        /// allocations to make.
        pub struct Loaders {
            scope: Scope,
            /// Cleared for long-lived requests (subscriptions): loaders made from then on do not cache.
            caches: std::sync::atomic::AtomicBool,
            $($field: std::sync::OnceLock<Cached<$name>>,)*
        }

        impl Loaders {
            pub fn new(services: &Services, viewer: LiveViewer) -> Self {
                Self {
                    scope: Scope { services: services.clone(), viewer },
                    caches: std::sync::atomic::AtomicBool::new(true),
                    $($field: std::sync::OnceLock::new(),)*
                }
            }

            $(
                $(#[$meta])*
                pub fn $field(&self) -> &Cached<$name> {
                    self.$field.get_or_init(|| {
                        let loader = DataLoader::with_cache($name(self.scope.clone()), tokio::spawn, HashMapCache::default());
                        if !self.caches.load(std::sync::atomic::Ordering::Relaxed) {
                            loader.enable_all_cache(false);
                        }
                        loader
                    })
                }
            )*

            /// Turns every cache off (loaders still batch). Called before the
            /// request runs (a subscription's), so no loader is being made meanwhile.
            pub fn disable_caches(&self) {
                self.caches.store(false, std::sync::atomic::Ordering::Relaxed);
                $(if let Some(loader) = self.$field.get() {
                    loader.enable_all_cache(false);
                })*
            }
        }
    };
}

loaders! {
    /// Users by id (names are not customer data; details follow the field rule).
    user_by_id: UserById(i64 => user::Model) = relations::users;
    /// Teams by id.
    team_by_id: TeamById(i64 => team::Model) = relations::teams;
    /// Visible customers by id.
    customer_by_id: CustomerById(i64 => customer::Model) = relations::customers;
    /// Contacts of visible customers by id.
    contact_by_id: ContactById(i64 => contact::Model) = relations::contacts;
    /// Visible tickets by id.
    ticket_by_id: TicketById(i64 => ticket::Model) = relations::tickets;
    /// The first N current contacts of each customer.
    contacts_by_customer_id: ContactsByCustomerId(LatestOf => Vec<contact::Model>) = relations::contacts_of;
    /// The first N subsidiaries of each customer.
    subsidiaries_by_parent_id: SubsidiariesByParentId(LatestOf => Vec<customer::Model>) = relations::subsidiaries;
    /// The visible groups above each customer, nearest first.
    ancestors_by_customer_id: AncestorsByCustomerId(i64 => Vec<customer::Model>) = relations::ancestors;
    /// The N most recent communications of each customer.
    latest_communications_by_customer_id: LatestCommunicationsByCustomerId(LatestOf => Vec<communication::Model>) =
        relations::latest_communications;
    /// The N most recent history entries of each ticket.
    recent_events_by_ticket_id: RecentEventsByTicketId(LatestOf => Vec<ticket_event::Model>) = relations::recent_events;
    /// The contacts who took part in each communication.
    participants_by_communication_id: ParticipantsByCommunicationId(i64 => Vec<contact::Model>) =
        relations::participants;
    /// The first N open tickets of each customer.
    open_tickets_by_customer_id: OpenTicketsByCustomerId(LatestOf => Vec<ticket::Model>) = relations::open_tickets;
    /// The first N open commitments of each customer.
    open_commitments_by_customer_id: OpenCommitmentsByCustomerId(LatestOf => Vec<commitment::Model>) =
        relations::open_commitments;
    /// The first N open tasks of each customer.
    open_tasks_by_customer_id: OpenTasksByCustomerId(LatestOf => Vec<task::Model>) = relations::open_tasks;
    /// The custom field values of each customer.
    custom_fields_by_customer_id: CustomFieldsByCustomerId(i64 => Vec<FieldValue>) = relations::customer_custom_fields;
    /// The custom field values of each contact.
    custom_fields_by_contact_id: CustomFieldsByContactId(i64 => Vec<FieldValue>) = relations::contact_custom_fields;
    /// The custom field values of each ticket.
    custom_fields_by_ticket_id: CustomFieldsByTicketId(i64 => Vec<FieldValue>) = relations::ticket_custom_fields;
    /// Each customer's partnership, if any.
    partnership_by_customer_id: PartnershipByCustomerId(i64 => Option<partnership::Model>) = relations::partnerships;
    /// The figures of each customer's group (its top visible ancestor and everything under it).
    group_by_customer_id: GroupByCustomerId(i64 => Arc<crate::analytics::groups::GroupFigures>) = relations::groups;
    /// Each customer's health history over a range of days.
    health_history_by_customer: HealthHistoryByCustomer(crate::analytics::health_history::HistoryOf => Vec<crate::analytics::health_history::Point>) =
        relations::health_history;
    /// Each customer's health a month ago.
    health_a_month_ago_by_customer_id: HealthAMonthAgoByCustomerId(i64 => crate::analytics::health_history::Point) =
        relations::health_a_month_ago;
    /// Each customer's account health, computed now.
    health_by_customer_id: HealthByCustomerId(i64 => Arc<AccountHealth>) = relations::health;
    /// The ids other systems know each customer by.
    external_ids_by_customer_id: ExternalIdsByCustomerId(i64 => Vec<external_ref::Model>) =
        relations::customer_external_ids;
    /// The ids other systems know each contact by.
    external_ids_by_contact_id: ExternalIdsByContactId(i64 => Vec<external_ref::Model>) =
        relations::contact_external_ids;
}

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

/// The rows of one page, shared by their wrappers, so the first resolver of a
/// relation loads it for the whole page in one batch and the others hit the cache.
/// Each row is kept once: the wrappers and the page hold the same `Arc`.
pub struct Siblings<M> {
    pub rows: Vec<Arc<M>>,
    /// Per relation: a cell initialised once, holding what the children share.
    primed: Mutex<HashMap<&'static str, Arc<dyn Any + Send + Sync>>>,
}

impl<M> Siblings<M> {
    pub fn new(rows: Vec<Arc<M>>) -> Arc<Self> {
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
    keys_of: impl FnOnce(&[Arc<M>]) -> Vec<K> + Send + 'a,
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
pub type ListLoad<C> = (Vec<Arc<C>>, Arc<Siblings<C>>);

/// Like [`load`] for a to-many relation. The children of the whole page become
/// siblings of each other, so their own relations are loaded page-wide too.
pub fn load_list<'a, M, L, K, C>(
    siblings: Option<&'a Siblings<M>>,
    relation: &'static str,
    loader: &'a Cached<L>,
    keys_of: impl FnOnce(&[Arc<M>]) -> Vec<K> + Send + 'a,
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
            return Ok(alone(loader.load_one(key).await.map_err(load_error)?.unwrap_or_default()));
        };
        // Every child is kept once, in the siblings; each parent knows where its children are.
        let cell = siblings.cell::<(HashMap<K, std::ops::Range<usize>>, Arc<Siblings<C>>)>(relation);
        let (by_parent, children) = cell
            .get_or_try_init(|| async {
                let asked = distinct(keys_of(&siblings.rows));
                let loaded = loader.loader().load(&asked).await?;
                let mut rows = Vec::with_capacity(loaded.values().map(Vec::len).sum());
                let mut by_parent = HashMap::with_capacity(asked.len());
                for (parent, children) in loaded {
                    let start = rows.len();
                    rows.extend(children.into_iter().map(Arc::new));
                    by_parent.insert(parent, start..rows.len());
                }
                // A key the batch was asked for and left out has no children: it must not load again.
                for parent in asked {
                    by_parent.entry(parent).or_insert(0..0);
                }
                Ok::<_, LoadError>((by_parent, Siblings::new(rows)))
            })
            .await
            .map_err(load_error)?;
        match by_parent.get(&key) {
            Some(range) => Ok((children.rows[range.clone()].to_vec(), children.clone())),
            // A key the page's batch was not asked for (the same list asked twice with a different
            // `first`): its own batch, through the loader, for every parent asking it.
            None => Ok(alone(loader.load_one(key).await.map_err(load_error)?.unwrap_or_default())),
        }
    })
}

/// Children loaded on their own (not from a page): siblings of each other only.
fn alone<C>(rows: Vec<C>) -> ListLoad<C> {
    let rows: Vec<Arc<C>> = rows.into_iter().map(Arc::new).collect();
    (rows.clone(), Siblings::new(rows))
}

/// Wraps the rows of a page, giving each wrapper the shared siblings.
pub fn wrap_page<M, N>(rows: Vec<M>, wrap: impl Fn(Arc<M>, Arc<Siblings<M>>) -> N) -> Vec<N> {
    let rows: Vec<Arc<M>> = rows.into_iter().map(Arc::new).collect();
    let siblings = Siblings::new(rows.clone());
    attach(rows, &siblings, wrap)
}

/// Wraps rows that share already-built siblings (the children of a whole page).
pub fn attach<M, N>(
    rows: Vec<Arc<M>>,
    siblings: &Arc<Siblings<M>>,
    wrap: impl Fn(Arc<M>, Arc<Siblings<M>>) -> N,
) -> Vec<N> {
    rows.into_iter().map(|row| wrap(row, siblings.clone())).collect()
}

/// A GraphQL wrapper of a row that may belong to a page: `one` for a single row,
/// `page` for a list (its rows become siblings), `shared` for the children of a
/// whole page (siblings already built by [`load_list`]).
macro_rules! listed {
    ($(#[$meta:meta])* $name:ident, $model:ty) => {
        $(#[$meta])*
        pub struct $name {
            /// The row, shared with the page it came from (no copy per wrapper).
            pub model: std::sync::Arc<$model>,
            pub siblings: Option<std::sync::Arc<$crate::graphql::loaders::Siblings<$model>>>,
        }

        impl $name {
            pub fn one(model: impl Into<std::sync::Arc<$model>>) -> Self {
                Self { model: model.into(), siblings: None }
            }

            pub fn page(rows: Vec<$model>) -> Vec<Self> {
                $crate::graphql::loaders::wrap_page(rows, |model, siblings| Self { model, siblings: Some(siblings) })
            }

            pub fn shared(
                rows: Vec<std::sync::Arc<$model>>,
                siblings: &std::sync::Arc<$crate::graphql::loaders::Siblings<$model>>,
            ) -> Vec<Self> {
                $crate::graphql::loaders::attach(rows, siblings, |model, siblings| Self { model, siblings: Some(siblings) })
            }
        }
    };
}
pub(crate) use listed;
