//! The number of SQL statements of a nested list query does not grow with the
//! page size, also under concurrent requests (loaders are primed per page).

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

    // The signed-in user is cached for a few seconds: a fresh entry before each measurement.
    app.gql(&leader, "{ viewer { id } }", json!({})).await.ok();
    app.reset_statements();
    let small = app.gql(&leader, NESTED, json!({"n": 10})).await;
    let small_count = app.statements();
    app.gql(&leader, "{ viewer { id } }", json!({})).await.ok();
    app.reset_statements();
    let large = app.gql(&leader, NESTED, json!({"n": 100})).await;
    let large_count = app.statements();

    assert_eq!(small.ok()["customers"]["edges"].as_array().unwrap().len(), 10);
    assert_eq!(large.ok()["customers"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(large.ok()["customers"]["edges"][0]["node"]["latestCommunications"].as_array().unwrap().len(), 2);
    assert_eq!(small_count, large_count, "statements at 10: {small_count}, at 100: {large_count}");
    // page, owners, partnership, contacts, communications, participants,
    // tickets, assignees, commitments; the viewer comes from the cache.
    assert_eq!(large_count, 9);
}

#[tokio::test]
async fn statement_count_stays_the_same_under_concurrent_requests() {
    let (app, leader) = populated(50).await;
    app.gql(&leader, "{ viewer { id } }", json!({})).await.ok();
    app.reset_statements();
    app.gql(&leader, NESTED, json!({"n": 50})).await.ok();
    let one = app.statements();

    app.gql(&leader, "{ viewer { id } }", json!({})).await.ok();
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

    app.gql(&leader, "{ viewer { id } }", json!({})).await.ok();
    app.reset_statements();
    let small = app.gql(&leader, query, json!({"n": 3})).await;
    let small_count = app.statements();
    app.gql(&leader, "{ viewer { id } }", json!({})).await.ok();
    app.reset_statements();
    let large = app.gql(&leader, query, json!({"n": 20})).await;
    let large_count = app.statements();

    assert_eq!(small.ok()["tickets"]["edges"].as_array().unwrap().len(), 3);
    assert_eq!(large.ok()["tickets"]["edges"].as_array().unwrap().len(), 20);
    assert_eq!(large.ok()["tickets"]["edges"][0]["node"]["recentEvents"][0]["kind"], "CREATED");
    assert_eq!(small_count, large_count, "statements at 3: {small_count}, at 20: {large_count}");
}
