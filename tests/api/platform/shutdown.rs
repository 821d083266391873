//! Shutting down: requests in flight finish, readiness fails at once,
//! WebSockets are told to go elsewhere (1001), the server then stops.

use std::time::Duration;

use rapport::service::changes::{Change, Operation};
use serde_json::json;

use crate::{
    helpers::{TestApp, raw_id},
    ws_client::WsClient,
};

#[tokio::test]
async fn a_request_in_flight_at_shutdown_gets_its_answer_and_readiness_fails_at_once() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = app
        .serve_until(async move {
            let _ = stopped.await;
        })
        .await;

    // A write that will wait: another transaction holds the change clock.
    let holder = rapport::db::write(&app.db).await.unwrap();
    rapport::service::changes::record(&holder, &[Change::customer(raw_id(&acme), Operation::Updated, None)])
        .await
        .unwrap();
    let token = cast.rep_a.token.clone();
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(
                json!({"query": "mutation { createCustomer(input: {name: \"Late\", status: ACTIVE}) { id name } }"})
                    .to_string(),
            )
            .send()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!in_flight.is_finished());

    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = app.send(axum::http::Request::get("/readyz").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(ready.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(!server.is_finished(), "the server waits for the request in flight");

    holder.commit().await.unwrap();
    let answer = in_flight.await.unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(body["data"]["createCustomer"]["name"], "Late");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the server stops").unwrap().unwrap();
    assert_eq!(app.count("customer").await, 2);
}

#[tokio::test]
async fn open_websockets_are_told_to_reconnect_elsewhere() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = app
        .serve_until(async move {
            let _ = stopped.await;
        })
        .await;
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;
    ws.subscribe("live", "subscription { ticketEvents { ticket { id } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.send(()).unwrap();
    let closed = ws.next_within(Duration::from_secs(3)).await;
    assert!(matches!(closed, Some(Err((1001, _)))), "{closed:?}");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the server stops").unwrap().unwrap();
}

#[tokio::test]
async fn every_shutdown_of_the_process_sends_every_open_socket_its_close_frame() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    // The issue this guards against showed on PostgreSQL in 2 of 15 runs.
    let runs = if app.state.config().database_url.starts_with("postgres") { 20 } else { 5 };
    for run in 0..runs {
        let (mut child, addr) = app.start_process().await;
        let mut sockets = Vec::new();
        for _ in 0..2 {
            let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
            ws.init(&cast.rep_a.token).await;
            ws.subscribe("live", "subscription { ticketEvents { ticket { id } } }", json!({})).await;
            sockets.push(ws);
        }
        let status = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        assert!(status.success());
        for (i, ws) in sockets.iter_mut().enumerate() {
            let closed = ws.next_within(Duration::from_secs(5)).await;
            assert!(matches!(closed, Some(Err((1001, _)))), "run {run}, socket {i}: {closed:?}");
        }
        let mut exited = None;
        for _ in 0..200 {
            exited = child.try_wait().unwrap();
            if exited.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let exited = exited.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("run {run}: the process did not exit");
        });
        assert!(exited.success(), "run {run}: {exited:?}");
    }
}
