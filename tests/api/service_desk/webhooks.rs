//! Webhooks end to end: a real receiver on a local port verifies every
//! message with the Standard Webhooks algorithm, fails on purpose, and the
//! deliveries, attempts, retries, restarts and rotations are checked.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Cast, TestApp};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: i64,
    signatures: Vec<String>,
    body: String,
    at: std::time::Instant,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A local receiver answering with the scripted statuses, then 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Self, String) {
        let receiver = Self::default();
        receiver.script.lock().unwrap().extend(script);
        let app = Router::new().route("/hook", post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn answer(&self, script: &[u16]) {
        let mut queue = self.script.lock().unwrap();
        queue.clear();
        queue.extend(script);
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            if self.got().len() >= count {
                return self.got();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let types: Vec<String> = self.got().iter().map(|m| m.json()["type"].to_string()).collect();
        panic!("the receiver got {} requests, not {count}: {types:?}", types.len());
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    receiver.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
        signatures: header("webhook-signature").split(' ').map(str::to_owned).collect(),
        body: String::from_utf8(body.to_vec()).unwrap(),
        at: std::time::Instant::now(),
    });
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// The Standard Webhooks verification, as its libraries do it: the HMAC-SHA256
/// of `id.timestamp.body` under the base64 key after `whsec_`, compared with
/// each `v1,` signature of the header, and a timestamp within five minutes.
fn verifies(secret: &str, message: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", message.id, message.timestamp, message.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let fresh = (chrono::Utc::now().timestamp() - message.timestamp).abs() < 300;
    fresh && message.signatures.iter().any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// CI (`.ci/run`) also has the published Python library (`standardwebhooks`)
/// verify what the receiver got, as a real receiver would; set
/// `RAPPORT_VERIFY_WITH_STANDARDWEBHOOKS=1` (with the package installed) to do the same.
fn verify_with_published_library(secret: &str, messages: &[Received]) {
    if std::env::var("RAPPORT_VERIFY_WITH_STANDARDWEBHOOKS").is_err() {
        return;
    }
    let captured: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "secret": secret,
                "body": m.body,
                "headers": {
                    "webhook-id": m.id,
                    "webhook-timestamp": m.timestamp.to_string(),
                    "webhook-signature": m.signatures.join(" "),
                },
            })
        })
        .collect();
    let file = std::env::temp_dir().join(format!("rapport-webhooks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_vec(&captured).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/verify_standard_webhooks.py");
    let output = std::process::Command::new("python3").arg(script).arg(&file).output().expect("python3");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "standardwebhooks refused our messages: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn app_with_webhooks(retries: &[u64], sweep_ms: u64) -> TestApp {
    let retries: Vec<Duration> = retries.iter().map(|ms| Duration::from_millis(*ms)).collect();
    TestApp::spawn_with(move |c| {
        c.webhook.allow_private = true;
        c.webhook.retries = retries;
        c.webhook.poll = Duration::from_millis(40);
        c.webhook.sweep = Duration::from_millis(sweep_ms);
        c.webhook.timeout = Duration::from_secs(2);
    })
    .await
}

const CREATE: &str = r#"mutation($url: String!, $types: [WebhookEventType!]) {
  createWebhookEndpoint(url: $url, eventTypes: $types, description: "ERP") { secret endpoint { id url eventTypes active } } }"#;

const DELIVERIES: &str = r#"query($e: ID) { webhookDeliveries(endpointId: $e) { totalCount edges { node {
  id messageId eventType status attemptCount lastStatusCode deliveredAt payload
  attempts { number statusCode succeeded error attemptedAt durationMs } } } } }"#;

