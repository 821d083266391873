//! Subscriptions over WebSocket at `/graphql/ws`: `graphql-transport-ws` and the
//! legacy `graphql-ws` subprotocol, served by async-graphql's `GraphQLWebSocket`.
//!
//! A guard in front of it enforces what async-graphql leaves out of the
//! `graphql-transport-ws` protocol: 4408 when no `connection_init` arrives in
//! time, 4403 when its token is refused, 4401 on `subscribe` before that,
//! 4409 on a duplicate operation id, 4400 on an invalid message, 4429 on a
//! second `connection_init`. Clients keep the connection alive by sending
//! `ping` (answered with `pong`) at least every `RAPPORT_WS_IDLE_TIMEOUT_SECONDS`.
//!
//! Each connection writes through a bounded buffer; a connection that cannot
//! keep up stops reading the feed and its subscriptions end with
//! SUBSCRIPTION_LAGGED, without slowing anyone else.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::HeaderMap,
    response::Response,
};
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use crate::{app::AppState, auth::Viewer, error::AppError, graphql::context::RequestContext};

/// Messages waiting to be written to one client.
const OUTBOX: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws`.
    Transport,
    /// `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

/// The subprotocol async-graphql will speak: the client's first supported one.
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

pub async fn upgrade(
    State(state): State<AppState>,
    graphql_protocol: GraphQLProtocol,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let protocol = protocol(&headers);
    // Small buffers: thousands of mostly idle subscribers each hold one.
    ws.protocols(["graphql-transport-ws", "graphql-ws"])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(socket, state, graphql_protocol, protocol))
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// The viewer named by `connection_init`'s payload: `{"Authorization": "Bearer <token>"}`.
async fn authenticate(state: &AppState, payload: Option<&Value>) -> Result<Viewer, AppError> {
    let header = payload
        .and_then(Value::as_object)
        .and_then(|p| p.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| AppError::Unauthenticated("connection_init needs an Authorization".to_owned()))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| AppError::Unauthenticated("Authorization must be `Bearer <token>`".to_owned()))?;
    let subject = state.tokens.verify(token.trim())?;
    Viewer::load(&state.db, &subject).await
}

/// What the guard decides about one client message.
enum Verdict {
    Forward,
    Close(u16, String),
    /// Legacy protocol: report an error, then close.
    ConnectionError(String),
}

/// Operation ids of one connection, shared by the reader and the writer.
#[derive(Default)]
struct Operations {
    /// Ids in flight: a second `subscribe` with one of them is a 4409.
    active: HashSet<String>,
    /// Ids the client completed while running: async-graphql answers those with a
    /// `complete` the protocol does not want, which the writer drops.
    echo_expected: HashSet<String>,
}

impl Operations {
    /// The writer saw the server send `complete` or `error` for `id`; returns
    /// whether to pass the message on.
    fn server_finished(&mut self, id: &str) -> bool {
        if self.echo_expected.remove(id) {
            return false;
        }
        self.active.remove(id);
        true
    }
}

struct Guard {
    protocol: Protocol,
    initialised: bool,
    operations: Arc<Mutex<Operations>>,
    /// Handed to `on_connection_init` once the token is accepted.
    viewer: Arc<Mutex<Option<Viewer>>>,
}

