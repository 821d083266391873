//! GraphQL over WebSocket at `/graphql/ws`: the `graphql-transport-ws`
//! protocol, and the legacy `graphql-ws` (subscriptions-transport-ws) one.
//!
//! The protocol is served here rather than by async-graphql's handler because
//! a connection must not outlive its user: the viewer named by
//! `connection_init` is re-read for every operation started, and before every
//! event when the feed announced a change of that user. A deactivated user's
//! connection is closed with 4403 (on every instance, within moments of the
//! deactivation), an expired token's with 4401; a role, team or scope change
//! applies to the next event. Every operation obeys what HTTP requests obey:
//! the per-user rate limit, depth, complexity and alias limits, one operation.
//!
//! Protocol errors close the connection: 4408 when no `connection_init`
//! arrives in time, 4403 when its token is refused, 4401 on `subscribe` before
//! it, 4409 on a duplicate operation id, 4400 on an invalid message, 4429 on a
//! second `connection_init`. A connection silent for longer than
//! `RAPPORT_WS_IDLE_TIMEOUT_SECONDS` is closed (1000); clients `ping`.
//!
//! Each connection writes through a bounded buffer; an operation that cannot
//! send stops reading the feed, and once too far behind its subscription ends
//! with SUBSCRIPTION_LAGGED, without slowing anyone else.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_graphql::{
    Response, Variables,
    parser::types::{ExecutableDocument, OperationType},
};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{Extensions, HeaderMap},
    response::Response as HttpResponse,
};
use futures_channel::mpsc;
use futures_util::{
    SinkExt, StreamExt,
    stream::{SplitSink, SplitStream},
};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use tokio::sync::broadcast::error::RecvError;

use crate::{
    auth::{LiveViewer, viewer::Ended},
    error::codes,
    feed::UserChange,
    graphql::support::{
        context::{ClientInfo, RequestContext},
        errors::{finish, is_request_error, request_error},
        limits::{check_variables, selects_root_field},
    },
    graphql::tasks,
    http::AppState,
    http::fanout::{Fanout, Group, GroupKey, Start, Subscription},
};

/// Messages waiting to be written to one client.
const OUTBOX: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws`.
    Transport,
    /// `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

impl Protocol {
    fn data(self) -> &'static str {
        match self {
            Self::Transport => "next",
            Self::Legacy => "data",
        }
    }
}

/// The subprotocol to speak: the client's first supported one.
fn protocol(headers: &HeaderMap) -> Protocol {
    headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',').find_map(|p| match p.trim() {
                "graphql-transport-ws" => Some(Protocol::Transport),
                "graphql-ws" => Some(Protocol::Legacy),
                _ => None,
            })
        })
        .unwrap_or(Protocol::Transport)
}

/// `GET /graphql/ws`. An upgrade that offers neither subprotocol is refused
/// with 400 (async-graphql-axum's `GraphQLProtocol` extractor decides).
pub async fn upgrade(
    State(state): State<AppState>,
    _offered: async_graphql_axum::GraphQLProtocol,
    headers: HeaderMap,
    extensions: Extensions,
    ws: WebSocketUpgrade,
) -> HttpResponse {
    let protocol = protocol(&headers);
    let client = crate::http::client_info(state.config(), &extensions, &headers);
    // Counted from the handshake (while the HTTP server still tracks the
    // connection) until the close frame is flushed: a shutdown waits for it.
    let counted = state.shutdown.socket_opened();
    // Small buffers: thousands of mostly idle subscribers each hold one.
    ws.protocols(["graphql-transport-ws", "graphql-ws"])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(socket, state, protocol, client, counted))
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

fn text(value: &Value) -> Message {
    Message::Text(value.to_string().into())
}

/// One connection: its session once initialised, and its running operations.
struct Connection {
    state: AppState,
    protocol: Protocol,
    client: ClientInfo,
    outbox: mpsc::Sender<Message>,
    viewer: Option<LiveViewer>,
    operations: HashMap<String, JoinHandle<()>>,
    /// Operations that finished on their own report their id here.
    finished: tokio::sync::mpsc::UnboundedSender<String>,
}

/// What to do after a client message.
enum Next {
    Continue,
    Close(u16, String),
}

impl Connection {
    fn violation(&self, code: u16, reason: &str) -> Next {
        Next::Close(code, reason.to_owned())
    }

    async fn send(&mut self, message: Message) {
        let _ = self.outbox.send(message).await;
    }

