//! Two real `rapport serve` processes on one PostgreSQL database: a change made
//! through one reaches a subscriber of the other (LISTEN/NOTIFY).

use std::{net::SocketAddr, process::Stdio, time::Duration};

use entity::enums::Role;
use rapport::{auth::TokenService, config::DEV_JWT_SECRET, db, service::users::NewUser};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};

use crate::ws_client::WsClient;

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A minimal HTTP/1.1 client: enough to POST GraphQL to a real server.
async fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

async fn gql(addr: SocketAddr, token: &str, query: &str, variables: Value) -> Value {
    let body = json!({"query": query, "variables": variables}).to_string();
    let (status, body) = http(addr, "POST", "/graphql", Some(token), &body).await.expect("response");
    assert_eq!(status, 200, "{body}");
    let value: Value = serde_json::from_str(&body).expect("json");
    assert!(value.get("errors").is_none(), "{value}");
    value["data"].clone()
}

async fn start(url: &str, addr: SocketAddr) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("RAPPORT_BIND", addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("rapport serve");
    for _ in 0..100 {
        if let Some((200, _)) = http(addr, "GET", "/readyz", None, "").await {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("rapport serve on {addr} did not become ready");
}

/// Two instances on a fresh database with a rep and an admin.
struct Pair {
    admin: sea_orm::DatabaseConnection,
    name: String,
    addr_a: SocketAddr,
    addr_b: SocketAddr,
    instances: (Child, Child),
    rep: (i64, String),
    boss: (i64, String),
}

impl Pair {
    async fn start() -> Option<Self> {
        let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("needs PostgreSQL (TEST_DATABASE_URL); SQLite runs in one process");
            return None;
        };
        let name = format!("rapport_pair_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&base).await.expect("postgres");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        let url = format!("{}/{name}", base.rsplit_once('/').expect("database url").0);
        let conn = db::connect(&url, 2).await.expect("connect");
        db::migrate(&conn).await.expect("migrate");
        let user = |email: &str, role: Role| NewUser {
            email: email.into(),
            name: email.into(),
            role,
            team_id: None,
            scopes: vec![],
            phone: None,
        };
        let rep = rapport::service::users::insert_user(&conn, user("rep@pair.example", Role::Rep)).await.expect("rep");
        let boss =
            rapport::service::users::insert_user(&conn, user("boss@pair.example", Role::Admin)).await.expect("admin");
        conn.close().await.ok();
        let tokens = TokenService::new(DEV_JWT_SECRET, Duration::from_secs(600));
        let (addr_a, addr_b) = (free_port(), free_port());
        let instances = (start(&url, addr_a).await, start(&url, addr_b).await);
        Some(Self {
            admin,
            name,
            addr_a,
            addr_b,
            instances,
            rep: (rep.id, tokens.issue(rep.id).expect("token")),
            boss: (boss.id, tokens.issue(boss.id).expect("token")),
        })
    }

    async fn stop(self) {
        drop(self.instances);
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await.ok();
    }
}

#[tokio::test]
async fn a_user_deactivated_on_one_instance_is_disconnected_from_another() {
    let Some(pair) = Pair::start().await else { return };
    let mut ws = WsClient::connect(pair.addr_a, "graphql-transport-ws").await;
    ws.init(&pair.rep.1).await;
    ws.subscribe("live", "subscription { ticketEvents { ticket { title } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = std::time::Instant::now();
    let rep_id = base64_id("User", pair.rep.0);
    let boss_id = base64_id("User", pair.boss.0);
    gql(
        pair.addr_b,
        &pair.boss.1,
        "mutation($id: ID!, $to: ID!) { deactivateUser(id: $id, reassignTo: $to) { active } }",
        json!({"id": rep_id, "to": boss_id}),
    )
    .await;
    let closed = ws.next_within(Duration::from_secs(1)).await;

    assert_eq!(closed.map(|c| c.err().map(|(code, _)| code)), Some(Some(4403)));
    assert!(started.elapsed() < Duration::from_secs(1), "closed after {:?}", started.elapsed());
    drop(ws);
    pair.stop().await;
}

fn base64_id(kind: &str, id: i64) -> String {
    crate::helpers::gid(kind, id)
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_subscribers_of_another() {
    let Some(pair) = Pair::start().await else { return };
    let (addr_a, addr_b, token) = (pair.addr_a, pair.addr_b, pair.rep.1.clone());

    // Act: subscribe on A, change through B.
    let mut ws = WsClient::connect(addr_a, "graphql-transport-ws").await;
    ws.init(&token).await;
    ws.subscribe("pair", "subscription { ticketEvents { event { kind } ticket { title version } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let customer = gql(addr_b, &token, "mutation { createCustomer(input: {name: \"Pair\"}) { id } }", json!({})).await;
    let created = gql(
        addr_b,
        &token,
        "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"Across\", description: \"d\", category: DELIVERY}) { id } }",
        json!({"c": customer["createCustomer"]["id"]}),
    )
    .await;
    gql(
        addr_b,
        &token,
        "mutation($id: ID!) { commentOnTicket(id: $id, expectedVersion: 1, body: \"seen?\") { event { id } } }",
        json!({"id": created["createTicket"]["id"]}),
    )
    .await;
    let first = ws.next_data("pair").await;
    let second = ws.next_data("pair").await;

    // Assert
    assert_eq!(
        first["data"]["ticketEvents"],
        json!({"event": {"kind": "CREATED"}, "ticket": {"title": "Across", "version": 1}})
    );
    assert_eq!(second["data"]["ticketEvents"]["event"]["kind"], "COMMENT");
    assert_eq!(second["data"]["ticketEvents"]["ticket"]["version"], 2);

    drop(ws);
    pair.stop().await;
}

/// Two instances run the playbooks at the same moment, twice: the trigger
/// occurrence is one task, and it reaches its owner subscribed on the other
/// instance, once.
#[tokio::test]
async fn a_playbook_occurrence_is_one_task_across_instances_and_reaches_its_owner_on_either() {
    let Some(pair) = Pair::start().await else { return };
    let (rep, boss) = (&pair.rep.1, &pair.boss.1);
    let created =
        gql(pair.addr_a, rep, "mutation { createCustomer(input: {name: \"Acme\", status: ACTIVE}) { id } }", json!({}))
            .await;
    let customer = created["createCustomer"]["id"].clone();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    gql(
        pair.addr_a,
        rep,
        "mutation($c: ID!, $d: Date!) { createCommitment(customerId: $c, input: {kind: DELIVERY, description: \"Ship\", dueOn: $d}) { id } }",
        json!({"c": customer, "d": yesterday}),
    )
    .await;
    let mut ws = WsClient::connect(pair.addr_b, "graphql-transport-ws").await;
    ws.init(rep).await;
    ws.subscribe("t", "subscription { taskAssigned { title source } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    gql(
        pair.addr_b,
        boss,
        "mutation { definePlaybook(input: {name: \"Late\", trigger: COMMITMENT_OVERDUE, taskTitle: \"Call about the delivery\"}) { id } }",
        json!({}),
    )
    .await;

    let run = "mutation { runPlaybooks { title } }";
    let mut created = 0;
    for _ in 0..2 {
        let (a, b) = tokio::join!(gql(pair.addr_a, boss, run, json!({})), gql(pair.addr_b, boss, run, json!({})));
        created += a["runPlaybooks"].as_array().unwrap().len() + b["runPlaybooks"].as_array().unwrap().len();
    }
    assert_eq!(created, 1);
    let tasks = gql(pair.addr_a, boss, "{ tasks { totalCount } }", json!({})).await;
    assert_eq!(tasks["tasks"]["totalCount"], 1);
    let got = ws.next_data("t").await;
    assert_eq!(got["data"]["taskAssigned"], json!({"title": "Call about the delivery", "source": "PLAYBOOK"}));
    ws.expect_silence().await;
    pair.stop().await;
}
