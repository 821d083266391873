//! Commitments: promises tracked to fulfilment; overdue ones stand out.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn commitments_are_tracked_to_fulfilment() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;

    let overdue = app
        .gql(&cast.rep_a, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: "Q3 rebate", amount: "1250.50", dueOn: "2020-01-31"}) { id amount overdue version ownerId } }"#, json!({"c": customer}))
        .await;
    app.gql(&cast.rep_a, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: DELIVERY, description: "Rush order", dueOn: "2099-01-31"}) { id } }"#, json!({"c": customer}))
        .await
        .ok();
    let id = overdue.ok()["createCommitment"]["id"].clone();
    let listed = app
        .gql(
            &cast.rep_a,
            "{ commitments(filter: {overdueOnly: true}) { totalCount edges { node { description } } } }",
            json!({}),
        )
        .await;
    let nested = app
        .gql(
            &cast.rep_a,
            "query($c: ID!) { customer(id: $c) { openCommitments { description overdue } } }",
            json!({"c": customer}),
        )
        .await;
    let fulfilled = app.gql(&cast.rep_a, "mutation($id: ID!) { fulfilCommitment(id: $id, expectedVersion: 1, fulfilledOn: \"2020-02-02\") { fulfilledOn overdue version } }", json!({"id": id})).await;
    let twice =
        app.gql(&cast.rep_a, "mutation($id: ID!) { fulfilCommitment(id: $id) { id } }", json!({"id": id})).await;
    let still_overdue =
        app.gql(&cast.rep_a, "{ commitments(filter: {overdueOnly: true}) { totalCount } }", json!({})).await;

    let created = &overdue.ok()["createCommitment"];
    assert_eq!(created["amount"], "1250.50");
    assert_eq!(created["overdue"], true);
    assert_eq!(created["ownerId"], cast.rep_a.gid.as_str());
    assert_eq!(listed.ok()["commitments"]["totalCount"], 1);
    assert_eq!(listed.ok()["commitments"]["edges"][0]["node"]["description"], "Q3 rebate");
    assert_eq!(nested.ok()["customer"]["openCommitments"][0]["overdue"], true);
    assert_eq!(fulfilled.ok()["fulfilCommitment"]["overdue"], false);
    assert_eq!(fulfilled.ok()["fulfilCommitment"]["version"], 2);
    assert_eq!(twice.code(), Some("CONFLICT"));
    assert_eq!(still_overdue.ok()["commitments"]["totalCount"], 0);
}

#[tokio::test]
async fn commitment_amounts_are_validated() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;

    let too_precise = app
        .gql(&cast.rep_a, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: "x", amount: "1.234", dueOn: "2030-01-01"}) { id } }"#, json!({"c": customer}))
        .await;
    let negative = app
        .gql(&cast.rep_a, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: "x", amount: "-5", dueOn: "2030-01-01"}) { id } }"#, json!({"c": customer}))
        .await;

    assert!(matches!(too_precise.code(), Some("BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED")));
    assert_eq!(negative.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("commitment").await, 0);
}