    async fn handle(&mut self, raw: &str) -> Next {
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(raw) else {
            return self.violation(4400, "Invalid message");
        };
        let kind = message.get("type").and_then(Value::as_str).unwrap_or_default();
        let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
        match (self.protocol, kind) {
            (_, "connection_init") if self.viewer.is_some() => self.violation(4429, "Too many initialisation requests"),
            (_, "connection_init") => self.init(message.get("payload")).await,
            (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => {
                if self.viewer.is_none() {
                    return self.violation(4401, "Unauthorized");
                }
                let Some(id) = id.filter(|id| !id.is_empty()) else {
                    return self.violation(4400, "Invalid message: no id");
                };
                let Some(payload) = message.get("payload").and_then(Value::as_object) else {
                    return self.violation(4400, "Invalid message: no payload");
                };
                let Some(query) = payload.get("query").and_then(Value::as_str) else {
                    return self.violation(4400, "Invalid message: no query");
                };
                if self.operations.contains_key(&id) {
                    return self.violation(4409, &format!("Subscriber for {} already exists", truncate(&id)));
                }
                let variables = payload.get("variables").cloned().unwrap_or(Value::Null);
                let name = payload.get("operationName").and_then(Value::as_str).map(str::to_owned);
                self.start(id, query, variables, name).await
            }
            (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
                if let Some(handle) = id.and_then(|id| self.operations.remove(&id)) {
                    handle.abort();
                }
                Next::Continue
            }
            (Protocol::Transport, "ping") => {
                self.send(text(&json!({"type": "pong"}))).await;
                Next::Continue
            }
            (Protocol::Transport, "pong") => Next::Continue,
            (Protocol::Legacy, "connection_terminate") => Next::Close(1000, String::new()),
            _ => self.violation(4400, "Invalid message type"),
        }
    }

    /// Authenticates `connection_init`: `{"Authorization": "Bearer <token>"}`.
    async fn init(&mut self, payload: Option<&Value>) -> Next {
        let header = payload
            .and_then(Value::as_object)
            .and_then(|p| p.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")))
            .and_then(|(_, v)| v.as_str());
        let services = &self.state.services;
        match services.authenticator.authenticate(header).await {
            Ok(authenticated) => {
                let mut viewer = authenticated.viewer;
                viewer.client = self.client.description.clone();
                self.viewer = Some(LiveViewer::session(
                    viewer,
                    authenticated.subject,
                    services.authenticator.clone(),
                    services.feed.user_changes(),
                    authenticated.expires_at,
                ));
                self.send(text(&json!({"type": "connection_ack"}))).await;
                Next::Continue
            }
            Err(_) => self.violation(4403, "Forbidden"),
        }
    }

    /// Reports that an operation could not start (a request error), and frees its id.
    async fn refuse(&mut self, id: &str, errors: Value) {
        let message = match self.protocol {
            Protocol::Transport => json!({"id": id, "type": "error", "payload": errors}),
            Protocol::Legacy => json!({"id": id, "type": "error", "payload": errors.get(0).cloned()}),
        };
        self.send(text(&message)).await;
    }

    async fn start(&mut self, id: String, query: &str, variables: Value, operation_name: Option<String>) -> Next {
        let Some(live) = self.viewer.clone() else { return self.violation(4401, "Unauthorized") };
        // Every operation re-reads the user: a deactivation or expiry ends the connection.
        let viewer = match live.reload().await {
            Ok(viewer) => viewer,
            Err(why) => return closing(why),
        };
        let limits = &self.state.config().limits;
        if self.state.limiter.check_key(&viewer.user_id).is_err() {
            metrics::counter!("rapport_rate_limited_total", "transport" => "websocket").increment(1);
            let message = format!("at most {} requests a minute; slow down", limits.requests_per_minute);
            let errors = serde_json::to_value([request_error(message, codes::RATE_LIMITED)]).unwrap_or_default();
            self.refuse(&id, errors).await;
            return Next::Continue;
        }
        let doc = match self.state.documents.prepare(query, limits) {
            Ok(doc) => doc,
            Err(err) => {
                self.refuse(&id, serde_json::to_value([err]).unwrap_or_default()).await;
                return Next::Continue;
            }
        };
        if !matches!(variables, Value::Null | Value::Object(_)) {
            let err = request_error("`variables` must be an object", codes::BAD_REQUEST);
            self.refuse(&id, serde_json::to_value([err]).unwrap_or_default()).await;
            return Next::Continue;
        }
        let given = if variables.is_null() { Variables::default() } else { Variables::from_json(variables.clone()) };
        if let Err(err) = check_variables(&doc, operation_name.as_deref(), &given) {
            self.refuse(&id, serde_json::to_value([err]).unwrap_or_default()).await;
            return Next::Continue;
        }
        let subscription = is_subscription(&doc, operation_name.as_deref());
        // A subscription of the user's own (their tasks) runs on its own, never shared.
        let own = subscription && selects_root_field(&doc, operation_name.as_deref(), tasks::live::PER_CONNECTION);
        if subscription && !own {
            let subscription = Subscription::new(query.to_owned(), &doc, operation_name, variables);
            let member = Member {
                state: self.state.clone(),
                id: id.clone(),
                protocol: self.protocol,
                outbox: self.outbox.clone(),
                viewer: live,
                finished: self.finished.clone(),
                // Listen before the checks, so no change slips in between.
                changes: self.state.services.feed.subscribe(),
                subscription,
            };
            self.operations.insert(id, tokio::spawn(member.run()));
            return Next::Continue;
        }
        let context = if subscription {
            RequestContext::for_subscriptions(&self.state.services, live.clone())
        } else {
            RequestContext::new(&self.state.services, live.clone())
        };
        let hidden = context.hidden_log();
        let variables = if variables.is_null() { Variables::default() } else { Variables::from_json(variables) };
        let mut request = async_graphql::Request::new(query).variables(variables).data(context);
        request.set_parsed_query(ExecutableDocument::clone(&doc));
        let selection = (doc, operation_name.clone());
        if let Some(name) = operation_name {
            request = request.operation_name(name);
        }
        let stream = self.state.schema.execute_stream(request);
        let operation = Operation {
            selection,
            id: id.clone(),
            protocol: self.protocol,
            outbox: self.outbox.clone(),
            viewer: live,
            finished: self.finished.clone(),
            hidden,
        };
        self.operations.insert(id, tokio::spawn(operation.run(stream)));
        Next::Continue
    }
}

fn closing(why: Ended) -> Next {
    let reason = match why {
        Ended::Expired => "Unauthorized: the token expired",
        Ended::Deactivated => "Forbidden: the user was deactivated",
        Ended::Revoked => "Forbidden: the API token was revoked",
    };
    Next::Close(why.close_code(), reason.to_owned())
}

/// Whether the request runs a subscription (its context then lives long and does not cache).
fn is_subscription(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let mut operations = doc.operations.iter();
    let operation = match operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
        None => operations.next(),
    };
    operation.is_some_and(|(_, op)| op.node.ty == OperationType::Subscription)
}

/// One running operation of a connection.
struct Operation {
    /// The document and operation name, to put each response in selection order.
    selection: (std::sync::Arc<ExecutableDocument>, Option<String>),
    id: String,
    protocol: Protocol,
    outbox: mpsc::Sender<Message>,
    viewer: LiveViewer,
    finished: tokio::sync::mpsc::UnboundedSender<String>,
    /// Fields each response hid, listed in its `extensions.hiddenFields`.
    hidden: crate::graphql::support::context::HiddenLog,
}

impl Operation {
    async fn run(mut self, mut stream: futures_util::stream::BoxStream<'static, Response>) {
        let mut first = true;
        while let Some(response) = stream.next().await {
            let mut response = self.hidden.finish(finish(response));
            crate::graphql::support::order::reorder(&mut response.data, &self.selection.0, self.selection.1.as_deref());
            if first && is_request_error(&response) {
                // Validation failed: nothing ran. The protocol reports it as
                // `error`, with no `complete` after it.
                let errors = serde_json::to_value(&response.errors).unwrap_or_default();
                let payload = match self.protocol {
                    Protocol::Transport => errors,
                    Protocol::Legacy => errors.get(0).cloned().unwrap_or_default(),
                };
                let _ = self.outbox.send(text(&json!({"id": self.id, "type": "error", "payload": payload}))).await;
                let _ = self.finished.send(self.id);
                return;
            }
            first = false;
            // Nothing more for a user whose session ended; the connection closes.
            if self.viewer.ended().is_some() {
                return;
            }
            let message = json!({"id": self.id, "type": self.protocol.data(), "payload": response});
            if self.outbox.send(text(&message)).await.is_err() {
                return;
            }
        }
        if self.viewer.ended().is_none() {
            let _ = self.outbox.send(text(&json!({"id": self.id, "type": "complete"}))).await;
        }
        let _ = self.finished.send(self.id);
    }
}

/// One subscriber: reads the feed, re-checks its own viewer before every
/// change, and writes the result its class shares (`crate::http::fanout`).
struct Member {
    state: AppState,
    id: String,
    protocol: Protocol,
    outbox: mpsc::Sender<Message>,
    viewer: LiveViewer,
    finished: tokio::sync::mpsc::UnboundedSender<String>,
    changes: tokio::sync::broadcast::Receiver<Arc<crate::feed::TicketChange>>,
    subscription: Subscription,
}

/// Counts a subscriber in its group for as long as it is in it.
struct Seat<'a> {
    fanout: &'a Fanout,
    key: GroupKey,
    group: Arc<Group>,
}

