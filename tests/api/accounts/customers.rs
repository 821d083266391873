//! Customers: create, read, update, list (pagination, filters, order), life cycle.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn rep_creates_a_customer_they_own() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;

    let reply = app
        .gql(
            &cast.rep_a,
            r#"mutation { createCustomer(input: {name: "  Acme  ", region: "North", strategicImportance: HIGH}) {
                id name region status strategicImportance version owner { id } } }"#,
            json!({}),
        )
        .await;

    let created = &reply.ok()["createCustomer"];
    assert_eq!(created["name"], "Acme");
    assert_eq!(created["status"], "PROSPECT");
    assert_eq!(created["strategicImportance"], "HIGH");
    assert_eq!(created["version"], 1);
    assert_eq!(created["owner"]["id"], cast.rep_a.gid.as_str());
    assert_eq!(app.count("customer").await, 1);
    assert_eq!(app.count("audit_log").await, 1, "the mutation is audited");
}

#[tokio::test]
async fn invalid_customer_input_is_rejected_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;

    let empty = app.gql(&cast.rep_a, r#"mutation { createCustomer(input: {name: "   "}) { id } }"#, json!({})).await;
    let long = app
        .gql(
            &cast.rep_a,
            "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }",
            json!({"n": "x".repeat(201)}),
        )
        .await;
    let bad_enum = app
        .gql(&cast.rep_a, r#"mutation { createCustomer(input: {name: "A", status: NOPE}) { id } }"#, json!({}))
        .await;
    let bad_owner = app
        .gql(&cast.rep_a, r#"mutation { createCustomer(input: {name: "A", ownerId: "garbage"}) { id } }"#, json!({}))
        .await;

    assert_eq!(empty.code(), Some("BAD_USER_INPUT"));
    assert_eq!(empty.body["errors"][0]["extensions"]["field"], "name");
    assert_eq!(long.code(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_enum.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert_eq!(bad_owner.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("customer").await, 0);
    assert_eq!(app.count("audit_log").await, 0);
}

#[tokio::test]
async fn rep_cannot_assign_a_customer_to_another_rep() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let create = "mutation($o: ID!) { createCustomer(input: {name: \"A\", ownerId: $o}) { id } }";

    let colleague = app.gql(&cast.rep_a, create, json!({"o": cast.rep_b.gid})).await;
    let nobody = app.gql(&cast.rep_a, create, json!({"o": crate::helpers::gid("User", 999_999)})).await;

    // A colleague the rep cannot see and a user who does not exist get the same answer.
    assert_eq!(colleague.code(), Some("BAD_USER_INPUT"));
    assert_eq!(colleague.body["errors"][0]["extensions"]["field"], "ownerId");
    assert_eq!(colleague.body["errors"][0]["message"], nobody.body["errors"][0]["message"]);
    assert_eq!(colleague.body["errors"][0]["extensions"], nobody.body["errors"][0]["extensions"]);
    assert_eq!(app.count("customer").await, 0);
}

#[tokio::test]
async fn update_with_a_stale_version_is_a_conflict() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let id = app.customer(&cast.rep_a, "Acme").await;

    let first = app
        .gql(&cast.rep_a, "mutation($id: ID!) { updateCustomer(id: $id, expectedVersion: 1, input: {name: \"Acme 2\", region: null}) { name version region } }", json!({"id": id}))
        .await;
    let stale = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { updateCustomer(id: $id, expectedVersion: 1, input: {name: \"Acme 3\"}) { name } }",
            json!({"id": id}),
        )
        .await;

    assert_eq!(first.ok()["updateCustomer"]["name"], "Acme 2");
    assert_eq!(first.ok()["updateCustomer"]["version"], 2);
    assert_eq!(stale.code(), Some("CONFLICT"));
    assert_eq!(stale.body["errors"][0]["extensions"]["currentVersion"], 2);
    let read = app.gql(&cast.rep_a, "query($id: ID!) { customer(id: $id) { name } }", json!({"id": id})).await;
    assert_eq!(read.ok()["customer"]["name"], "Acme 2");
}

#[tokio::test]
async fn customers_paginate_forwards_and_backwards_with_cursors() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for name in ["Echo", "Alpha", "Delta", "Bravo", "Charlie"] {
        app.customer(&cast.rep_a, name).await;
    }
    let page = "query($after: String, $before: String, $first: Int, $last: Int) {
        customers(first: $first, after: $after, last: $last, before: $before) {
            totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["customers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let first = app.gql(&cast.rep_a, page, json!({"first": 2})).await;
    let end = first.ok()["customers"]["pageInfo"]["endCursor"].clone();
    let second = app.gql(&cast.rep_a, page, json!({"first": 2, "after": end})).await;
    let end2 = second.ok()["customers"]["pageInfo"]["endCursor"].clone();
    let third = app.gql(&cast.rep_a, page, json!({"first": 2, "after": end2})).await;
    let back = app.gql(&cast.rep_a, page, json!({"last": 2, "before": end2})).await;

    assert_eq!(names(first.ok()), ["Alpha", "Bravo"]);
    assert_eq!(first.ok()["customers"]["totalCount"], 5);
    assert_eq!(first.ok()["customers"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(names(second.ok()), ["Charlie", "Delta"]);
    assert_eq!(names(third.ok()), ["Echo"]);
    assert_eq!(third.ok()["customers"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(names(back.ok()), ["Bravo", "Charlie"]);
    assert_eq!(back.ok()["customers"]["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test]
async fn a_page_without_edge_cursors_still_pages_from_its_start_and_end_cursors() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for name in ["Echo", "Alpha", "Delta", "Bravo", "Charlie"] {
        app.customer(&cast.rep_a, name).await;
    }
    // Only pageInfo's cursors are selected: the server signs those and no others.
    let bare = "query($after: String, $before: String, $first: Int, $last: Int) {
        customers(first: $first, after: $after, last: $last, before: $before) {
            nodes { name } pageInfo { startCursor endCursor } } }";
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["customers"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect()
    };
    let first = app.gql(&cast.rep_a, bare, json!({"first": 3})).await;
    let info = first.ok()["customers"]["pageInfo"].clone();
    let next = app.gql(&cast.rep_a, bare, json!({"first": 3, "after": info["endCursor"]})).await;
    let before = app
        .gql(&cast.rep_a, bare, json!({"last": 3, "before": next.ok()["customers"]["pageInfo"]["startCursor"]}))
        .await;
    assert_eq!(names(first.ok()), ["Alpha", "Bravo", "Charlie"]);
    assert_eq!(names(next.ok()), ["Delta", "Echo"]);
    assert_eq!(names(before.ok()), ["Alpha", "Bravo", "Charlie"]);

    // Selected, every edge's cursor is signed: the middle one pages on from its row.
    let full = "query($after: String) { customers(first: 3, after: $after) { edges { cursor node { name } } } }";
    let page = app.gql(&cast.rep_a, full, json!({})).await;
    let cursors: Vec<String> = page.ok()["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().to_owned())
        .collect();
    assert!(cursors.iter().all(|c| !c.is_empty()));
    let after_middle = app.gql(&cast.rep_a, full, json!({"after": cursors[1]})).await;
    let after_names: Vec<&str> = after_middle.ok()["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(after_names, ["Charlie", "Delta", "Echo"]);
}

#[tokio::test]
async fn page_size_above_the_cap_is_rejected() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;

    let too_big = app.gql(&cast.rep_a, "{ customers(first: 101) { totalCount } }", json!({})).await;
    let both = app.gql(&cast.rep_a, "{ customers(first: 1, last: 1) { totalCount } }", json!({})).await;
    let bad_cursor = app.gql(&cast.rep_a, "{ customers(after: \"nope\") { totalCount } }", json!({})).await;

    assert_eq!(too_big.code(), Some("BAD_USER_INPUT"));
    assert_eq!(too_big.body["errors"][0]["extensions"]["field"], "first");
    assert_eq!(both.code(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_cursor.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn customers_filter_and_sort() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let north = app
        .gql(
            &cast.rep_a,
            r#"mutation { createCustomer(input: {name: "Nordic Foods", region: "North", status: ACTIVE}) { id } }"#,
            json!({}),
        )
        .await;
    app.gql(
        &cast.rep_a,
        r#"mutation { createCustomer(input: {name: "Southern Tools", region: "South"}) { id } }"#,
        json!({}),
    )
    .await;
    app.gql(
        &cast.rep_a,
        r#"mutation { createCustomer(input: {name: "nordic wood", region: "South"}) { id } }"#,
        json!({}),
    )
    .await;
    let archived = app.customer(&cast.rep_a, "Nordic Archive").await;
    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomer(id: $id) { archivedAt } }", json!({"id": archived}))
        .await
        .ok();
    north.ok();

    let list = |filter: serde_json::Value, order: serde_json::Value| {
        let app = &app;
        let rep = cast.rep_a.clone();
        async move {
            let reply = app
                .gql(&rep, "query($f: CustomerFilterInput, $o: CustomerOrder) { customers(filter: $f, orderBy: $o) { edges { node { name } } } }", json!({"f": filter, "o": order}))
                .await;
            reply.ok()["customers"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(list(json!({"search": "NORDIC"}), json!(null)).await, ["Nordic Foods", "nordic wood"]);
    assert_eq!(
        list(json!({"region": "South"}), json!({"field": "NAME", "direction": "DESC"})).await,
        ["Southern Tools", "nordic wood"]
    );
    assert_eq!(list(json!({"statuses": ["ACTIVE"]}), json!(null)).await, ["Nordic Foods"]);
    assert_eq!(list(json!({"search": "archive", "includeArchived": true}), json!(null)).await, ["Nordic Archive"]);
    assert_eq!(
        list(json!({"teamId": crate::helpers::gid("Team", cast.team_b)}), json!(null)).await,
        Vec::<String>::new()
    );
    assert_eq!(list(json!({"search": "100%"}), json!(null)).await, Vec::<String>::new(), "wildcards are escaped");
}

#[tokio::test]
async fn losing_and_winning_back_a_customer_records_churn_events() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let id = app.customer(&cast.rep_a, "Acme").await;

    let lost = app
        .gql(&cast.rep_a, "mutation($id: ID!) { markCustomerLost(id: $id, reason: COMPETITOR_OFFER, competitor: \"Rival\") { customer { status } churnEvent { kind reason controllable competitor } } }", json!({"id": id}))
        .await;
    let again = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { status } } }",
            json!({"id": id}),
        )
        .await;
    let back = app
        .gql(&cast.rep_a, "mutation($id: ID!) { markCustomerWonBack(id: $id, notes: \"new terms\") { customer { status } churnEvent { kind controllable } } }", json!({"id": id}))
        .await;
    let uncontrollable = app.customer(&cast.rep_a, "Changed").await;
    let changed = app
        .gql(&cast.rep_a, "mutation($id: ID!) { markCustomerLost(id: $id, reason: CHANGED_BUSINESS) { churnEvent { controllable } } }", json!({"id": uncontrollable}))
        .await;
    let events = app
        .gql(&cast.rep_a, "{ churnEvents(filter: {kind: LOST, controllable: true}) { totalCount } }", json!({}))
        .await;

    let payload = &lost.ok()["markCustomerLost"];
    assert_eq!(payload["customer"]["status"], "LOST");
    assert_eq!(payload["churnEvent"]["reason"], "COMPETITOR_OFFER");
    assert_eq!(payload["churnEvent"]["controllable"], true);
    assert_eq!(payload["churnEvent"]["competitor"], "Rival");
    assert_eq!(again.code(), Some("CONFLICT"));
    assert_eq!(back.ok()["markCustomerWonBack"]["customer"]["status"], "WON_BACK");
    assert_eq!(back.ok()["markCustomerWonBack"]["churnEvent"]["kind"], "WON_BACK");
    assert_eq!(changed.ok()["markCustomerLost"]["churnEvent"]["controllable"], false);
    assert_eq!(events.ok()["churnEvents"]["totalCount"], 1);
    assert_eq!(app.count("churn_event").await, 3);
}

#[tokio::test]
async fn status_lost_cannot_be_set_without_a_churn_event() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let id = app.customer(&cast.rep_a, "Acme").await;

    let reply = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { updateCustomer(id: $id, input: {status: LOST}) { status } }",
            json!({"id": id}),
        )
        .await;

    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("churn_event").await, 0);
}