impl Guard {
    async fn inspect(&mut self, state: &AppState, text: &str) -> Verdict {
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(text) else {
            return self.invalid("Invalid message");
        };
        let kind = message.get("type").and_then(Value::as_str).unwrap_or_default();
        let id = message.get("id").and_then(Value::as_str);
        match (self.protocol, kind) {
            (_, "connection_init") if self.initialised => self.violation(4429, "Too many initialisation requests"),
            (_, "connection_init") => match authenticate(state, message.get("payload")).await {
                Ok(viewer) => {
                    *self.viewer.lock().unwrap_or_else(|p| p.into_inner()) = Some(viewer);
                    self.initialised = true;
                    Verdict::Forward
                }
                Err(_) => self.violation(4403, "Forbidden"),
            },
            (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => {
                if !self.initialised {
                    return self.violation(4401, "Unauthorized");
                }
                let Some(id) = id.filter(|id| !id.is_empty()) else { return self.invalid("Invalid message: no id") };
                let has_query = message.get("payload").and_then(|p| p.get("query")).is_some_and(Value::is_string);
                if !has_query {
                    return self.invalid("Invalid message: no query");
                }
                let mut operations = self.operations.lock().unwrap_or_else(|p| p.into_inner());
                if !operations.active.insert(id.to_owned()) {
                    return self.violation(4409, &format!("Subscriber for {} already exists", truncate(id)));
                }
                Verdict::Forward
            }
            (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
                if let Some(id) = id {
                    let mut operations = self.operations.lock().unwrap_or_else(|p| p.into_inner());
                    if operations.active.remove(id) && self.protocol == Protocol::Transport {
                        operations.echo_expected.insert(id.to_owned());
                    }
                }
                Verdict::Forward
            }
            (Protocol::Transport, "ping" | "pong") | (Protocol::Legacy, "connection_terminate") => Verdict::Forward,
            _ => self.invalid("Invalid message type"),
        }
    }

    fn invalid(&self, reason: &str) -> Verdict {
        self.violation(4400, reason)
    }

    fn violation(&self, code: u16, reason: &str) -> Verdict {
        match self.protocol {
            Protocol::Transport => Verdict::Close(code, reason.to_owned()),
            Protocol::Legacy => Verdict::ConnectionError(reason.to_owned()),
        }
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

/// Whether an outgoing message may be a completion or a request error: the
/// common case, a `next` with data, is passed on without parsing it.
fn needs_inspection(text: &str) -> bool {
    !text.contains(r#""type":"next""#) || text.contains(r#""errors""#)
}

/// The errors of a `next` message that reports a request error (parse or
/// validation: nothing ran), if it is one.
fn request_errors(message: &serde_json::Map<String, Value>) -> Option<Value> {
    let payload = message.get("payload")?;
    let errors = payload.get("errors")?.as_array()?;
    let request_error = payload.get("data").is_none_or(Value::is_null)
        && !errors.is_empty()
        && errors.iter().all(|e| {
            matches!(
                e.pointer("/extensions/code").and_then(Value::as_str),
                Some(crate::graphql::errors::PARSE_FAILED | crate::graphql::errors::VALIDATION_FAILED)
            )
        });
    request_error.then(|| Value::Array(errors.clone()))
}

async fn serve(socket: WebSocket, state: AppState, graphql_protocol: GraphQLProtocol, protocol: Protocol) {
    let (mut socket_out, mut socket_in) = socket.split();
    let (outbox, mut outbox_rx) = mpsc::channel::<Message>(OUTBOX);
    let (mut inbox, inbox_rx) = mpsc::channel::<Message>(16);
    let operations = Arc::new(Mutex::new(Operations::default()));
    let viewer = Arc::new(Mutex::new(None::<Viewer>));

    // Writer: the only task that writes to the socket; frees ids the server completed.
    let completed = operations.clone();
    let writer = tokio::spawn(async move {
        while let Some(mut message) = outbox_rx.next().await {
            if let Message::Text(text) = &message
                && needs_inspection(text)
                && let Ok(Value::Object(sent)) = serde_json::from_str::<Value>(text)
                && let Some(id) = sent.get("id").and_then(Value::as_str)
            {
                let mut operations = completed.lock().unwrap_or_else(|p| p.into_inner());
                match sent.get("type").and_then(Value::as_str) {
                    Some("complete" | "error") if !operations.server_finished(id) => continue,
                    Some("next") if protocol == Protocol::Transport => {
                        if let Some(errors) = request_errors(&sent) {
                            // The protocol reports a subscribe that never started
                            // as `error`, with no `complete` after it.
                            operations.active.remove(id);
                            operations.echo_expected.insert(id.to_owned());
                            let error = serde_json::json!({"id": id, "type": "error", "payload": errors});
                            message = Message::Text(error.to_string().into());
                        }
                    }
                    _ => {}
                }
            }
            let closing = matches!(message, Message::Close(_));
            if socket_out.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = socket_out.close().await;
    });

    // Reader: checks every client message before async-graphql sees it.
    let mut guard_outbox = outbox.clone();
    let guard_state = state.clone();
    let mut guard = Guard { protocol, initialised: false, operations, viewer: viewer.clone() };
    let init_timeout = state.config.ws_init_timeout;
    let reader = tokio::spawn(async move {
        let deadline = tokio::time::sleep(init_timeout);
        tokio::pin!(deadline);
        loop {
            let message = tokio::select! {
                () = &mut deadline, if !guard.initialised => {
                    let _ = guard_outbox.send(close(4408, "Connection initialisation timeout")).await;
                    break;
                }
                message = socket_in.next() => message,
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text.to_string(),
                Some(Ok(Message::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            };
            match guard.inspect(&guard_state, &text).await {
                Verdict::Forward => {
                    if inbox.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Verdict::Close(code, reason) => {
                    let _ = guard_outbox.send(close(code, &reason)).await;
                    break;
                }
                Verdict::ConnectionError(reason) => {
                    let error = serde_json::json!({"type": "connection_error", "payload": {"message": reason}});
                    let _ = guard_outbox.send(Message::Text(error.to_string().into())).await;
                    let _ = guard_outbox.send(close(1000, "")).await;
                    break;
                }
            }
        }
    });

    let init_state = state.clone();
    GraphQLWebSocket::new_with_pair(outbox, inbox_rx.map(Ok), state.schema.clone(), graphql_protocol)
        .keepalive_timeout(state.config.ws_idle_timeout)
        .on_connection_init(move |_payload| async move {
            let viewer = viewer.lock().unwrap_or_else(|p| p.into_inner()).take();
            let viewer = viewer.ok_or_else(|| async_graphql::Error::new("Forbidden"))?;
            let mut data = Data::default();
            data.insert(RequestContext::for_subscriptions(&init_state, viewer));
            Ok(data)
        })
        .serve()
        .await;
    reader.abort();
    let _ = writer.await;
}
