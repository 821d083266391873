//! Per-request data: the viewer, the services and the request's loaders. The
//! transport builds one [`RequestContext`] per HTTP request or WebSocket
//! operation; the schema never sees the transport's state.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{
    analytics::timeline::{ReadAhead, Window},
    auth::LiveViewer,
    graphql::loaders::Loaders,
    policy::{SensitiveField, Viewer},
    service::Services,
};

/// Everything a resolver needs, built once per request (or per WebSocket operation).
pub struct RequestContext {
    pub db: DatabaseConnection,
    pub services: Services,
    pub loaders: Loaders,
    viewer: LiveViewer,
    hidden: HiddenLog,
    /// Timeline pages read with their customer, for the `timeline` fields to take.
    timelines: Mutex<Vec<ReadAhead>>,
}

/// The fields a response answered null because the viewer may not read them,
/// as schema coordinates (`Customer.grossProfitLast12Months`). The transport
/// keeps a handle and lists them in the response's `extensions.hiddenFields`.
#[derive(Clone, Default)]
pub struct HiddenLog(Arc<Mutex<BTreeSet<&'static str>>>);

impl HiddenLog {
    pub fn note(&self, coordinate: &'static str) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(coordinate);
    }

    /// The coordinates noted since the last call, sorted (a subscription
    /// lists per event what that event hid).
    pub fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_iter().collect()
    }

    /// Adds `extensions.hiddenFields` to `response` when it hid anything.
    pub fn finish(&self, mut response: async_graphql::Response) -> async_graphql::Response {
        let hidden = self.take();
        if !hidden.is_empty() {
            let list = hidden.into_iter().map(|c| async_graphql::Value::String(c.to_owned())).collect();
            response.extensions.insert("hiddenFields".to_owned(), async_graphql::Value::List(list));
        }
        response
    }
}

impl RequestContext {
    pub fn new(services: &Services, viewer: LiveViewer) -> Self {
        Self {
            db: services.db.clone(),
            loaders: Loaders::new(services, viewer.clone()),
            services: services.clone(),
            viewer,
            hidden: HiddenLog::default(),
            timelines: Mutex::new(Vec::new()),
        }
    }

    /// The log of fields hidden from this request, for the transport.
    pub fn hidden_log(&self) -> HiddenLog {
        self.hidden.clone()
    }

    /// `value` when the viewer may read `field`; otherwise `None`, noted as
    /// hidden under `coordinate` (the schema's `Type.field`).
    pub fn sensitive<T>(&self, field: SensitiveField, coordinate: &'static str, value: T) -> Option<T> {
        if self.viewer().may_read(field) {
            return Some(value);
        }
        self.hidden.note(coordinate);
        None
    }

    /// Whether the viewer may read `field`; a `false` is noted as hidden under `coordinate`.
    pub fn may_read(&self, field: SensitiveField, coordinate: &'static str) -> bool {
        self.sensitive(field, coordinate, ()).is_some()
    }

    /// Keeps a timeline page read ahead with its customer.
    pub fn keep_timeline(&self, page: ReadAhead) {
        self.timelines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(page);
    }

    /// The page read ahead for exactly this customer, window and size, once.
    pub fn take_timeline(&self, customer_id: i64, window: &Window, first: u64) -> Option<ReadAhead> {
        let mut kept = self.timelines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = kept.iter().position(|p| p.customer_id == customer_id && p.first == first && p.window == *window)?;
        Some(kept.swap_remove(at))
    }

    /// For a subscription, which lives long: loaders batch but do not cache,
    /// so every event shows current data.
    pub fn for_subscriptions(services: &Services, viewer: LiveViewer) -> Self {
        let context = Self::new(services, viewer);
        context.loaders.disable_caches();
        context
    }

    /// The viewer as they are now.
    pub fn viewer(&self) -> Arc<Viewer> {
        self.viewer.get()
    }

    /// The viewer handle itself, for streams that re-check it per event.
    pub fn live_viewer(&self) -> &LiveViewer {
        &self.viewer
    }
}

/// Who is calling, from the transport: the client address (only trusted
/// proxies may set it with `X-Forwarded-For`) and a description for the
/// audit trail.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub description: Option<String>,
}

/// The request context; the transport always provides it for signed-in
/// requests, so its absence is a bug (INTERNAL_SERVER_ERROR).
pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    ctx.data::<RequestContext>()
}

/// The services, for the operations that run without a signed-in viewer.
pub fn services<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Services> {
    ctx.data::<Services>()
}
