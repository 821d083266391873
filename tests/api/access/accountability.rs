//! Reassignment, deactivation, the audit trail and abuse limits.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn reassigning_moves_customers_with_their_open_promises_and_tickets() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let first = app.customer(&cast.rep_a, "First").await;
    let second = app.customer(&cast.rep_a, "Second").await;
    app.gql(&cast.rep_a, "mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"r\", dueOn: \"2030-01-01\"}) { id } }", json!({"c": first})).await.ok();
    app.gql(&cast.rep_a, "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": first, "a": cast.rep_a.gid})).await.ok();
    let reassign = "mutation($f: ID!, $t: ID!, $ids: [ID!]) { reassignCustomers(fromUserId: $f, toUserId: $t, customerIds: $ids) }";

    let by_rep = app.gql(&cast.rep_a, reassign, json!({"f": cast.rep_a.gid, "t": cast.rep_a2.gid, "ids": null})).await;
    let moved =
        app.gql(&cast.leader, reassign, json!({"f": cast.rep_a.gid, "t": cast.rep_a2.gid, "ids": [first]})).await;
    let rep_a_view = app.gql(&cast.rep_a, "{ customers { edges { node { name } } } }", json!({})).await;
    let rep_a2_view = app
        .gql(
            &cast.rep_a2,
            "{ customers { edges { node { name openCommitments { ownerId } openTickets { assignee { id } } } } } }",
            json!({}),
        )
        .await;

    assert_eq!(by_rep.code(), Some("FORBIDDEN"));
    assert_eq!(moved.ok()["reassignCustomers"], json!([first]));
    assert_eq!(rep_a_view.ok()["customers"]["edges"], json!([{"node": {"name": "Second"}}]));
    let node = &rep_a2_view.ok()["customers"]["edges"][0]["node"];
    assert_eq!(node["name"], "First");
    assert_eq!(node["openCommitments"][0]["ownerId"], cast.rep_a2.gid.as_str());
    assert_eq!(node["openTickets"][0]["assignee"]["id"], cast.rep_a2.gid.as_str());
    let _ = second;
}

#[tokio::test]
async fn deactivating_a_user_hands_over_every_customer_in_one_transaction() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "One").await;
    app.customer(&cast.rep_a, "Two").await;
    let deactivate = "mutation($id: ID!, $to: ID!) { deactivateUser(id: $id, reassignTo: $to) { active } }";

    let to_inactive_target =
        app.gql(&cast.leader, deactivate, json!({"id": cast.rep_a.gid, "to": cast.integration.gid})).await;
    let still_owned = app.gql(&cast.rep_a, "{ customers { totalCount } }", json!({})).await;
    let done = app.gql(&cast.leader, deactivate, json!({"id": cast.rep_a.gid, "to": cast.rep_b.gid})).await;
    let after = app.gql(&cast.rep_b, "{ customers { totalCount } }", json!({})).await;
    let locked_out = app.gql(&cast.rep_a, "{ viewer { name } }", json!({})).await;
    let again = app.gql(&cast.leader, deactivate, json!({"id": cast.rep_a.gid, "to": cast.rep_b.gid})).await;

    assert_eq!(to_inactive_target.code(), Some("BAD_USER_INPUT"), "customers cannot go to a service account");
    assert_eq!(still_owned.ok()["customers"]["totalCount"], 2, "the failed deactivation changed nothing");
    assert_eq!(done.ok()["deactivateUser"]["active"], false);
    assert_eq!(after.ok()["customers"]["totalCount"], 2);
    assert_eq!(locked_out.code(), Some("UNAUTHENTICATED"));
    assert_eq!(again.code(), Some("CONFLICT"));
}

