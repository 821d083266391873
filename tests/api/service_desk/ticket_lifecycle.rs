//! The ticket life cycle, SLA state and concurrent writers.

use serde_json::json;

use crate::helpers::TestApp;

const STATUS: &str = "mutation($id: ID!, $v: Int!, $s: TicketStatus!) { changeTicketStatus(id: $id, expectedVersion: $v, status: $s) { status version resolvedAt firstRespondedAt slaState } }";

#[tokio::test]
async fn tickets_follow_the_transition_table() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let created = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: PRICE}) { id } }", json!({"c": customer}))
        .await;
    let id = created.ok()["createTicket"]["id"].clone();
    let change = |version: i32, status: &str| {
        let app = &app;
        let rep = cast.rep_a.clone();
        let id = id.clone();
        let status = status.to_owned();
        async move { app.gql(&rep, STATUS, json!({"id": id, "v": version, "s": status})).await }
    };

    let closed_early = change(1, "CLOSED").await;
    let events_before = app.count("ticket_event").await;
    let working = change(1, "IN_PROGRESS").await;
    let resolved = change(2, "RESOLVED").await;
    let closed = change(3, "CLOSED").await;
    let reopened = change(4, "REOPENED").await;
    let stale = change(4, "IN_PROGRESS").await;

    assert_eq!(closed_early.code(), Some("CONFLICT"));
    assert_eq!(
        closed_early.body["errors"][0]["extensions"]["allowed"],
        json!(["IN_PROGRESS", "WAITING_ON_CUSTOMER", "RESOLVED"])
    );
    assert_eq!(events_before, 1, "a refused transition writes nothing");
    assert!(working.ok()["changeTicketStatus"]["firstRespondedAt"].is_string(), "a status change is a first response");
    assert!(resolved.ok()["changeTicketStatus"]["resolvedAt"].is_string());
    assert_eq!(closed.ok()["changeTicketStatus"]["status"], "CLOSED");
    assert_eq!(reopened.ok()["changeTicketStatus"]["resolvedAt"], serde_json::Value::Null);
    assert_eq!(stale.code(), Some("CONFLICT"));
    assert_eq!(stale.body["errors"][0]["extensions"]["currentVersion"], 5);
    assert_eq!(app.count("ticket_event").await, 5);
}

#[tokio::test]
async fn breached_tickets_are_flagged_and_filterable() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    for title in ["late", "fine"] {
        app.gql(&cast.rep_a, "mutation($c: ID!, $t: String!) { createTicket(input: {customerId: $c, title: $t, description: \"d\", category: SERVICE, priority: URGENT}) { id } }", json!({"c": customer, "t": title}))
            .await
            .ok();
    }
    // The first response of "late" was due an hour ago.
    let backend = app.db.get_database_backend();
    use sea_orm::ConnectionTrait;
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            format!("UPDATE ticket SET first_response_due_at = '{past}'::timestamptz WHERE title = 'late'")
        }
        _ => format!("UPDATE ticket SET first_response_due_at = '{past}' WHERE title = 'late'"),
    };
    app.db.execute_unprepared(&sql).await.unwrap();
    let list = |filter: serde_json::Value| {
        let app = &app;
        let rep = cast.rep_a.clone();
        async move {
            let reply = app.gql(&rep, "query($f: TicketFilterInput) { tickets(filter: $f) { edges { node { title slaState firstResponseBreached } } } }", json!({"f": filter})).await;
            reply.ok()["tickets"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect::<Vec<_>>()
        }
    };

    let breached = list(json!({"breached": true})).await;
    let fine = list(json!({"breached": false})).await;
    let due_soon = list(json!({"dueBefore": (chrono::Utc::now() + chrono::Duration::hours(13)).to_rfc3339()})).await;

    assert_eq!(breached, vec![json!({"title": "late", "slaState": "BREACHED", "firstResponseBreached": true})]);
    assert_eq!(fine, vec![json!({"title": "fine", "slaState": "ON_TRACK", "firstResponseBreached": false})]);
    assert_eq!(due_soon.len(), 0, "URGENT resolution is due in 24 hours");
}

/// 50 writers comment on one ticket at once, each retrying on CONFLICT: no
/// update is lost and the history has no gaps.
#[tokio::test]
async fn fifty_concurrent_writers_lose_no_update() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let created = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": customer}))
        .await;
    let id = created.ok()["createTicket"]["id"].as_str().unwrap().to_owned();

    let writers = (0..50).map(|n| {
        let app = &app;
        let rep = cast.rep_a.clone();
        let id = id.clone();
        async move {
            let mut conflicts = 0;
            loop {
                let version = app.gql(&rep, "query($id: ID!) { node(id: $id) { ... on Ticket { version } } }", json!({"id": id})).await.ok()["node"]["version"].clone();
                let reply = app
                    .gql(&rep, "mutation($id: ID!, $v: Int!, $b: String!) { commentOnTicket(id: $id, expectedVersion: $v, body: $b) { ticket { version } } }", json!({"id": id, "v": version, "b": format!("writer {n}")}))
                    .await;
                match reply.code() {
                    None => return conflicts,
                    Some("CONFLICT") => conflicts += 1,
                    other => panic!("unexpected {other:?}: {}", reply.body),
                }
            }
        }
    });
    let conflicts: Vec<u32> = futures_util::future::join_all(writers).await;

    let ticket = app.gql(&cast.rep_a, "query($id: ID!) { node(id: $id) { ... on Ticket { version events(first: 100) { totalCount edges { node { kind body } } } } } }", json!({"id": id})).await;
    let node = &ticket.ok()["node"];
    assert_eq!(node["version"], 51);
    assert_eq!(node["events"]["totalCount"], 51);
    let mut bodies: Vec<String> = node["events"]["edges"].as_array().unwrap()[1..]
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap().to_owned())
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..50).map(|n| format!("writer {n}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "every writer's comment is in the history exactly once");
    assert!(conflicts.iter().sum::<u32>() > 0, "the writers did overlap");
}