async fn endpoint(app: &TestApp, cast: &Cast, url: &str, types: Value) -> (String, String) {
    let reply = app.gql(&cast.admin, CREATE, json!({ "url": url, "types": types })).await;
    let created = &reply.ok()["createWebhookEndpoint"];
    (created["endpoint"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

async fn ticket(app: &TestApp, cast: &Cast, customer: &str) -> String {
    let reply = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": customer}))
        .await;
    reply.ok()["createTicket"]["id"].as_str().unwrap().to_owned()
}

async fn deliveries(app: &TestApp, cast: &Cast, endpoint: &str) -> Vec<Value> {
    let reply = app.gql(&cast.admin, DELIVERIES, json!({ "e": endpoint })).await;
    reply.ok()["webhookDeliveries"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

#[tokio::test]
async fn endpoints_are_for_admins_and_their_urls_are_checked() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "ftp://93.184.216.34/x",
        "nonsense",
        // IPv6 forms that reach an inside IPv4 address through translation.
        "http://[::127.0.0.1]/x",
        "http://[64:ff9b::a9fe:a9fe]/latest",
        "http://[2002:7f00:1::1]/x",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",
    ] {
        let reply = app.gql(&cast.admin, CREATE, json!({ "url": url })).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{url}: {}", reply.text);
    }
    let reply = app.gql(&cast.rep_a, CREATE, json!({ "url": "https://93.184.216.34/hook" })).await;
    assert_eq!(reply.code(), Some("FORBIDDEN"));
    let reply = app.gql(&cast.admin, CREATE, json!({ "url": "https://93.184.216.34/hook", "types": [] })).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));

    let (id, secret) = endpoint(&app, &cast, "https://93.184.216.34/hook", Value::Null).await;
    assert!(secret.starts_with("whsec_"));
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    let list = app
        .gql(&cast.admin, "{ webhookEndpoints { totalCount edges { node { id eventTypes active } } } }", json!({}))
        .await;
    assert_eq!(list.ok()["webhookEndpoints"]["edges"][0]["node"]["eventTypes"], Value::Null);
    let updated = app
        .gql(&cast.admin, "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {eventTypes: [CUSTOMER_LOST]}) { eventTypes } }", json!({"id": id}))
        .await;
    assert_eq!(updated.ok()["updateWebhookEndpoint"]["eventTypes"], json!(["CUSTOMER_LOST"]));
    let disabled = app
        .gql(&cast.admin, "mutation($id: ID!) { disableWebhookEndpoint(id: $id) { active } }", json!({"id": id}))
        .await;
    assert_eq!(disabled.ok()["disableWebhookEndpoint"]["active"], false);
    // The secret is never stored in the audit trail.
    let audit = app.gql(&cast.admin, "{ auditLog(first: 50) { edges { node { changes } } } }", json!({})).await;
    assert!(!audit.text.contains(&secret[6..]));
}

#[tokio::test]
async fn a_receiver_failing_then_accepting_gets_the_event_once_signed_with_every_attempt_recorded() {
    let app = app_with_webhooks(&[150, 300, 600], 3_600_000).await;
    let cast = app.cast().await;
    let (tickets, tickets_url) = Receiver::start(&[500, 503]).await;
    let (losses, losses_url) = Receiver::start(&[]).await;
    let (endpoint_id, secret) = endpoint(&app, &cast, &tickets_url, json!(["TICKET_CREATED"])).await;
    let (losses_id, losses_secret) = endpoint(&app, &cast, &losses_url, json!(["CUSTOMER_LOST"])).await;

    let customer = app.customer(&cast.rep_a, "Acme").await;
    let ticket_id = ticket(&app, &cast, &customer).await;
    let got = tickets.wait_for(3).await;
    // Three attempts of one message, each signed; the backoff between them grows.
    assert!(got.iter().all(|m| m.id == got[0].id && m.body == got[0].body));
    assert!(got.iter().all(|m| verifies(&secret, m)), "a signature does not verify");
    verify_with_published_library(&secret, &got);
    assert!(!verifies(&losses_secret, &got[0]));
    let body = got[0].json();
    assert_eq!(body["type"], "ticket.created");
    assert_eq!(body["data"]["ticketId"], ticket_id.as_str());
    assert_eq!(body["data"]["customerId"], customer.as_str());
    assert!(got[1].at - got[0].at >= Duration::from_millis(110));
    assert!(got[2].at - got[1].at >= Duration::from_millis(230));

    tokio::time::sleep(Duration::from_millis(200)).await;
    let list = deliveries(&app, &cast, &endpoint_id).await;
    assert_eq!(list.len(), 1);
    let delivery = &list[0];
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["eventType"], "TICKET_CREATED");
    assert_eq!(delivery["messageId"], got[0].id.as_str());
    assert_eq!(delivery["attemptCount"], 3);
    let codes: Vec<Value> = delivery["attempts"].as_array().unwrap().iter().map(|a| a["statusCode"].clone()).collect();
    assert_eq!(codes, vec![json!(500), json!(503), json!(200)]);
    assert_eq!(delivery["attempts"][0]["error"], "the receiver answered 500");
    assert!(delivery["deliveredAt"].is_string());
    // Nothing more comes.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(tickets.got().len(), 3);

    // The other endpoint only hears what it subscribed to.
    assert!(losses.got().is_empty());
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!) { markCustomerLost(id: $c, reason: PRICE) { customer { id } } }",
        json!({"c": customer}),
    )
    .await
    .ok();
    let lost = losses.wait_for(1).await;
    assert_eq!(lost[0].json()["type"], "customer.lost");
    assert_eq!(lost[0].json()["data"]["reason"], "PRICE");
    assert!(verifies(&losses_secret, &lost[0]));
    assert_eq!(deliveries(&app, &cast, &losses_id).await.len(), 1);
    assert_eq!(tickets.got().len(), 3);

    // Deliveries are for admins only.
    let reply = app.gql(&cast.leader, DELIVERIES, json!({ "e": endpoint_id })).await;
    assert_eq!(reply.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_delivery_pending_at_a_restart_is_delivered_by_the_next_instance() {
    let app = app_with_webhooks(&[400, 400, 400, 400, 400, 400], 3_600_000).await;
    let cast = app.cast().await;
    let (receiver, url) = Receiver::start(&[503; 50]).await;
    let (endpoint_id, secret) = endpoint(&app, &cast, &url, Value::Null).await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    ticket(&app, &cast, &customer).await;
    receiver.wait_for(1).await;

    // The instance goes away between attempts; the receiver recovers; a new instance starts.
    let restarted = app.restart().await;
    receiver.answer(&[]);
    let got = receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = deliveries(&restarted, &cast, &endpoint_id).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "SUCCEEDED");
    assert_eq!(list[0]["attemptCount"].as_i64().unwrap() as usize, receiver.got().len());
    assert!(got.iter().all(|m| m.id == got[0].id && verifies(&secret, m)));
}