#[tokio::test]
async fn the_audit_trail_is_for_leadership() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let id = app.customer(&cast.rep_a, "Acme").await;
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Acme Ltd\"}) { id } }",
        json!({"id": id}),
    )
    .await
    .ok();
    let query = "query($f: AuditFilterInput) { auditLog(filter: $f) { totalCount edges { node { action entity actorId changes client } } } }";

    let as_rep = app.gql(&cast.rep_a, query, json!({})).await;
    let as_leader = app.gql(&cast.leader, query, json!({"f": {"entity": "customer", "actorId": cast.rep_a.gid}})).await;

    assert_eq!(as_rep.code(), Some("FORBIDDEN"));
    let log = &as_leader.ok()["auditLog"];
    assert_eq!(log["totalCount"], 2);
    assert_eq!(log["edges"][0]["node"]["action"], "update");
    assert_eq!(log["edges"][0]["node"]["client"], "rapport-tests");
    assert_eq!(log["edges"][0]["node"]["changes"]["name"], json!(["Acme", "Acme Ltd"]));
    assert_eq!(log["edges"][1]["node"]["action"], "create");
}

#[tokio::test]
async fn a_user_over_the_rate_limit_is_told_to_slow_down() {
    let app = TestApp::spawn_with(|config| config.limits.requests_per_minute = 3).await;
    let cast = app.cast().await;

    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(app.gql(&cast.rep_a, "{ viewer { name } }", json!({})).await);
    }
    let other_user = app.gql(&cast.rep_b, "{ viewer { name } }", json!({})).await;

    assert!(codes[..3].iter().all(|r| r.code().is_none()));
    assert_eq!(codes[3].status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(codes[3].code(), Some("RATE_LIMITED"));
    assert!(other_user.code().is_none(), "limits are per user");
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let many: String = (0..31).map(|i| format!("a{i}: viewer {{ name }} ")).collect();

    let refused = app.gql(&cast.rep_a, &format!("{{ {many} }}"), json!({})).await;
    let fine = app.gql(&cast.rep_a, "{ a: viewer { name } b: viewer { name } }", json!({})).await;

    assert_eq!(refused.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert_eq!(fine.ok()["a"]["name"], "rep.a");
}

#[tokio::test]
async fn listing_many_customers_is_audited_as_an_export_once_per_window() {
    let app = TestApp::spawn_with(|config| config.limits.export_threshold = 3).await;
    let cast = app.cast().await;
    for i in 0..5 {
        app.customer(&cast.rep_a, &format!("C{i}")).await;
    }
    let exports = "{ auditLog(filter: {actions: [\"export\"]}) { totalCount edges { node { actorId changes } } } }";

    app.gql(&cast.rep_a, "{ customers(first: 2) { totalCount } }", json!({})).await.ok();
    let before = app.gql(&cast.leader, exports, json!({})).await;
    app.gql(&cast.rep_a, "{ customers(first: 5) { edges { node { name } } } }", json!({})).await.ok();
    app.gql(&cast.rep_a, "{ customers(first: 5) { edges { node { name } } } }", json!({})).await.ok();
    let after = app.gql(&cast.leader, exports, json!({})).await;

    assert_eq!(before.ok()["auditLog"]["totalCount"], 0);
    assert_eq!(after.ok()["auditLog"]["totalCount"], 1);
    assert_eq!(after.ok()["auditLog"]["edges"][0]["node"]["actorId"], cast.rep_a.gid.as_str());
    assert_eq!(after.ok()["auditLog"]["edges"][0]["node"]["changes"]["customersRead"], 7);
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = TestApp::spawn_with(|config| config.limits.introspection = false).await;
    let cast = app.cast().await;

    let reply = app.gql(&cast.admin, "{ __schema { queryType { name } } }", json!({})).await;

    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(reply.body.get("data").is_none_or(|d| d.is_null()));
}

#[tokio::test]
async fn reassignment_writes_and_publishes_an_assignment_event_for_every_moved_ticket() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let create = "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: QUALITY}) { id } }";
    let ticket =
        app.gql(&cast.rep_a, create, json!({"c": customer, "a": cast.rep_a.gid})).await.ok()["createTicket"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let mut ws = crate::ws_client::WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.leader.token).await;
    ws.subscribe(
        "s",
        "subscription { ticketEvents { event { kind fromValue toValue } ticket { version } } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    app.gql(
        &cast.leader,
        "mutation($f: ID!, $t: ID!) { reassignCustomers(fromUserId: $f, toUserId: $t) }",
        json!({"f": cast.rep_a.gid, "t": cast.rep_a2.gid}),
    )
    .await
    .ok();
    let published = ws.next_data("s").await;
    let history = app
        .gql(&cast.leader, "query($id: ID!) { node(id: $id) { ... on Ticket { version events { edges { node { kind fromValue toValue actor { id } } } } } } }", json!({"id": ticket}))
        .await;

    let event = &published["data"]["ticketEvents"];
    assert_eq!(event["event"]["kind"], "ASSIGNMENT");
    assert_eq!(event["event"]["fromValue"], cast.rep_a.id.to_string());
    assert_eq!(event["event"]["toValue"], cast.rep_a2.id.to_string());
    let node = &history.ok()["node"];
    let kinds: Vec<&str> =
        node["events"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CREATED", "ASSIGNMENT"]);
    assert_eq!(node["events"]["edges"][1]["node"]["actor"]["id"], cast.leader.gid.as_str());
    assert_eq!(node["version"], event["ticket"]["version"]);
}

#[tokio::test]
async fn customers_read_by_any_path_count_toward_the_export_audit() {
    let app = TestApp::spawn_with(|config| config.limits.export_threshold = 3).await;
    let cast = app.cast().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(app.customer(&cast.rep_a, &format!("C{i}")).await);
    }
    let exports = "{ auditLog(filter: {actions: [\"export\"]}) { totalCount } }";

    app.gql(&cast.rep_a, "query($id: ID!) { customer(id: $id) { name } }", json!({"id": ids[0]})).await.ok();
    app.gql(&cast.rep_a, "query($id: ID!) { node(id: $id) { id } }", json!({"id": ids[1]})).await.ok();
    app.gql(&cast.rep_a, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({"ids": [ids[2]]})).await.ok();
    let before = app.gql(&cast.leader, exports, json!({})).await;
    app.gql(&cast.rep_a, "query($id: ID!) { customer(id: $id) { name } }", json!({"id": ids[3]})).await.ok();
    let after = app.gql(&cast.leader, exports, json!({})).await;

    assert_eq!(before.ok()["auditLog"]["totalCount"], 0);
    assert_eq!(after.ok()["auditLog"]["totalCount"], 1, "one at a time, by id, still adds up to an export");
}

