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

#[tokio::test]
async fn a_change_on_one_instance_reaches_subscribers_of_another() {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("needs PostgreSQL (TEST_DATABASE_URL); SQLite runs in one process");
        return;
    };
    // Arrange: a database of its own, migrated once, with a rep.
    let name = format!("rapport_pair_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&base).await.expect("postgres");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let url = format!("{}/{name}", base.rsplit_once('/').expect("database url").0);
    let conn = db::connect(&url, 2).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let rep = rapport::service::users::insert_user(
        &conn,
        NewUser {
            email: "rep@pair.example".into(),
            name: "Rep".into(),
            role: Role::Rep,
            team_id: None,
            scopes: vec![],
            phone: None,
        },
    )
    .await
    .expect("user");
    conn.close().await.ok();
    let token = TokenService::new(DEV_JWT_SECRET, Duration::from_secs(600)).issue(rep.id).expect("token");
    let (addr_a, addr_b) = (free_port(), free_port());
    let instance_a = start(&url, addr_a).await;
    let instance_b = start(&url, addr_b).await;

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
    drop((instance_a, instance_b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
}
