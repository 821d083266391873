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
