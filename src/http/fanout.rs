//! Shared execution of subscriptions. Subscribers of the same document,
//! operation and variables whose viewers see exactly the same data (the same
//! [`policy::visibility_class`]) share one execution per event: the first of
//! them to reach an event runs the subscription for it and serialises the
//! result once; the others wait for that result and write it to their
//! sockets. Thousands of people watching one ticket cost one execution per
//! change, not thousands.
//!
//! Each subscriber still reads the feed itself, in order, and re-checks its
//! own viewer before every event, so a subscriber whose class changes (a new
//! role, team or scope set) simply takes its next result from the executions
//! of its new class, without missing an event; a subscriber whose session
//! ended gets nothing more.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use async_graphql::{Request, parser::types::ExecutableDocument};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::{
    auth::LiveViewer,
    feed::TicketChange,
    graphql::{
        support::{
            context::RequestContext,
            errors::{finish, is_request_error},
            order,
        },
        tickets::live::OneChange,
    },
    http::AppState,
    policy,
    policy::Viewer,
};

/// Results kept per subscription: subscribers a little behind the others
/// still find theirs; one further behind runs its own execution.
const RECENT_RESULTS: usize = 64;

/// What makes two subscriptions the same: the request as sent, and who may see what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub query: String,
    pub operation_name: Option<String>,
    /// The variables as JSON.
    pub variables: String,
    pub class: String,
}

impl GroupKey {
    /// The key of a subscription for `viewer`. A subscription that sets an
    /// argument whose meaning depends on who asks (`assignedToMe`, by the
    /// schema's list `VIEWER_DEPENDENT_ARGUMENTS`, with its variables
    /// resolved) is shared only by that user.
    pub fn new(
        query: &str,
        operation_name: Option<&str>,
        variables: &serde_json::Value,
        personal: bool,
        viewer: &Viewer,
    ) -> Self {
        let mut class = policy::visibility_class(viewer);
        if personal {
            class = format!("{class}/user:{}", viewer.user_id);
        }
        Self {
            query: query.to_owned(),
            operation_name: operation_name.map(str::to_owned),
            variables: variables.to_string(),
            class,
        }
    }
}

/// The serialised response for one change (`{"data": ...}`, maybe with
/// `errors`), or `None` when the change is not for this subscription.
pub type Payload = Option<Arc<str>>;

/// How a subscription went when it started.
pub enum Start {
    /// It runs; the changes to come will tell.
    Running,
    /// Validation failed, nothing ran: the errors, as JSON.
    Refused(serde_json::Value),
    /// Its checks failed (NOT_FOUND, FORBIDDEN...): the response, as JSON; it is over.
    Failed(serde_json::Value),
}

/// The results of one distinct subscription, shared by its subscribers.
#[derive(Default)]
pub struct Group {
    recent: Mutex<VecDeque<(i64, Arc<OnceCell<Payload>>)>>,
}

/// The subscriptions of this process: each distinct one with its subscriber count.
#[derive(Default)]
pub struct Fanout {
    groups: Mutex<HashMap<GroupKey, (usize, Arc<Group>)>>,
    executions: AtomicU64,
}

/// A subscription as a client asked for it.
#[derive(Clone)]
pub struct Subscription {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: serde_json::Value,
    /// It sets an argument whose results depend on who asks: never shared with another user.
    pub personal: bool,
}

impl Subscription {
    /// A subscription of the parsed `doc`; whether it is personal is read from
    /// its resolved arguments once, here.
    pub fn new(
        query: String,
        doc: &ExecutableDocument,
        operation_name: Option<String>,
        variables: serde_json::Value,
    ) -> Self {
        let resolved = if variables.is_null() {
            async_graphql::Variables::default()
        } else {
            async_graphql::Variables::from_json(variables.clone())
        };
        let personal = crate::graphql::support::limits::sets_viewer_dependent_argument(
            doc,
            operation_name.as_deref(),
            &resolved,
            crate::graphql::tickets::live::VIEWER_DEPENDENT_ARGUMENTS,
        );
        Self { query, operation_name, variables, personal }
    }