impl<'a> Seat<'a> {
    fn take(fanout: &'a Fanout, key: GroupKey) -> Self {
        let group = fanout.join(&key);
        Self { fanout, key, group }
    }
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        self.fanout.leave(&self.key);
    }
}

impl Member {
    async fn run(mut self) {
        let state = self.state.clone();
        let fanout = &*state.fanout;
        match self.subscription.start(&state, (*self.viewer.get()).clone()).await {
            Start::Running => {}
            Start::Refused(errors) => {
                // Validation failed: nothing ran. The protocol reports it as `error`, with no `complete`.
                let payload = match self.protocol {
                    Protocol::Transport => errors,
                    Protocol::Legacy => errors.get(0).cloned().unwrap_or_default(),
                };
                let _ = self.outbox.send(text(&json!({"id": self.id, "type": "error", "payload": payload}))).await;
                let _ = self.finished.send(self.id);
                return;
            }
            Start::Failed(response) => {
                let _ = self.send(&json!({"id": self.id, "type": self.protocol.data(), "payload": response})).await;
                return self.complete().await;
            }
        }
        let _active = crate::telemetry::Held::new("rapport_subscriptions_active");
        let mut viewer = self.viewer.get();
        let mut seat = Seat::take(fanout, self.subscription.key(&viewer));
        loop {
            let change = match self.changes.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(missed)) => {
                    metrics::counter!("rapport_ticket_events_dropped_total").increment(missed);
                    let lagged = crate::error::AppError::Lagged(missed);
                    let payload = json!({"data": null, "errors": [request_error(lagged.to_string(), lagged.code())]});
                    let _ = self.send(&json!({"id": self.id, "type": self.protocol.data(), "payload": payload})).await;
                    return self.complete().await;
                }
                Err(RecvError::Closed) => return self.complete().await,
            };
            // Nothing more for a user whose session ended; the connection closes.
            let Ok(current) = self.viewer.refresh().await else { return };
            if !Arc::ptr_eq(&current, &viewer) {
                viewer = current;
                let key = self.subscription.key(&viewer);
                if key != seat.key {
                    seat = Seat::take(fanout, key);
                }
            }
            let Some(payload) = fanout.result(&state, &seat.group, &self.subscription, &viewer, &change).await else {
                continue;
            };
            let id = serde_json::to_string(&self.id).unwrap_or_default();
            let message = format!(r#"{{"id":{id},"type":"{}","payload":{payload}}}"#, self.protocol.data());
            if self.outbox.send(Message::Text(message.into())).await.is_err() {
                return;
            }
            metrics::counter!("rapport_ticket_events_delivered_total").increment(1);
        }
    }

    async fn send(&mut self, message: &Value) -> Result<(), mpsc::SendError> {
        self.outbox.send(text(message)).await
    }

    async fn complete(mut self) {
        if self.viewer.ended().is_none() {
            let _ = self.outbox.send(text(&json!({"id": self.id, "type": "complete"}))).await;
        }
        let _ = self.finished.send(self.id);
    }
}

