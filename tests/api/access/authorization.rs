//! Who sees what (DESIGN.md section 4), per role, through every door: lists,
//! totalCount, node(id:), nested fields, child lists, and writes.

use serde_json::{Value, json};

use crate::helpers::{Cast, Person, TestApp};

/// Customers: one of rep A, one of rep A2 (same team), one of rep B (other team).
struct World {
    cast: Cast,
    of_a: String,
    of_a2: String,
    of_b: String,
    contact_of_b: String,
}

async fn world(app: &TestApp) -> World {
    let cast = app.cast().await;
    let of_a = app.customer(&cast.rep_a, "Customer of A").await;
    let of_a2 = app.customer(&cast.rep_a2, "Customer of A2").await;
    let of_b = app.customer(&cast.rep_b, "Customer of B").await;
    let contact_of_b = app.contact(&cast.rep_b, &of_b, "Secret Person", "EXECUTIVE").await;
    app.gql(&cast.rep_b, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": of_b})).await.ok();
    World { cast, of_a, of_a2, of_b, contact_of_b }
}

async fn visible_names(app: &TestApp, who: &Person) -> Vec<String> {
    let reply = app.gql(who, "{ customers { totalCount edges { node { name } } } }", json!({})).await;
    let data = reply.ok();
    let names: Vec<String> = data["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data["customers"]["totalCount"].as_u64().unwrap() as usize, names.len(), "totalCount matches the view");
    names
}

#[tokio::test]
async fn each_role_sees_exactly_its_customers() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let all = ["Customer of A", "Customer of A2", "Customer of B"];

    assert_eq!(visible_names(&app, &w.cast.admin).await, all);
    assert_eq!(visible_names(&app, &w.cast.leader).await, all);
    assert_eq!(visible_names(&app, &w.cast.lead_a).await, ["Customer of A", "Customer of A2"]);
    assert_eq!(visible_names(&app, &w.cast.rep_a).await, ["Customer of A"]);
    assert_eq!(visible_names(&app, &w.cast.rep_b).await, ["Customer of B"]);
    assert_eq!(visible_names(&app, &w.cast.integration).await, all);
    let unscoped = app.gql(&w.cast.integration_unscoped, "{ customers { totalCount } }", json!({})).await;
    assert_eq!(unscoped.code(), Some("FORBIDDEN"), "a service account without the scope is refused");
}

#[tokio::test]
async fn an_invisible_customer_is_not_found_through_every_door() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let rep = &w.cast.rep_a;

    let by_node = app.gql(rep, "query($id: ID!) { node(id: $id) { id } }", json!({"id": w.of_b})).await;
    let by_field = app.gql(rep, "query($id: ID!) { customer(id: $id) { name } }", json!({"id": w.of_b})).await;
    let contact_node = app.gql(rep, "query($id: ID!) { node(id: $id) { id } }", json!({"id": w.contact_of_b})).await;
    let nodes = app.gql(rep, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({"ids": [w.of_a, w.of_b]})).await;
    let contacts = app
        .gql(rep, "query($c: ID!) { contacts(filter: {customerId: $c}) { totalCount } }", json!({"c": w.of_b}))
        .await;
    let tickets = app.gql(rep, "{ tickets { totalCount edges { node { title } } } }", json!({})).await;
    let all_contacts = app.gql(rep, "{ contacts { totalCount } }", json!({})).await;

    assert_eq!(by_node.ok()["node"], json!(null), "an invisible node is null, as for a missing one");
    assert_eq!(by_field.code(), Some("NOT_FOUND"));
    assert_eq!(contact_node.ok()["node"], json!(null));
    assert_eq!(nodes.ok()["nodes"], json!([{"id": w.of_a}, null]));
    assert_eq!(contacts.ok()["contacts"]["totalCount"], 0);
    assert_eq!(tickets.ok()["tickets"]["totalCount"], 0);
    assert_eq!(all_contacts.ok()["contacts"]["totalCount"], 0);
    for reply in [&by_node, &by_field, &contact_node, &nodes, &contacts, &tickets, &all_contacts] {
        assert!(!reply.body.to_string().contains("Secret Person"), "no leak: {}", reply.body);
        assert!(!reply.body.to_string().contains("Customer of B"), "no leak: {}", reply.body);
    }
}

