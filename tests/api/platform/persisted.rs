//! Automatic persisted queries (the Apollo protocol) over POST and GET.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Reply, TestApp};

const QUERY: &str = "query Mine { customers(first: 5) { totalCount edges { node { name } } } }";

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

async fn post(app: &TestApp, token: &str, body: Value) -> Reply {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

async fn get(app: &TestApp, token: &str, params: &[(&str, String)]) -> Reply {
    let query = serde_urlencoded::to_string(params).unwrap();
    let request = Request::get(format!("/graphql?{query}"))
        .header(header::ACCEPT, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn a_hash_alone_runs_the_document_once_it_was_sent_with_it() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "Acme").await;
    let hash = sha256(QUERY);

    let miss = post(&app, &cast.rep_a.token, json!({"extensions": persisted(&hash)})).await;
    let registered = post(&app, &cast.rep_a.token, json!({"query": QUERY, "extensions": persisted(&hash)})).await;
    let hit = post(&app, &cast.rep_a.token, json!({"extensions": persisted(&hash)})).await;
    // Another user runs the same document by hash, with their own access.
    let other = post(&app, &cast.rep_b.token, json!({"extensions": persisted(&hash)})).await;

    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.code(), Some("PERSISTED_QUERY_NOT_FOUND"), "{}", miss.body);
    assert_eq!(miss.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(miss.body.get("data").is_none());
    assert_eq!(registered.ok()["customers"]["edges"][0]["node"]["name"], "Acme");
    assert_eq!(hit.ok(), registered.ok());
    assert_eq!(other.ok()["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn get_runs_a_persisted_query_and_no_cache_keeps_the_answer() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "Acme").await;
    let hash = sha256(QUERY);
    let extensions = persisted(&hash).to_string();

    let miss = get(&app, &cast.rep_a.token, &[("extensions", extensions.clone())]).await;
    let registered =
        get(&app, &cast.rep_a.token, &[("query", QUERY.to_owned()), ("extensions", extensions.clone())]).await;
    let hit = get(&app, &cast.rep_a.token, &[("extensions", extensions)]).await;

    assert_eq!(miss.code(), Some("PERSISTED_QUERY_NOT_FOUND"));
    assert_eq!(registered.ok()["customers"]["totalCount"], 1);
    assert_eq!(hit.ok()["customers"]["edges"][0]["node"]["name"], "Acme");
    for reply in [&miss, &registered, &hit] {
        assert_eq!(reply.headers[header::CACHE_CONTROL], "private, no-store");
    }
}

#[tokio::test]
async fn a_wrong_hash_is_refused_and_not_kept() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let wrong = sha256("{ __typename }");

    let refused = post(&app, &cast.rep_a.token, json!({"query": QUERY, "extensions": persisted(&wrong)})).await;
    let after = post(&app, &cast.rep_a.token, json!({"extensions": persisted(&wrong)})).await;
    let not_hex = post(&app, &cast.rep_a.token, json!({"extensions": persisted("xyz")})).await;
    let version = post(
        &app,
        &cast.rep_a.token,
        json!({"query": QUERY, "extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha256(QUERY)}}}),
    )
    .await;

    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.code(), Some("BAD_REQUEST"));
    assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("sha256Hash"));
    assert_eq!(after.code(), Some("PERSISTED_QUERY_NOT_FOUND"), "a refused document is not kept");
    assert_eq!(not_hex.code(), Some("BAD_REQUEST"));
    assert_eq!(version.code(), Some("BAD_REQUEST"));
    assert!(app.state.persisted.is_empty());
}

#[tokio::test]
async fn documents_that_fail_the_checks_or_come_without_a_token_are_not_kept() {
    let app = TestApp::spawn().await;
    let invalid = "{ customers { nope } }";
    let cast = app.cast().await;

    let failed =
        post(&app, &cast.rep_a.token, json!({"query": invalid, "extensions": persisted(&sha256(invalid))})).await;
    let anonymous = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"query": QUERY, "extensions": persisted(&sha256(QUERY))}).to_string()))
                .unwrap(),
        )
        .await;

    assert_eq!(failed.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(app.state.persisted.is_empty());
}