/// Keeps a close reason under the protocol's 123 bytes.
fn truncate(text: &str) -> &str {
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Waits for the session to end, or forever before `connection_init`.
async fn session_end(viewer: Option<LiveViewer>) -> Ended {
    match viewer {
        Some(viewer) => viewer.until_ended().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until the token expires, or forever before `connection_init`.
async fn token_expiry(viewer: Option<LiveViewer>) {
    let Some(expires_at) = viewer.and_then(|v| v.expires_at()) else {
        return std::future::pending().await;
    };
    let left = expires_at.saturating_sub(chrono::Utc::now().timestamp()).max(0);
    tokio::time::sleep(Duration::from_secs(u64::try_from(left).unwrap_or(0))).await;
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: Protocol,
    client: ClientInfo,
    _counted: crate::http::shutdown::OpenSocket,
) {
    let _open = crate::telemetry::Held::new("rapport_websockets_open");
    let (socket_out, socket_in) = socket.split();
    let (outbox, outbox_rx) = mpsc::channel::<Message>(OUTBOX);
    let writer = spawn_writer(socket_out, outbox_rx);
    let (finished, finished_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut connection = Connection {
        state,
        protocol,
        client,
        outbox: outbox.clone(),
        viewer: None,
        operations: HashMap::new(),
        finished,
    };
    let verdict = connection.listen(socket_in, finished_rx).await;
    connection.end(verdict).await;
    drop(connection);
    drop(outbox);
    let _ = writer.await;
}

/// The only task that writes to the socket: everyone else queues in the
/// bounded outbox, so a slow client slows no one but itself.
fn spawn_writer(
    mut socket_out: SplitSink<WebSocket, Message>,
    mut outbox_rx: mpsc::Receiver<Message>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(message) = outbox_rx.next().await {
            let closing = matches!(message, Message::Close(_));
            if socket_out.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = socket_out.close().await;
    })
}

impl Connection {
    /// Serves the connection until it must close: returns the close code and
    /// reason, `None` when the client went away first.
    async fn listen(
        &mut self,
        mut socket_in: SplitStream<WebSocket>,
        mut finished_rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    ) -> Option<(u16, String)> {
        let mut users = self.state.services.feed.user_changes();
        let shutdown = self.state.shutdown.clone();
        let init_timeout = self.state.config().ws_init_timeout;
        let idle_timeout = self.state.config().ws_idle_timeout;
        let init_deadline = tokio::time::sleep(init_timeout);
        tokio::pin!(init_deadline);
        let mut last_heard = tokio::time::Instant::now();
        loop {
            let idle = tokio::time::sleep_until(last_heard + idle_timeout);
            let viewer = self.viewer.clone();
            let next = tokio::select! {
                () = &mut init_deadline, if self.viewer.is_none() => {
                    Next::Close(4408, "Connection initialisation timeout".to_owned())
                }
                () = idle => Next::Close(1000, "idle timeout".to_owned()),
                () = shutdown.wait() => Next::Close(1001, "the server is shutting down; reconnect".to_owned()),
                why = session_end(viewer.clone()) => closing(why),
                () = token_expiry(viewer.clone()) => {
                    closing(viewer.map_or(Ended::Expired, |v| v.expire()))
                }
                changed = users.recv() => self.user_changed(changed).await,
                Some(id) = finished_rx.recv() => {
                    self.operations.remove(&id);
                    Next::Continue
                }
                message = socket_in.next() => {
                    last_heard = tokio::time::Instant::now();
                    match message {
                        Some(Ok(Message::Text(raw))) => self.handle(raw.as_str()).await,
                        Some(Ok(Message::Binary(bytes))) => self.handle(&String::from_utf8_lossy(&bytes)).await,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Next::Continue,
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                    }
                }
            };
            if let Next::Close(code, reason) = next {
                return Some((code, reason));
            }
        }
    }

    /// Re-reads the session when the feed says its user changed (or when too
    /// many changes went by to tell): a deactivated user's connection closes.
    async fn user_changed(&self, changed: Result<UserChange, RecvError>) -> Next {
        match (changed, &self.viewer) {
            (Ok(change), Some(viewer)) if change.concerns(viewer.get().user_id) => match viewer.reload().await {
                Ok(_) => Next::Continue,
                Err(why) => closing(why),
            },
            (Err(RecvError::Lagged(_)), Some(viewer)) => match viewer.reload().await {
                Ok(_) => Next::Continue,
                Err(why) => closing(why),
            },
            _ => Next::Continue,
        }
    }

    /// Stops the operations, and says why the connection closes: the legacy
    /// protocol reports its errors as `connection_error` before a plain close.
    async fn end(&mut self, verdict: Option<(u16, String)>) {
        for (_, handle) in self.operations.drain() {
            handle.abort();
        }
        if let Some((code, reason)) = verdict {
            if self.protocol == Protocol::Legacy && code >= 4400 && code != 4401 && code != 4403 {
                let error = json!({"type": "connection_error", "payload": {"message": reason}});
                let _ = self.outbox.send(text(&error)).await;
                let _ = self.outbox.send(close(1000, "")).await;
            } else {
                let _ = self.outbox.send(close(code, &reason)).await;
            }
        }
    }
}
