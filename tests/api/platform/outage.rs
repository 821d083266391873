//! A database that goes away and comes back: requests fail fast with
//! SERVICE_UNAVAILABLE (503), readiness fails within a second, and the same
//! server recovers without a restart, and its subscribers get the ticket
//! events committed while it could not listen. PostgreSQL only: the server
//! reaches it through a TCP proxy that the test cuts and restores.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use rapport::http::AppState;
use sea_orm::{ConnectOptions, Database};
use serde_json::json;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::{helpers::TestApp, ws_client::WsClient};

/// Forwards connections to PostgreSQL while it is up; `cut` drops every
/// connection and refuses new ones, as a crashed database host would.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up_, links_) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up_.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                links_.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { port, up, links }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Posts a GraphQL request to `router`; the status and the JSON answer.
async fn post(
    router: &axum::Router,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> (u16, serde_json::Value) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(json!({"query": query, "variables": variables}).to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

async fn ask(router: &axum::Router, token: &str) -> (u16, serde_json::Value) {
    post(router, token, "{ customers { totalCount } }", json!({})).await
}

async fn ready(router: &axum::Router) -> u16 {
    let response = router.clone().oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    response.status().as_u16()
}

/// A second server instance on the test's schema that reaches PostgreSQL
/// through a proxy; returns the proxy, the instance and its database URL.
async fn proxied_instance(app: &TestApp, url: &str) -> (Proxy, AppState, String) {
    let target = url.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_owned();
    let proxy = Proxy::start(target.clone()).await;
    let proxied_url = url.replacen(&target, &format!("127.0.0.1:{}", proxy.port), 1);
    let config = app.state.config().clone();
    let mut options = ConnectOptions::new(&proxied_url);
    options
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false)
        .set_schema_search_path(config.notify_channel.clone());
    let db = Database::connect(options).await.unwrap();
    (proxy, AppState::new(db, config), proxied_url)
}

#[tokio::test]
async fn a_database_outage_fails_requests_fast_and_the_server_recovers_without_a_restart() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        // SQLite is a file beside the server: it has no outage to survive.
        return;
    };
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "Acme").await;
    let (proxy, state, _) = proxied_instance(&app, &url).await;
    let router = rapport::http::router(state);
    let (status, body) = ask(&router, &cast.rep_a.token).await;
    assert_eq!((status, body["data"]["customers"]["totalCount"].clone()), (200, json!(1)));

    proxy.cut();
    let started = Instant::now();
    assert_eq!(ready(&router).await, 503);
    assert!(started.elapsed() < Duration::from_millis(1500), "readiness took {:?}", started.elapsed());
    let started = Instant::now();
    let (status, body) = ask(&router, &cast.rep_a.token).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    assert!(started.elapsed() < Duration::from_secs(5), "the request hung for {:?}", started.elapsed());

    proxy.restore();
    let mut recovered = None;
    for _ in 0..40 {
        let (status, body) = ask(&router, &cast.rep_a.token).await;
        if status == 200 {
            recovered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let body = recovered.expect("the server recovers once the database is back");
    assert_eq!(body["data"]["customers"]["totalCount"], 1);
    assert_eq!(ready(&router).await, 200);
}

async fn open_ticket(app: &TestApp, who: &crate::helpers::Person, customer: &str, title: &str) -> String {
    let reply = app
        .gql(
            who,
            "mutation($c: ID!, $t: String!) { createTicket(input: {customerId: $c, title: $t, description: \"d\", category: QUALITY}) { id } }",
            json!({"c": customer, "t": title}),
        )
        .await;
    reply.ok()["createTicket"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn subscribers_get_the_ticket_events_committed_while_the_feed_was_away_in_order_and_once() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    // Committed before the instance listens: never its to deliver, even in a catch-up.
    open_ticket(&app, &cast.rep_a, &customer, "early").await;
    let (proxy, state, proxied_url) = proxied_instance(&app, &url).await;
    state.services.feed.start_listening(&proxied_url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = rapport::http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;
    ws.subscribe("1", "subscription { ticketEvents { event { id kind } ticket { title } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The other instance (the test's own) keeps writing while this one is cut off.
    open_ticket(&app, &cast.rep_a, &customer, "before").await;
    let before = ws.next_data("1").await;
    assert_eq!(before["data"]["ticketEvents"]["ticket"]["title"], "before");
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for title in ["away 1", "away 2", "away 3"] {
        open_ticket(&app, &cast.rep_a, &customer, title).await;
    }
    proxy.restore();

    let mut received = vec![];
    for _ in 0..3 {
        let message = ws.next_within(Duration::from_secs(15)).await.expect("a caught-up event").expect("open");
        assert_eq!(message["type"], "next", "{message}");
        received.push(message["payload"]["data"]["ticketEvents"].clone());
    }
    let titles: Vec<_> = received.iter().map(|r| r["ticket"]["title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(titles, ["away 1", "away 2", "away 3"]);
    open_ticket(&app, &cast.rep_a, &customer, "after").await;
    let after = ws.next_data("1").await;
    assert_eq!(after["data"]["ticketEvents"]["ticket"]["title"], "after");
    ws.expect_silence().await;

    // Every history row, once and in order: checked against the table.
    let mut ids: Vec<i64> = vec![rapport_raw(&before)];
    ids.extend(received.iter().map(|r| crate::helpers::raw_id(r["event"]["id"].as_str().unwrap())));
    ids.push(rapport_raw(&after));
    let stored = app.count("ticket_event").await;
    assert_eq!(stored, 6);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "events arrive once each, in id order");
    assert_eq!(ids.len() as i64, stored - 1, "every event but the early one");
}

fn rapport_raw(payload: &serde_json::Value) -> i64 {
    crate::helpers::raw_id(payload["data"]["ticketEvents"]["event"]["id"].as_str().unwrap())
}

async fn create_customer(router: &axum::Router, token: &str, name: &str) -> (u16, serde_json::Value) {
    let query = "mutation($n: String!) { createCustomer(input: {name: $n, status: ACTIVE}) { id } }";
    post(router, token, query, json!({"n": name})).await
}

fn sqlite_url(app: &TestApp) -> Option<String> {
    let url = app.state.config().database_url.clone();
    url.starts_with("sqlite:").then_some(url)
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_refuses_writes_clearly_and_recovers() {
    use sea_orm::sqlx::{Connection, Executor};
    let app = TestApp::spawn().await;
    let Some(url) = sqlite_url(&app) else { return };
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "Acme").await;

    // Another process holds the write lock (a backup tool, a shell left open).
    let mut other = sea_orm::sqlx::SqliteConnection::connect(&url).await.unwrap();
    other.execute("BEGIN EXCLUSIVE").await.unwrap();
    let (status, body) = ask(&app.router, &cast.rep_a.token).await;
    assert_eq!((status, body["data"]["customers"]["totalCount"].clone()), (200, json!(1)), "reads go on");
    let started = Instant::now();
    let (status, body) = create_customer(&app.router, &cast.rep_a.token, "Blocked").await;
    let waited = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("locked by another process"), "{message}");
    assert!(waited < rapport::db::SQLITE_BUSY_TIMEOUT * 2, "the write waited {waited:?}");

    other.execute("ROLLBACK").await.unwrap();
    let (status, body) = create_customer(&app.router, &cast.rep_a.token, "Free").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.count("customer").await, 2, "nothing of the refused write remains");
}

#[tokio::test]
async fn a_read_only_sqlite_file_serves_reads_and_refuses_writes_clearly() {
    let app = TestApp::spawn().await;
    let Some(url) = sqlite_url(&app) else { return };
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "Acme").await;

    let read_only = rapport::db::connect(&url.replace("mode=rwc", "mode=ro"), 2).await.unwrap();
    let router = rapport::http::router(AppState::new(read_only, app.state.config().clone()));
    let (status, body) = ask(&router, &cast.rep_a.token).await;
    assert_eq!((status, body["data"]["customers"]["totalCount"].clone()), (200, json!(1)), "{body}");
    let (status, body) = create_customer(&router, &cast.rep_a.token, "Refused").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("read-only"), "{message}");
    assert_eq!(app.count("customer").await, 1);
}
