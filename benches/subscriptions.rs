//! Fan-out benchmark: N WebSocket subscribers on one `rapport serve` process, a
//! stream of ticket updates, delivery latency (from sending the mutation to the
//! subscriber receiving the event) and the server's memory.
//!
//! `cargo bench --bench subscriptions` runs N = 1,000 and 5,000 on a SQLite temp
//! file; `BENCH_SUBSCRIBERS=...` picks other sizes, `BENCH_UPDATES` (default 40)
//! the number of updates, one every `BENCH_INTERVAL_MS` (default 250).
//! The clients run in this process, on the same cores as the server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use entity::enums::{Role, TicketCategory, TicketPriority};
use futures_util::{SinkExt, StreamExt};
use rapport::{
    auth::TokenService,
    config::DEV_JWT_SECRET,
    db,
    policy::Viewer,
    service::{
        customers::{self, NewCustomer},
        tickets::{self, NewTicket},
        users::{NewUser, insert_user},
    },
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

mod support;
use support::{cpu_ticks, env_or, memory_kib};

async fn post(addr: SocketAddr, token: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

async fn run(subscribers: usize, updates: usize, interval: Duration) {
    let path = std::env::temp_dir().join(format!("rapport-fanout-{}-{subscribers}.db", std::process::id()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let conn = db::connect(&url, 2).await.unwrap();
    db::migrate(&conn).await.unwrap();
    let user = insert_user(
        &conn,
        NewUser {
            email: "bench@rapport.bench".into(),
            name: "Bench".into(),
            role: Role::Leader,
            team_id: None,
            scopes: vec![],
            phone: None,
        },
    )
    .await
    .unwrap();
    let viewer = Viewer::from_model(&user);
    let new_customer = NewCustomer {
        name: "Fan-out".into(),
        industry: None,
        region: None,
        status: None,
        owner_id: None,
        parent_id: None,
        purchasing_fit: None,
        strategic_importance: None,
        customer_since: None,
        next_review_on: None,
        custom_fields: Vec::new(),
    };
    let services =
        rapport::service::Services::new(conn.clone(), std::sync::Arc::new(rapport::config::Config::for_database(&url)));
    let customer = customers::create(&services, &viewer, new_customer).await.unwrap();
    let ticket = NewTicket {
        customer_id: customer.id,
        contact_id: None,
        assignee_id: None,
        title: "Hot ticket".into(),
        description: "Everybody watches it".into(),
        category: TicketCategory::Delivery,
        priority: TicketPriority::High,
        custom_fields: Vec::new(),
    };
    let (ticket, _) = tickets::create(&services, &viewer, ticket).await.unwrap();
    conn.close().await.ok();
    let token = TokenService::new(DEV_JWT_SECRET, Duration::from_secs(3600)).issue(user.id).unwrap();

    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("RAPPORT_BIND", addr.to_string())
        .env("RUST_LOG", "error")
        // Every subscriber is the same user here, and subscribing counts
        // against the per-user rate limit.
        .env("RAPPORT_RATE_LIMIT_PER_MINUTE", "1000000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = server.id().unwrap();
    while TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle_rss = memory_kib(pid, "VmRSS:");

    let sent_at: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; updates]));
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::with_capacity(subscribers * updates)));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers);
    let ticket_gid = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Ticket:{}", ticket.id))
    };
    let mut clients = Vec::new();
    let connect_started = Instant::now();
    for n in 0..subscribers {
        let (token, gid, sent_at, latencies, ready) =
            (token.clone(), ticket_gid.clone(), sent_at.clone(), latencies.clone(), ready_tx.clone());
        clients.push(tokio::spawn(async move {
            let mut request = format!("ws://{addr}/graphql/ws").into_client_request().unwrap();
            request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
            let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
            let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
            ws.send(Message::Text(init.to_string().into())).await.unwrap();
            ws.next().await.unwrap().unwrap();
            let query = "subscription($id: ID!) { ticketUpdated(id: $id) { event { body } } }";
            let subscribe = json!({"id": n.to_string(), "type": "subscribe", "payload": {"query": query, "variables": {"id": gid}}});
            ws.send(Message::Text(subscribe.to_string().into())).await.unwrap();
            ready.send(()).await.unwrap();
            let mut received = 0;
            while received < updates {
                let Some(Ok(Message::Text(text))) = ws.next().await else { break };
                let at = Instant::now();
                assert!(text.contains(r#""type":"next""#), "subscriber {n} got {text}");
                // A substring search keeps the clients' share of the two cores small.
                let Some(k) = text
                    .split_once(r#""body":""#)
                    .and_then(|(_, rest)| rest.split('"').next())
                    .and_then(|b| b.parse::<usize>().ok())
                else {
                    continue;
                };
                if let Some(sent) = sent_at.lock().unwrap()[k] {
                    latencies.lock().unwrap().push(at - sent);
                }
                received += 1;
            }
        }));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await.unwrap();
    }
    let connect_time = connect_started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subscribed_rss = memory_kib(pid, "VmRSS:");

    let (server_cpu, clients_cpu) = (cpu_ticks(pid), cpu_ticks(std::process::id()));
    for k in 0..updates {
        let body = json!({
            "query": "mutation($id: ID!, $v: Int!, $b: String!) { commentOnTicket(id: $id, expectedVersion: $v, body: $b) { ticket { version } } }",
            "variables": {"id": ticket_gid, "v": k + 1, "b": k.to_string()}
        })
        .to_string();
        sent_at.lock().unwrap()[k] = Some(Instant::now());
        let response = post(addr, &token, &body).await;
        assert!(!response.contains("\"errors\""), "{response}");
        tokio::time::sleep(interval).await;
    }
    let wait = tokio::time::timeout(Duration::from_secs(30), futures_util::future::join_all(clients)).await;
    let peak_rss = memory_kib(pid, "VmHWM:");
    let tick_ms = 1000.0 / 100.0;
    let server_cpu = (cpu_ticks(pid) - server_cpu) as f64 * tick_ms / updates as f64;
    let clients_cpu = (cpu_ticks(std::process::id()) - clients_cpu) as f64 * tick_ms / updates as f64;
    server.kill().await.ok();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let n = latencies.len();
    let pct = |p: f64| latencies.get(((n as f64 * p) as usize).min(n.saturating_sub(1))).copied().unwrap_or_default();
    println!(
        "subscribers {subscribers:>5}  updates {updates}  delivered {n}/{}{}",
        subscribers * updates,
        if wait.is_err() { " (timed out)" } else { "" }
    );
    println!("  connect+subscribe all: {connect_time:?}");
    println!(
        "  latency p50 {:?}  p99 {:?}  max {:?}",
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!("  CPU per update: server {server_cpu:.1} ms, the subscribers' clients {clients_cpu:.1} ms");
    println!(
        "  server RSS idle {} MiB, subscribed {} MiB, peak {} MiB",
        idle_rss / 1024,
        subscribed_rss / 1024,
        peak_rss / 1024
    );
}

#[tokio::main]
async fn main() {
    rlimit::increase_nofile_limit(65_536).ok();
    let sizes: Vec<usize> = std::env::var("BENCH_SUBSCRIBERS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 5_000]);
    let updates = env_or("BENCH_UPDATES", 40);
    let interval = Duration::from_millis(env_or("BENCH_INTERVAL_MS", 250));
    for subscribers in sizes {
        run(subscribers, updates, interval).await;
    }
}