const EXPORTS: &str = "{ auditLog(filter: {actions: [\"export\"]}) { totalCount edges { node { actorId changes } } } }";

#[tokio::test]
async fn paging_the_change_feed_and_the_graph_counts_toward_the_export_audit() {
    let app = TestApp::spawn_with(|config| config.limits.export_threshold = 8).await;
    let cast = app.cast().await;
    let root = app.customer(&cast.rep_a, "Root").await;
    for i in 0..6 {
        let c = app.customer(&cast.rep_a, &format!("C{i}")).await;
        app.contact(&cast.rep_a, &c, &format!("P{i}"), "PURCHASING").await;
    }
    for i in 0..8 {
        app.contact(&cast.rep_a, &root, &format!("R{i}"), "TECHNICAL").await;
    }
    // The feed: 21 customers and contacts in pages of 3 cross a threshold of 8.
    let mut since = Value::Null;
    loop {
        let reply = app
            .gql(
                &cast.rep_a,
                "query($s: String) { changes(since: $s, first: 3) { changes { id } nextPosition hasMore } }",
                json!({ "s": since }),
            )
            .await;
        let feed = reply.ok()["changes"].clone();
        since = feed["nextPosition"].clone();
        if !feed["hasMore"].as_bool().unwrap() {
            break;
        }
    }
    let after_feed = app.gql(&cast.leader, EXPORTS, json!({})).await;
    assert_eq!(after_feed.ok()["auditLog"]["totalCount"], 1);
    assert_eq!(after_feed.ok()["auditLog"]["edges"][0]["node"]["actorId"], cast.rep_a.gid.as_str());

    // The graph (the root and its 8 contacts), for another user in the same window.
    let graph = "query($r: ID!, $a: String) { relationshipGraph(rootId: $r, first: 2, after: $a) { nodes { id } pageInfo { endCursor hasNextPage } } }";
    let mut after = Value::Null;
    loop {
        let reply = app.gql(&cast.lead_a, graph, json!({ "r": root, "a": after })).await;
        let page = reply.ok()["relationshipGraph"]["pageInfo"].clone();
        after = page["endCursor"].clone();
        if !page["hasNextPage"].as_bool().unwrap() {
            break;
        }
    }
    let after_graph = app.gql(&cast.leader, EXPORTS, json!({})).await;
    assert_eq!(after_graph.ok()["auditLog"]["totalCount"], 2);
    let actors: Vec<&str> = after_graph.ok()["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["actorId"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&cast.lead_a.gid.as_str()));
}

#[tokio::test]
async fn reads_spread_over_two_instances_add_up_to_one_export() {
    let app = TestApp::spawn_with(|config| config.limits.export_threshold = 40).await;
    let other = app.restart().await;
    let cast = app.cast().await;
    for i in 0..25 {
        app.customer(&cast.rep_a, &format!("C{i}")).await;
    }
    let list = "{ customers(first: 25) { edges { node { id } } } }";
    // 25 on each instance: below the threshold on each, above it together.
    app.gql(&cast.rep_a, list, json!({})).await.ok();
    other.gql(&cast.rep_a, list, json!({})).await.ok();
    let mut total = Value::Null;
    for _ in 0..40 {
        let reply = app.gql(&cast.leader, EXPORTS, json!({})).await;
        total = reply.ok()["auditLog"]["totalCount"].clone();
        if total == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(total, 1, "one export for the reads of both instances");
    let reply = app.gql(&cast.leader, EXPORTS, json!({})).await;
    assert_eq!(reply.ok()["auditLog"]["edges"][0]["node"]["changes"]["customersRead"], 50);
}

#[tokio::test]
async fn contacts_read_by_any_path_count_toward_the_export_audit() {
    let app = TestApp::spawn_with(|config| config.limits.export_threshold = 3).await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let mut people = Vec::new();
    // More than the threshold of 3.
    for name in ["Ann", "Bob", "Cid", "Dee"] {
        people.push(app.contact(&cast.rep_a, &acme, name, "PURCHASING").await);
    }
    let log = r#"mutation($c: ID!, $p: [ID!]!) { logCommunication(input: {customerId: $c, channel: CALL, summary: "s", contactIds: $p}) { id } }"#;
    app.gql(&cast.rep_a, log, json!({"c": acme, "p": people})).await.ok();
    let actors = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.ok()["auditLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["actorId"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = app.gql(&cast.leader, EXPORTS, json!({})).await;

    // Four users, four paths, each reading the four contacts (and at most one customer).
    app.gql(&cast.rep_a, "{ contacts(first: 10) { edges { node { name } } } }", json!({})).await.ok();
    app.gql(&cast.lead_a, "query($c: ID!) { customer(id: $c) { contacts(first: 10) { name } } }", json!({"c": acme}))
        .await
        .ok();
    app.gql(&cast.admin, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({"ids": people})).await.ok();
    app.gql(&cast.leader, "{ communications(first: 5) { edges { node { contacts { name } } } } }", json!({}))
        .await
        .ok();
    let after = app.gql(&cast.leader, EXPORTS, json!({})).await;

    assert!(actors(&before).is_empty());
    let mut exported = actors(&after);
    exported.sort();
    let mut expected =
        vec![cast.rep_a.gid.clone(), cast.lead_a.gid.clone(), cast.admin.gid.clone(), cast.leader.gid.clone()];
    expected.sort();
    assert_eq!(exported, expected, "the list, a customer's contacts, nodes and participants all count");
}