    pub fn key(&self, viewer: &Viewer) -> GroupKey {
        GroupKey::new(&self.query, self.operation_name.as_deref(), &self.variables, self.personal, viewer)
    }

    /// Runs the subscription as `viewer` for `change` (or, with `None`, only
    /// its checks), and returns the first response, finished and in order.
    async fn execute(
        &self,
        state: &AppState,
        viewer: Viewer,
        change: Option<Arc<TicketChange>>,
    ) -> Option<async_graphql::Response> {
        let variables = if self.variables.is_null() {
            async_graphql::Variables::default()
        } else {
            async_graphql::Variables::from_json(self.variables.clone())
        };
        let context = RequestContext::for_subscriptions(&state.services, LiveViewer::new(viewer));
        let hidden = context.hidden_log();
        let mut request = Request::new(self.query.clone()).variables(variables).data(context).data(OneChange(change));
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name);
        }
        // The document passed the checks when the subscriber subscribed; this copy comes from the cache.
        let doc = state.documents.prepare(&self.query, &state.config().limits).ok();
        if let Some(doc) = &doc {
            request.set_parsed_query(ExecutableDocument::clone(doc));
        }
        let mut response = hidden.finish(finish(state.schema.execute_stream(request).next().await?));
        if let Some(doc) = &doc {
            order::reorder(&mut response.data, doc, self.operation_name.as_deref());
        }
        Some(response)
    }

    /// Runs the subscription's checks for a new subscriber.
    pub async fn start(&self, state: &AppState, viewer: Viewer) -> Start {
        match self.execute(state, viewer, None).await {
            None => Start::Running,
            Some(response) if is_request_error(&response) => {
                Start::Refused(serde_json::to_value(&response.errors).unwrap_or_default())
            }
            Some(response) => Start::Failed(serde_json::to_value(&response).unwrap_or_default()),
        }
    }
}

impl Fanout {
    /// Executions for changes so far (one per distinct subscription per change).
    pub fn executions(&self) -> u64 {
        self.executions.load(Ordering::Relaxed)
    }

    /// Distinct subscriptions with subscribers now.
    pub fn groups(&self) -> usize {
        self.groups.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Counts a subscriber of `key` (see [`Fanout::leave`]) and returns the
    /// group it shares results with.
    pub fn join(&self, key: &GroupKey) -> Arc<Group> {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let (members, group) = groups.entry(key.clone()).or_default();
        *members += 1;
        group.clone()
    }

    /// A subscriber of `key` is gone; the last one takes the results with it.
    pub fn leave(&self, key: &GroupKey) {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((members, _)) = groups.get_mut(key) {
            *members = members.saturating_sub(1);
            if *members == 0 {
                groups.remove(key);
            }
        }
    }

    /// The result of `subscription` for `change` as seen by the viewers of
    /// `group`: computed by the first subscriber that asks, shared with the rest.
    pub async fn result(
        &self,
        state: &AppState,
        group: &Group,
        subscription: &Subscription,
        viewer: &Viewer,
        change: &Arc<TicketChange>,
    ) -> Payload {
        let event = change.event.id;
        let cell = {
            let mut recent = group.recent.lock().unwrap_or_else(|p| p.into_inner());
            // Subscribers ask in feed order, so the newest entries are the likely hits.
            match recent.iter().rev().find(|(id, _)| *id == event) {
                Some((_, cell)) => cell.clone(),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    if recent.len() >= RECENT_RESULTS {
                        recent.pop_front();
                    }
                    recent.push_back((event, cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_init(|| async {
            self.executions.fetch_add(1, Ordering::Relaxed);
            let response = subscription.execute(state, viewer.clone(), Some(change.clone())).await?;
            match serde_json::to_string(&response) {
                Ok(payload) => Some(payload.into()),
                Err(err) => {
                    tracing::error!(error = %err, "serialising a subscription response failed");
                    None
                }
            }
        })
        .await
        .clone()
    }
}