#[tokio::test]
async fn a_refused_delivery_fails_at_once_and_is_redelivered_signed_with_the_new_and_the_previous_secret() {
    let app = app_with_webhooks(&[100, 100], 3_600_000).await;
    let cast = app.cast().await;
    let (receiver, url) = Receiver::start(&[410]).await;
    let (endpoint_id, old_secret) = endpoint(&app, &cast, &url, Value::Null).await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    ticket(&app, &cast, &customer).await;
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = deliveries(&app, &cast, &endpoint_id).await;
    assert_eq!(list[0]["status"], "FAILED");
    assert_eq!(list[0]["attemptCount"], 1);
    assert_eq!(receiver.got().len(), 1);

    let rotated = app
        .gql(
            &cast.admin,
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { previousSecretExpiresAt } } }",
            json!({"id": endpoint_id}),
        )
        .await;
    let new_secret = rotated.ok()["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    assert!(rotated.ok()["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"].is_string());

    let again = app
        .gql(
            &cast.admin,
            "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }",
            json!({"id": list[0]["id"]}),
        )
        .await;
    assert_eq!(again.ok()["redeliverWebhook"]["status"], "PENDING");
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].signatures.len(), 2);
    assert!(verifies(&new_secret, &got[1]) && verifies(&old_secret, &got[1]));
    verify_with_published_library(&new_secret, &got[1..]);
    verify_with_published_library(&old_secret, &got[1..]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let list = deliveries(&app, &cast, &endpoint_id).await;
    assert_eq!(list[0]["status"], "SUCCEEDED");
    assert_eq!(list[0]["attemptCount"], 2);
}

