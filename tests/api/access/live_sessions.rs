//! A WebSocket connection does not outlive its user: deactivation closes it
//! (4403), an expired token closes it (4401), a role change applies to the
//! next event, and every operation on it obeys the limits HTTP obeys.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    helpers::{Person, TestApp},
    ws_client::WsClient,
};

const EVENTS: &str = "subscription { ticketEvents { event { kind } ticket { title } } }";

async fn ticket(app: &TestApp, who: &Person, customer: &str, title: &str) {
    app.gql(who, "mutation($c: ID!, $t: String!) { createTicket(input: {customerId: $c, title: $t, description: \"d\", category: QUALITY}) { id } }", json!({"c": customer, "t": title}))
        .await
        .ok();
}

/// Runs a query over the socket and returns its `next` payload.
async fn query(ws: &mut WsClient, id: &str, document: &str) -> Value {
    ws.subscribe(id, document, json!({})).await;
    let message = ws.next_json().await;
    assert_eq!(message["id"], id, "{message}");
    message
}

#[tokio::test]
async fn a_deactivated_team_lead_is_disconnected_at_once_and_reads_nothing_more() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Team A account").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.lead_a.token).await;
    let before = query(&mut ws, "q1", "{ customers { totalCount } }").await;
    assert_eq!(before["payload"]["data"]["customers"]["totalCount"], 1);
    assert_eq!(ws.next_json().await, json!({"id": "q1", "type": "complete"}));
    ws.subscribe("live", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    app.gql(
        &cast.admin,
        "mutation($id: ID!, $to: ID!) { deactivateUser(id: $id, reassignTo: $to) { active } }",
        json!({"id": cast.lead_a.gid, "to": cast.leader.gid}),
    )
    .await
    .ok();
    ticket(&app, &cast.rep_a, &customer, "After the deactivation").await;
    let first = ws.next_within(Duration::from_secs(1)).await;

    assert_eq!(first, Some(Err((4403, "Forbidden: the user was deactivated".to_owned()))), "{first:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "closed after {:?}", started.elapsed());
    assert_eq!(ws.next_within(Duration::from_millis(500)).await, None, "nothing after the close");
    let http = app.gql(&cast.lead_a, "{ customers { totalCount } }", json!({})).await;
    assert_eq!(http.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_expired_token_closes_the_socket_with_4401() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let short = app.state.services.tokens.issue_for(cast.rep_a.id, Duration::from_secs(2)).unwrap();
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&short).await;
    ws.subscribe("live", EVENTS, json!({})).await;

    let closed = ws.next_within(Duration::from_secs(5)).await;

    assert_eq!(closed, Some(Err((4401, "Unauthorized: the token expired".to_owned()))));
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_event_and_the_next_operation() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let of_rep_a = app.customer(&cast.rep_a, "Of rep A").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.rep_a2.token).await;
    ws.subscribe("live", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let set_role = "mutation($id: ID!, $r: Role!) { updateUser(id: $id, input: {role: $r}) { role } }";

    ticket(&app, &cast.rep_a, &of_rep_a, "Before").await;
    ws.expect_silence().await;
    app.gql(&cast.admin, set_role, json!({"id": cast.rep_a2.gid, "r": "TEAM_LEAD"})).await.ok();
    ticket(&app, &cast.rep_a, &of_rep_a, "As team lead").await;
    let seen = ws.next_data("live").await;
    let http_as_lead = app.gql(&cast.rep_a2, "{ customers { totalCount } }", json!({})).await;
    let socket_as_lead = query(&mut ws, "q", "{ customers { totalCount } }").await;
    ws.next_json().await; // its `complete`
    app.gql(&cast.admin, set_role, json!({"id": cast.rep_a2.gid, "r": "REP"})).await.ok();
    ticket(&app, &cast.rep_a, &of_rep_a, "Back to rep").await;

    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["title"], "As team lead");
    assert_eq!(http_as_lead.ok()["customers"]["totalCount"], 1, "effective at once over HTTP");
    assert_eq!(socket_as_lead["payload"]["data"]["customers"]["totalCount"], 1);
    ws.expect_silence().await;
}

#[tokio::test]
async fn socket_operations_obey_the_rate_limit_and_the_query_limits() {
    let app = TestApp::spawn_with(|config| {
        config.limits.requests_per_minute = 4;
        config.limits.max_aliases = 2;
        config.limits.max_depth = 3;
    })
    .await;
    let cast = app.cast().await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;

    let aliases = query(&mut ws, "a", "{ a: viewer { id } b: viewer { id } c: viewer { id } }").await;
    let deep = query(&mut ws, "d", "{ customers { edges { node { owner { team { name } } } } } }").await;
    let fine = query(&mut ws, "f", "{ viewer { name } }").await;
    ws.next_json().await; // its `complete`
    let fourth = query(&mut ws, "4", "{ viewer { name } }").await;
    ws.next_json().await;
    let limited = query(&mut ws, "5", "{ viewer { name } }").await;

    assert_eq!(aliases["type"], "error");
    assert_eq!(aliases["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(deep["type"], "error");
    assert_eq!(deep["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(fine["payload"]["data"]["viewer"]["name"], "rep.a");
    assert_eq!(fourth["type"], "next");
    assert_eq!(limited["type"], "error", "{limited}");
    assert_eq!(limited["payload"][0]["extensions"]["code"], "RATE_LIMITED");
}
