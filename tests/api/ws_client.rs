//! A real WebSocket client speaking `graphql-transport-ws` (or the legacy `graphql-ws`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How long to wait for something that should arrive.
pub const ARRIVES: Duration = Duration::from_secs(5);
/// How long to wait to be reasonably sure something does not arrive.
pub const SILENCE: Duration = Duration::from_millis(700);

impl WsClient {
    pub async fn connect(addr: std::net::SocketAddr, protocol: &str) -> Self {
        let mut request = format!("ws://{addr}/graphql/ws").into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocol).unwrap());
        let (stream, response) = tokio_tungstenite::connect_async(request).await.expect("websocket");
        assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
        Self { stream }
    }

    pub async fn send(&mut self, message: Value) {
        self.stream.send(Message::Text(message.to_string().into())).await.unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream.send(Message::Text(text.to_owned().into())).await.unwrap();
    }

    /// The next message within `wait`: Ok(json) for text, Err(close code, reason) for a close.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Result<Value, (u16, String)>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            match message {
                Ok(Message::Text(text)) => return Some(Ok(serde_json::from_str(&text).unwrap())),
                Ok(Message::Close(frame)) => {
                    return Some(Err(frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()))));
                }
                Ok(_) => continue,
                Err(_) => return Some(Err((1006, String::new()))),
            }
        }
    }

    pub async fn next_json(&mut self) -> Value {
        match self.next_within(ARRIVES).await {
            Some(Ok(value)) => value,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub async fn expect_close(&mut self) -> u16 {
        match self.next_within(ARRIVES).await {
            Some(Err((code, reason))) => {
                assert!(reason.len() < 123, "close reasons stay under 123 bytes");
                code
            }
            other => panic!("expected a close, got {other:?}"),
        }
    }

    /// Sends `connection_init` with the token and expects the ack.
    pub async fn init(&mut self, token: &str) {
        self.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})).await;
        assert_eq!(self.next_json().await["type"], "connection_ack");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})).await;
    }

    /// The payload of the next `next` message for `id`.
    pub async fn next_data(&mut self, id: &str) -> Value {
        let message = self.next_json().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id);
        message["payload"].clone()
    }

    /// Asserts that nothing arrives for a while.
    pub async fn expect_silence(&mut self) {
        if let Some(message) = self.next_within(SILENCE).await {
            panic!("expected nothing, got {message:?}");
        }
    }
}