#[tokio::test]
async fn breached_slas_and_overdue_promises_are_announced_once() {
    let app = app_with_webhooks(&[100], 100).await;
    let cast = app.cast().await;
    let (receiver, url) = Receiver::start(&[]).await;
    endpoint(&app, &cast, &url, json!(["TICKET_SLA_BREACHED", "COMMITMENT_OVERDUE"])).await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let ticket_id = ticket(&app, &cast, &customer).await;
    let promise = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"2% rebate\", dueOn: \"2099-01-01\"}) { id } }", json!({"c": customer}))
        .await;
    let promise = promise.ok()["createCommitment"]["id"].as_str().unwrap().to_owned();
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let ticket_row = crate::helpers::raw_id(&ticket_id);
    app.set_time("ticket", "first_response_due_at", past, &format!("id = {ticket_row}")).await;
    app.db
        .execute_unprepared(&format!(
            "UPDATE commitment SET due_on = '2020-01-01' WHERE id = {}",
            crate::helpers::raw_id(&promise)
        ))
        .await
        .unwrap();
    let got = receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 2, "announced more than once");
    let mut types: Vec<String> = got.iter().map(|m| m.json()["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    assert_eq!(types, vec!["commitment.overdue", "ticket.sla_breached"]);
    let breach = got.iter().map(Received::json).find(|b| b["type"] == "ticket.sla_breached").unwrap();
    assert_eq!(breach["data"]["ticketId"], ticket_id.as_str());
    assert_eq!(breach["data"]["target"], "FIRST_RESPONSE");
}

use sea_orm::ConnectionTrait;

/// The one SLA-breach rule (a deadline passed without the response, or the
/// response came after it) holds for webhooks too: an open ticket answered
/// late is announced, as the ticket list's `breached` filter shows it.
#[tokio::test]
async fn an_open_ticket_answered_late_is_announced_as_breached() {
    let app = app_with_webhooks(&[100], 100).await;
    let cast = app.cast().await;
    let (receiver, url) = Receiver::start(&[]).await;
    endpoint(&app, &cast, &url, json!(["TICKET_SLA_BREACHED"])).await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let late = ticket(&app, &cast, &customer).await;
    let on_time = ticket(&app, &cast, &customer).await;
    let now = chrono::Utc::now();
    let (late_row, on_time_row) = (crate::helpers::raw_id(&late), crate::helpers::raw_id(&on_time));
    app.set_time("ticket", "first_response_due_at", now - chrono::Duration::hours(2), &format!("id = {late_row}"))
        .await;
    app.set_time("ticket", "first_responded_at", now - chrono::Duration::hours(1), &format!("id = {late_row}")).await;
    app.set_time("ticket", "first_responded_at", now - chrono::Duration::hours(1), &format!("id = {on_time_row}"))
        .await;

    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listed =
        app.gql(&cast.rep_a, "{ tickets(filter: {breached: true}) { edges { node { id } } } }", json!({})).await;

    assert_eq!(receiver.got().len(), 1, "one breach, announced once");
    assert_eq!(got[0].json()["data"]["ticketId"], late.as_str());
    assert_eq!(got[0].json()["data"]["target"], "FIRST_RESPONSE");
    assert_eq!(listed.ok()["tickets"]["edges"], json!([{"node": {"id": late}}]));
}

#[tokio::test]
async fn every_kind_of_change_event_reaches_an_endpoint_listening_to_everything() {
    let app = app_with_webhooks(&[100], 3_600_000).await;
    let cast = app.cast().await;
    let (receiver, url) = Receiver::start(&[]).await;
    let (_, secret) = endpoint(&app, &cast, &url, Value::Null).await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    // The first score of a customer is no change of level.
    app.gql(&cast.admin, "mutation { refreshAccountHealth }", json!({})).await.ok();
    let before = app
        .gql(
            &cast.rep_a,
            "query($id: ID!) { node(id: $id) { ... on Customer { health { level } } } }",
            json!({"id": acme}),
        )
        .await;
    let before = before.ok()["node"]["health"]["level"].as_str().unwrap().to_owned();

    let ticket_id = ticket(&app, &cast, &acme).await;
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { changeTicketStatus(id: $id, expectedVersion: 1, status: IN_PROGRESS) { id } }",
        json!({"id": ticket_id}),
    )
    .await
    .ok();
    // Contacts at two levels, an executive meeting and a strategic tier lift the account's health.
    let ana = app.contact(&cast.rep_a, &acme, "Ana", "PURCHASING").await;
    let cy = app.contact(&cast.rep_a, &acme, "Cy", "EXECUTIVE").await;
    app.gql(&cast.rep_a, r#"mutation($c: ID!, $k: [ID!]!) { logCommunication(input: {customerId: $c, channel: EXECUTIVE_MEETING, summary: "s", contactIds: $k}) { id } }"#, json!({"c": acme, "k": [ana, cy]}))
        .await
        .ok();
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { setPartnership(customerId: $id, input: {tier: STRATEGIC}) { id } }",
        json!({"id": acme}),
    )
    .await
    .ok();
    app.gql(&cast.admin, "mutation { refreshAccountHealth }", json!({})).await.ok();
    let after = app
        .gql(
            &cast.rep_a,
            "query($id: ID!) { node(id: $id) { ... on Customer { health { level } } } }",
            json!({"id": acme}),
        )
        .await;
    let after = after.ok()["node"]["health"]["level"].as_str().unwrap().to_owned();
    assert_ne!(before, after);

    app.gql(
        &cast.leader,
        "mutation($f: ID!, $t: ID!) { reassignCustomers(fromUserId: $f, toUserId: $t) }",
        json!({"f": cast.rep_a.gid, "t": cast.rep_a2.gid}),
    )
    .await
    .ok();
    app.gql(
        &cast.leader,
        "mutation($c: ID!) { markCustomerLost(id: $c, reason: SERVICE) { customer { id } } }",
        json!({"c": acme}),
    )
    .await
    .ok();
    app.gql(&cast.leader, "mutation($c: ID!) { markCustomerWonBack(id: $c) { customer { id } } }", json!({"c": acme}))
        .await
        .ok();

    let got = receiver.wait_for(6).await;
    assert!(got.iter().all(|m| verifies(&secret, m)));
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    let of = |kind: &str| {
        bodies.iter().find(|b| b["type"] == kind).cloned().unwrap_or_else(|| panic!("no {kind}: {bodies:?}"))
    };
    assert_eq!(of("ticket.created")["data"]["ticketId"], ticket_id.as_str());
    assert_eq!(of("ticket.status_changed")["data"]["from"], "OPEN");
    assert_eq!(of("ticket.status_changed")["data"]["to"], "IN_PROGRESS");
    assert_eq!(of("health.level_changed")["data"]["from"], before.as_str());
    assert_eq!(of("health.level_changed")["data"]["to"], after.as_str());
    assert_eq!(of("customer.reassigned")["data"]["fromOwnerId"], cast.rep_a.gid.as_str());
    assert_eq!(of("customer.reassigned")["data"]["toOwnerId"], cast.rep_a2.gid.as_str());
    assert_eq!(of("customer.lost")["data"]["reason"], "SERVICE");
    assert_eq!(of("customer.won_back")["data"]["customerId"], acme.as_str());
    // Each event once, each with its own message id.
    let ids: std::collections::BTreeSet<&str> = got.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), got.len());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.got().len(), 6);
}

