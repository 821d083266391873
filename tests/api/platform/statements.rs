//! The number of SQL statements of a nested list query does not grow with the
//! page size, also under concurrent requests (each relation loads once per
//! page). Counts are taken in the steady state: the signed-in user and the
//! users named by the rows (owners, assignees) come from memory once read.

use serde_json::json;

use crate::helpers::TestApp;

const NESTED: &str = "query($n: Int!) { customers(first: $n) { edges { node {
    name owner { name } partnership { tier }
    contacts { name }
    latestCommunications(first: 5) { summary contacts { name } }
    openTickets { title assignee { name } }
    openCommitments { description }
} } } }";

async fn populated(customers: usize) -> (TestApp, crate::helpers::Person) {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for i in 0..customers {
        let id = app.customer(&cast.leader, &format!("Customer {i:03}")).await;
        let contact = app.contact(&cast.leader, &id, "Pat", "PURCHASING").await;
        for _ in 0..2 {
            app.gql(&cast.leader, "mutation($c: ID!, $p: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: \"s\", contactIds: [$p]}) { id } }", json!({"c": id, "p": contact}))
                .await
                .ok();
        }
        if i % 3 == 0 {
            app.gql(&cast.leader, "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: DELIVERY}) { id } }", json!({"c": id, "a": cast.rep_a.gid}))
                .await
                .ok();
        }
    }
    (app, cast.leader)
}

#[tokio::test]
async fn nested_list_statement_count_does_not_depend_on_page_size() {
    let (app, leader) = populated(100).await;

    app.gql(&leader, NESTED, json!({"n": 100})).await.ok();
    app.reset_statements();
    let small = app.gql(&leader, NESTED, json!({"n": 10})).await;
    let small_count = app.statements();
    app.reset_statements();
    let large = app.gql(&leader, NESTED, json!({"n": 100})).await;
    let large_count = app.statements();

    assert_eq!(small.ok()["customers"]["edges"].as_array().unwrap().len(), 10);
    assert_eq!(large.ok()["customers"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(large.ok()["customers"]["edges"][0]["node"]["latestCommunications"].as_array().unwrap().len(), 2);
    assert_eq!(small_count, large_count, "statements at 10: {small_count}, at 100: {large_count}");
    // page, partnership, contacts, communications, participants, tickets,
    // commitments; the viewer, owners and assignees come from memory.
    assert_eq!(large_count, 7);
}

#[tokio::test]
async fn statement_count_stays_the_same_under_concurrent_requests() {
    let (app, leader) = populated(50).await;
    app.gql(&leader, NESTED, json!({"n": 50})).await.ok();
    app.reset_statements();
    app.gql(&leader, NESTED, json!({"n": 50})).await.ok();
    let one = app.statements();

    app.reset_statements();
    let requests = (0..8).map(|_| app.gql(&leader, NESTED, json!({"n": 50})));
    let replies = futures_util::future::join_all(requests).await;

    for reply in &replies {
        assert_eq!(reply.ok()["customers"]["edges"].as_array().unwrap().len(), 50);
    }
    assert_eq!(app.statements(), one * 8);
}

#[tokio::test]
async fn ticket_lists_load_recent_history_in_one_statement() {
    let (app, leader) = populated(60).await;
    let query = "query($n: Int!) { tickets(first: $n) { edges { node { title customer { name } assignee { name } recentEvents(first: 3) { kind } } } } }";

    app.gql(&leader, query, json!({"n": 20})).await.ok();
    app.reset_statements();
    let small = app.gql(&leader, query, json!({"n": 3})).await;
    let small_count = app.statements();
    app.reset_statements();
    let large = app.gql(&leader, query, json!({"n": 20})).await;
    let large_count = app.statements();

    assert_eq!(small.ok()["tickets"]["edges"].as_array().unwrap().len(), 3);
    assert_eq!(large.ok()["tickets"]["edges"].as_array().unwrap().len(), 20);
    assert_eq!(large.ok()["tickets"]["edges"][0]["node"]["recentEvents"][0]["kind"], "CREATED");
    assert_eq!(small_count, large_count, "statements at 3: {small_count}, at 20: {large_count}");
}

/// The mobile and frontend list: a page of customers with their count,
/// owner, contacts, latest communications and open tickets.
const HOT: &str = "query($n: Int!) { customers(first: $n, filter: {statuses: [ACTIVE]}) { totalCount edges { node {
    name owner { name } contacts { name orgLevel }
    latestCommunications(first: 5) { channel summary }
    openTickets { title priority }
} } } }";

#[tokio::test]
async fn the_hot_list_costs_five_statements_at_any_page_size_and_concurrency() {
    let (app, leader) = populated(60).await;
    app.gql(&leader, HOT, json!({"n": 60})).await.ok();

    let mut counts = Vec::new();
    for n in [1, 20, 60] {
        app.reset_statements();
        let reply = app.gql(&leader, HOT, json!({"n": n})).await;
        assert_eq!(reply.ok()["customers"]["edges"].as_array().unwrap().len(), n);
        counts.push(app.statements());
    }
    app.reset_statements();
    let replies = futures_util::future::join_all((0..6).map(|_| app.gql(&leader, HOT, json!({"n": 60})))).await;

    // page, count, contacts, latest communications, open tickets: no user lookup.
    assert_eq!(counts, [5, 5, 5]);
    assert_eq!(app.statements(), 6 * 5);
    let first = &replies[0].ok()["customers"];
    assert_eq!(first["totalCount"], 60);
    assert_eq!(first["edges"][0]["node"]["owner"]["name"], "leader");
    assert_eq!(first["edges"][0]["node"]["latestCommunications"].as_array().unwrap().len(), 2);
    let with_tickets =
        first["edges"].as_array().unwrap().iter().filter(|e| e["node"]["openTickets"] != json!([])).count();
    assert_eq!(with_tickets, 20);
}

#[tokio::test]
async fn a_renamed_user_shows_under_the_new_name_at_once() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.customer(&cast.leader, "Acme").await;
    let owner = "{ customers(first: 1) { edges { node { owner { name } } } } }";
    let before = app.gql(&cast.leader, owner, json!({})).await;

    app.gql(
        &cast.admin,
        "mutation($id: ID!) { updateUser(id: $id, input: {name: \"Lena Renamed\"}) { name } }",
        json!({"id": cast.leader.gid}),
    )
    .await
    .ok();
    let after = app.gql(&cast.leader, owner, json!({})).await;

    assert_eq!(before.ok()["customers"]["edges"][0]["node"]["owner"]["name"], "leader");
    assert_eq!(after.ok()["customers"]["edges"][0]["node"]["owner"]["name"], "Lena Renamed");
}
