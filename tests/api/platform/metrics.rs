//! `/metrics`: the counters move with what the server does, and the sampled
//! gauges (pool, webhook queue, sockets, subscriptions) are there.

use std::time::Duration;

use serde_json::json;

use crate::{helpers::TestApp, ws_client::WsClient};

async fn scrape(app: &TestApp) -> String {
    let reply = app.send(axum::http::Request::get("/metrics").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK);
    reply.text
}

/// The sum of every sample of a metric whose line contains all of `parts`.
fn value(text: &str, name: &str, parts: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && (l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{"))))
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn the_counters_move_with_the_work_and_the_gauges_are_sampled() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let before = scrape(&app).await;

    app.gql(&cast.rep_a, "query MetricsProbe { customers { totalCount } }", json!({})).await.ok();
    let refused = app
        .gql_as(None, "mutation { login(email: \"rep.a@t.example\", password: \"wrong\") { accessToken } }", json!({}))
        .await;
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;
    ws.subscribe("live", "subscription { ticketEvents { ticket { id } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": customer}))
        .await
        .ok();
    assert!(ws.next_within(Duration::from_secs(2)).await.is_some_and(|m| m.is_ok()));
    let after = scrape(&app).await;

    let moved = |name: &str, parts: &[&str]| value(&after, name, parts) - value(&before, name, parts);
    assert!(moved("rapport_http_requests_total", &["operation=\"MetricsProbe\""]) >= 1.0, "{after}");
    assert!(value(&after, "rapport_http_request_seconds_count", &["operation=\"MetricsProbe\""]) >= 1.0);
    assert!(moved("rapport_graphql_errors_total", &["code=\"UNAUTHENTICATED\""]) >= 1.0);
    assert!(moved("rapport_sign_in_failures_total", &["reason=\"wrong_password\""]) >= 1.0);
    assert!(moved("rapport_sql_statements_total", &[]) >= 1.0);
    // The probe ran its statements in its own request: counted per request.
    assert!(value(&after, "rapport_request_sql_statements_count", &["operation=\"MetricsProbe\""]) >= 1.0);
    assert!(value(&after, "rapport_request_sql_statements_sum", &["operation=\"MetricsProbe\""]) >= 1.0, "{after}");
    assert!(value(&after, "rapport_request_sql_seconds_sum", &["operation=\"MetricsProbe\""]) > 0.0);
    assert!(moved("rapport_ticket_events_published_total", &[]) >= 1.0);
    assert!(moved("rapport_ticket_events_delivered_total", &[]) >= 1.0);
    assert!(value(&after, "rapport_websockets_open", &[]) >= 1.0);
    assert!(value(&after, "rapport_subscriptions_active", &[]) >= 1.0);
    assert!(after.contains("rapport_db_pool_connections{state=\"idle\"}"));
    assert!(after.contains("rapport_webhook_queue_depth"));
    assert!(value(&after, "rapport_db_pool_connections_max", &[]) >= 1.0);
    // Label values are bounded: no user ids, no documents.
    assert!(!after.contains("customers { totalCount }"));
}

/// The metric families the README's table lists (its rows start with `` | `rapport_``).
fn families_in_the_readme() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut families = Vec::new();
    for row in readme.lines().filter(|line| line.starts_with("| `rapport_")) {
        let first_cell = row.split('|').nth(1).unwrap();
        for name in first_cell.split('`').skip(1).step_by(2) {
            families.push(name.split('{').next().unwrap().to_owned());
        }
    }
    families
}

#[tokio::test]
async fn every_family_in_the_readme_is_there_at_the_first_scrape_of_a_new_process() {
    let app = TestApp::spawn().await;
    let families = families_in_the_readme();
    assert!(families.len() >= 20, "{families:?}");
    let (mut child, addr) = app.start_process().await;
    let first = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();

    let missing: Vec<&String> =
        families.iter().filter(|family| !first.contains(&format!("# TYPE {family} "))).collect();
    assert!(missing.is_empty(), "missing at the first scrape: {missing:?}\n{first}");
    for series in [
        "rapport_websockets_open 0",
        "rapport_subscriptions_active 0",
        "rapport_ticket_events_dropped_total 0",
        "rapport_webhook_attempts_total{outcome=\"failed\"} 0",
        "rapport_rate_limited_total{transport=\"websocket\"} 0",
        "rapport_db_unavailable_total{reason=\"unreachable\"} 0",
        "rapport_sql_errors_total{kind=\"select\"} 0",
        "rapport_slow_resolvers_total 0",
        "rapport_graphql_errors_total{code=\"FORBIDDEN\"} 0",
    ] {
        assert!(first.lines().any(|line| line == series), "{series} is not at zero in\n{first}");
    }
}