/// A new task is announced as `task.created` (by hand or from a follow-up), and
/// an open task past its due date as `task.overdue`, once per due date.
#[tokio::test]
async fn tasks_are_announced_when_created_and_when_overdue() {
    let app = app_with_webhooks(&[100], 100).await;
    let cast = app.cast().await;
    let (receiver, url) = Receiver::start(&[]).await;
    endpoint(&app, &cast, &url, json!(["TASK_CREATED", "TASK_OVERDUE"])).await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let task = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTask(customerId: $c, input: {title: \"Call back\", dueOn: \"2099-01-01\"}) { id } }", json!({"c": customer}))
        .await;
    let task = task.ok()["createTask"]["id"].as_str().unwrap().to_owned();
    let created = receiver.wait_for(1).await;
    let created = created[0].json();
    assert_eq!(created["type"], "task.created");
    assert_eq!(
        created["data"],
        json!({"taskId": task, "customerId": customer, "ownerId": cast.rep_a.gid, "source": "MANUAL", "dueOn": "2099-01-01", "priority": "MEDIUM"})
    );

    let row = crate::helpers::raw_id(&task);
    app.db.execute_unprepared(&format!("UPDATE task SET due_on = '2020-01-01' WHERE id = {row}")).await.unwrap();
    let got = receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 2, "announced more than once");
    let overdue = got[1].json();
    assert_eq!(overdue["type"], "task.overdue");
    assert_eq!(overdue["data"]["taskId"], task.as_str());
    assert_eq!(overdue["data"]["dueOn"], "2020-01-01");
    // Done work is not overdue: closing it and moving the date announces nothing more.
    app.gql(&cast.rep_a, "mutation($id: ID!) { completeTask(id: $id) { id } }", json!({"id": task})).await.ok();
    app.db.execute_unprepared(&format!("UPDATE task SET due_on = '2020-02-01' WHERE id = {row}")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 2);
}