#[tokio::test]
async fn writes_to_an_invisible_customer_are_not_found_and_write_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let rep = &w.cast.rep_a;
    let audits = app.count("audit_log").await;

    let attempts: Vec<(&str, Value)> = vec![
        ("mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"x\"}) { id } }", json!({"id": w.of_b})),
        ("mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": w.of_b})),
        ("mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { id } } }", json!({"id": w.of_b})),
        (
            "mutation($id: ID!) { createContact(customerId: $id, input: {name: \"x\", orgLevel: EXECUTIVE}) { id } }",
            json!({"id": w.of_b}),
        ),
        ("mutation($id: ID!) { updateContact(id: $id, input: {name: \"x\"}) { id } }", json!({"id": w.contact_of_b})),
        (
            "mutation($id: ID!) { logCommunication(input: {customerId: $id, channel: CALL, summary: \"x\"}) { id } }",
            json!({"id": w.of_b}),
        ),
        (
            "mutation($id: ID!) { createTicket(input: {customerId: $id, title: \"x\", description: \"x\", category: OTHER}) { id } }",
            json!({"id": w.of_b}),
        ),
        (
            "mutation($id: ID!) { createCommitment(customerId: $id, input: {kind: REBATE, description: \"x\", dueOn: \"2030-01-01\"}) { id } }",
            json!({"id": w.of_b}),
        ),
        ("mutation($id: ID!) { setPartnership(customerId: $id, input: {tier: PRICE}) { id } }", json!({"id": w.of_b})),
        (
            "mutation($id: ID!) { setSupplyPriority(input: {customerId: $id, productLine: \"x\", priorityRank: 1}) { id } }",
            json!({"id": w.of_b}),
        ),
        (
            "mutation($id: ID!) { recordSurveyResponse(input: {customerId: $id, score: 5}) { id } }",
            json!({"id": w.of_b}),
        ),
        (
            "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: REFERRED_BY) { id } }",
            json!({"a": w.of_a, "b": w.of_b}),
        ),
    ];
    for (query, variables) in attempts {
        let reply = app.gql(rep, query, variables).await;
        assert_eq!(reply.code(), Some("NOT_FOUND"), "{query}: {}", reply.body);
    }

    let revenue = app
        .gql(rep, "mutation($id: ID!) { upsertRevenueEntries(entries: [{customerId: $id, month: \"2026-01-01\", revenue: \"1\", grossProfit: \"1\"}]) { upserted } }", json!({"id": w.of_b}))
        .await;
    assert_eq!(revenue.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("audit_log").await, audits, "nothing was written");
}

#[tokio::test]
async fn team_lead_manages_the_team_but_not_other_teams() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let lead = &w.cast.lead_a;

    let own_team = app
        .gql(
            lead,
            "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Renamed\"}) { name } }",
            json!({"id": w.of_a2}),
        )
        .await;
    let reassign = app
        .gql(
            lead,
            "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { owner { id } } }",
            json!({"id": w.of_a2, "o": w.cast.rep_a.gid}),
        )
        .await;
    let to_other_team = app
        .gql(
            lead,
            "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }",
            json!({"id": w.of_a, "o": w.cast.rep_b.gid}),
        )
        .await;
    let other_team = app
        .gql(lead, "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"x\"}) { id } }", json!({"id": w.of_b}))
        .await;

    assert_eq!(own_team.ok()["updateCustomer"]["name"], "Renamed");
    assert_eq!(reassign.ok()["updateCustomer"]["owner"]["id"], w.cast.rep_a.gid.as_str());
    assert_eq!(to_other_team.code(), Some("BAD_USER_INPUT"), "another team's rep looks like no one");
    assert_eq!(other_team.code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn service_accounts_read_by_scope_and_never_edit_customers() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;

    let edit = app
        .gql(
            &w.cast.integration,
            "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"x\"}) { id } }",
            json!({"id": w.of_a}),
        )
        .await;
    let create =
        app.gql(&w.cast.integration, "mutation { createCustomer(input: {name: \"x\"}) { id } }", json!({})).await;
    let unscoped_read = app
        .gql(&w.cast.integration_unscoped, "query($id: ID!) { customer(id: $id) { name } }", json!({"id": w.of_a}))
        .await;
    let unscoped_revenue = app
        .gql(&w.cast.integration_unscoped, "mutation($id: ID!) { upsertRevenueEntries(entries: [{customerId: $id, month: \"2026-01-01\", revenue: \"1\", grossProfit: \"1\"}]) { upserted } }", json!({"id": w.of_a}))
        .await;

    assert_eq!(edit.code(), Some("FORBIDDEN"));
    assert_eq!(create.code(), Some("FORBIDDEN"));
    assert_eq!(unscoped_read.code(), Some("FORBIDDEN"));
    assert_eq!(unscoped_revenue.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn users_and_user_management_follow_the_role() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let count = |who: Person| {
        let app = &app;
        async move {
            app.gql(&who, "{ users { totalCount } }", json!({})).await.ok()["users"]["totalCount"].as_u64().unwrap()
        }
    };
    let create = "mutation { createUser(input: {email: \"new@t.example\", name: \"New\", role: REP}) { email role } }";

    assert_eq!(count(w.cast.admin.clone()).await, 8);
    assert_eq!(count(w.cast.lead_a.clone()).await, 3, "the lead and two reps of team A");
    assert_eq!(count(w.cast.rep_b.clone()).await, 1);
    assert_eq!(app.gql(&w.cast.leader, create, json!({})).await.code(), Some("FORBIDDEN"));
    assert_eq!(app.gql(&w.cast.admin, create, json!({})).await.ok()["createUser"]["role"], "REP");
    assert_eq!(app.gql(&w.cast.admin, create, json!({})).await.code(), Some("CONFLICT"), "e-mails are unique");
}

#[tokio::test]
async fn a_parent_customer_outside_the_view_is_hidden_in_nested_fields() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // The leader groups A's customer under B's.
    app.gql(
        &w.cast.leader,
        "mutation($id: ID!, $p: ID!) { updateCustomer(id: $id, input: {parentId: $p}) { id } }",
        json!({"id": w.of_a, "p": w.of_b}),
    )
    .await
    .ok();

    let as_rep = app
        .gql(&w.cast.rep_a, "query($id: ID!) { customer(id: $id) { parent { name } } }", json!({"id": w.of_a}))
        .await;
    let as_leader = app
        .gql(&w.cast.leader, "query($id: ID!) { customer(id: $id) { parent { name } } }", json!({"id": w.of_a}))
        .await;

    assert_eq!(as_rep.ok()["customer"]["parent"], Value::Null);
    assert_eq!(as_leader.ok()["customer"]["parent"]["name"], "Customer of B");
}
