//! Tickets: creation with SLA deadlines, field updates, comments and history.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_ticket_gets_sla_deadlines_and_a_history() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let contact = app.contact(&cast.rep_a, &customer, "Reporter", "PURCHASING").await;

    let created = app
        .gql(&cast.rep_a, r#"mutation($c: ID!, $p: ID!) { createTicket(input: {customerId: $c, contactId: $p, title: "Late delivery", description: "Three pallets missing", category: DELIVERY, priority: URGENT}) {
            id status priority version createdAt firstResponseDueAt resolutionDueAt contact { name } } }"#, json!({"c": customer, "p": contact}))
        .await;
    let ticket = created.ok()["createTicket"].clone();
    let id = ticket["id"].as_str().unwrap();
    let updated = app
        .gql(&cast.rep_a, "mutation($id: ID!, $a: ID!) { updateTicket(id: $id, expectedVersion: 1, input: {priority: HIGH, assigneeId: $a}) { priority version assignee { id } } }", json!({"id": id, "a": cast.rep_a.gid}))
        .await;
    let commented = app
        .gql(&cast.rep_a, "mutation($id: ID!) { commentOnTicket(id: $id, expectedVersion: 2, body: \"On it\") { ticket { version firstRespondedAt } event { kind body actor { id } } } }", json!({"id": id}))
        .await;
    let stale = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { commentOnTicket(id: $id, expectedVersion: 2, body: \"again\") { event { kind } } }",
            json!({"id": id}),
        )
        .await;
    let history = app.gql(&cast.rep_a, "query($id: ID!) { node(id: $id) { ... on Ticket { events { totalCount edges { node { kind fromValue toValue } } } } } }", json!({"id": id})).await;

    assert_eq!(ticket["status"], "OPEN");
    assert_eq!(ticket["contact"]["name"], "Reporter");
    let opened = chrono::DateTime::parse_from_rfc3339(ticket["createdAt"].as_str().unwrap()).unwrap();
    let response_due = chrono::DateTime::parse_from_rfc3339(ticket["firstResponseDueAt"].as_str().unwrap()).unwrap();
    assert_eq!((response_due - opened).num_hours(), 2, "URGENT: first response within 2 hours");
    assert_eq!(updated.ok()["updateTicket"]["priority"], "HIGH");
    assert_eq!(updated.ok()["updateTicket"]["version"], 2);
    let comment = &commented.ok()["commentOnTicket"];
    assert_eq!(comment["ticket"]["version"], 3);
    assert!(comment["ticket"]["firstRespondedAt"].is_string());
    assert_eq!(comment["event"]["kind"], "COMMENT");
    assert_eq!(comment["event"]["actor"]["id"], cast.rep_a.gid.as_str());
    assert_eq!(stale.code(), Some("CONFLICT"));
    let kinds: Vec<&str> = history.ok()["node"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["CREATED", "PRIORITY_CHANGE", "ASSIGNMENT", "COMMENT"]);
    assert_eq!(history.ok()["node"]["events"]["edges"][1]["node"]["fromValue"], "URGENT");
}

#[tokio::test]
async fn tickets_are_filtered_by_status_category_and_customer() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let beta = app.customer(&cast.rep_a, "Beta").await;
    for (customer, category) in [(&acme, "QUALITY"), (&acme, "DELIVERY"), (&beta, "QUALITY")] {
        app.gql(&cast.rep_a, "mutation($c: ID!, $k: TicketCategory!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: $k}) { id } }", json!({"c": customer, "k": category}))
            .await
            .ok();
    }
    let count = |filter: serde_json::Value| {
        let app = &app;
        let rep = cast.rep_a.clone();
        async move {
            app.gql(&rep, "query($f: TicketFilterInput) { tickets(filter: $f) { totalCount } }", json!({"f": filter}))
                .await
                .ok()["tickets"]["totalCount"]
                .as_u64()
                .unwrap()
        }
    };

    assert_eq!(count(json!({"categories": ["QUALITY"]})).await, 2);
    assert_eq!(count(json!({"customerId": acme})).await, 2);
    assert_eq!(count(json!({"openOnly": true, "statuses": ["OPEN"]})).await, 3);
    assert_eq!(count(json!({"statuses": ["CLOSED"]})).await, 0);
    let nested = app
        .gql(&cast.rep_a, "query($c: ID!) { customer(id: $c) { openTickets { category } } }", json!({"c": acme}))
        .await;
    assert_eq!(nested.ok()["customer"]["openTickets"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn strategic_accounts_get_tighter_slas() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Key account").await;
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!) { setPartnership(customerId: $c, input: {tier: STRATEGIC, lockIns: [EQUITY]}) { tier } }",
        json!({"c": customer}),
    )
    .await
    .ok();

    let reply = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY, priority: HIGH}) { createdAt firstResponseDueAt } }", json!({"c": customer}))
        .await;

    let t = &reply.ok()["createTicket"];
    let opened = chrono::DateTime::parse_from_rfc3339(t["createdAt"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(t["firstResponseDueAt"].as_str().unwrap()).unwrap();
    assert_eq!((due - opened).num_hours(), 2, "HIGH is 4 hours, halved for STRATEGIC");
}
