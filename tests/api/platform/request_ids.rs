//! Request ids: the caller's is echoed, a missing or unusable one is made up.

use axum::{body::Body, http::Request};
use serde_json::json;

use crate::helpers::TestApp;

fn request(id: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/graphql").header("content-type", "application/json");
    if let Some(id) = id {
        builder = builder.header("x-request-id", id);
    }
    builder.body(Body::from(json!({"query": "{ __typename }"}).to_string())).unwrap()
}

#[tokio::test]
async fn every_answer_carries_the_request_id() {
    let app = TestApp::spawn().await;
    let given = app.send(request(Some("lb-7f3a9c"))).await;
    assert_eq!(given.headers["x-request-id"], "lb-7f3a9c");
    let made = app.send(request(None)).await;
    let id = made.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);
    let other = app.send(request(None)).await;
    assert_ne!(other.headers["x-request-id"].to_str().unwrap(), id);
    let too_long = "x".repeat(200);
    let replaced = app.send(request(Some(&too_long))).await;
    assert_ne!(replaced.headers["x-request-id"].to_str().unwrap(), too_long);
    let health = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert!(health.headers.contains_key("x-request-id"));
}

async fn probe(app: &TestApp, token: &str, request_id: &str) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", request_id)
        .body(Body::from(json!({"query": "query Probe { customers { totalCount } }"}).to_string()))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.body["data"]["customers"]["totalCount"], 0, "{}", reply.text);
}

fn slow_resolvers(request_id: &str) -> Vec<serde_json::Value> {
    crate::helpers::logs()
        .of_request(request_id)
        .into_iter()
        .filter(|line| line["fields"]["message"] == "slow resolver")
        .collect()
}

#[tokio::test]
async fn resolvers_slower_than_the_threshold_are_logged_in_their_requests_span() {
    let app = TestApp::spawn_with(|c| c.slow_resolver = Some(std::time::Duration::from_secs(10))).await;
    let cast = app.cast().await;
    let quiet = format!("quiet-{}", uuid::Uuid::new_v4());
    probe(&app, &cast.rep_a.token, &quiet).await;
    assert!(slow_resolvers(&quiet).is_empty(), "nothing takes 10 s: {:?}", slow_resolvers(&quiet));

    let watched = TestApp::spawn_with(|c| c.slow_resolver = Some(std::time::Duration::from_nanos(1))).await;
    let cast = watched.cast().await;
    let traced = format!("traced-{}", uuid::Uuid::new_v4());
    probe(&watched, &cast.rep_a.token, &traced).await;
    let slow = slow_resolvers(&traced);
    let customers = slow.iter().find(|l| l["fields"]["path"] == "customers").expect("the root field is logged");
    assert_eq!(customers["fields"]["parent_type"], "Query");
    assert!(customers["fields"]["elapsed_ms"].as_f64().is_some());
    assert_eq!(customers["span"]["operation"], "Probe");
    assert_eq!(customers["span"]["viewer_id"], cast.rep_a.id);
    assert!(slow.iter().any(|l| l["fields"]["path"] == "customers.totalCount"), "{slow:?}");
}
