//! No existence oracles: an id the viewer cannot see answers exactly like an
//! id that does not exist, through filters, foreign ids and cursors; and every
//! error carries a code.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;

use crate::helpers::{TestApp, gid};

#[tokio::test]
async fn a_hidden_parent_filters_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let hidden_group = app.customer(&cast.rep_b, "Group of B").await;
    let subsidiary = app.customer(&cast.rep_a, "Subsidiary of A").await;
    app.gql(
        &cast.leader,
        "mutation($id: ID!, $p: ID!) { updateCustomer(id: $id, input: {parentId: $p}) { id } }",
        json!({"id": subsidiary, "p": hidden_group}),
    )
    .await
    .ok();
    let query = "query($p: ID!) { customers(filter: {parentId: $p}) { totalCount edges { node { name } } } }";

    let hidden = app.gql(&cast.rep_a, query, json!({"p": hidden_group})).await;
    let missing = app.gql(&cast.rep_a, query, json!({"p": gid("Customer", 999_999)})).await;
    let as_leader = app.gql(&cast.leader, query, json!({"p": hidden_group})).await;

    assert_eq!(hidden.ok(), missing.ok());
    assert_eq!(hidden.ok()["customers"]["totalCount"], 0);
    assert_eq!(as_leader.ok()["customers"]["totalCount"], 1);
}

#[tokio::test]
async fn a_hidden_colleague_is_refused_like_a_missing_user() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let ticket = "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: PRICE}) { id } }";
    let commitment = "mutation($c: ID!, $o: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"r\", dueOn: \"2030-01-01\", ownerId: $o}) { id } }";

    for (document, variable) in [(ticket, "a"), (commitment, "o")] {
        let hidden = app.gql(&cast.rep_a, document, json!({"c": customer, variable: cast.rep_b.gid})).await;
        let missing = app.gql(&cast.rep_a, document, json!({"c": customer, variable: gid("User", 999_999)})).await;
        let own = app.gql(&cast.rep_a, document, json!({"c": customer, variable: cast.rep_a.gid})).await;

        assert_eq!(hidden.code(), Some("BAD_USER_INPUT"), "{document}");
        assert_eq!(hidden.body["errors"][0]["message"], missing.body["errors"][0]["message"]);
        assert_eq!(hidden.body["errors"][0]["extensions"], missing.body["errors"][0]["extensions"]);
        own.ok();
    }
    assert_eq!(app.count("ticket").await, 1);
    assert_eq!(app.count("commitment").await, 1);
}

#[tokio::test]
async fn cursors_that_the_server_did_not_hand_out_are_refused() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for name in ["A", "B", "C"] {
        app.customer(&cast.rep_a, name).await;
    }
    let secret = app.customer(&cast.rep_b, "B secret").await;
    let page = "query($after: String) { customers(first: 1, after: $after) { edges { cursor node { name } } } }";
    let first = app.gql(&cast.rep_a, page, json!({})).await;
    let cursor = first.ok()["customers"]["edges"][0]["cursor"].as_str().unwrap().to_owned();
    let mut raw = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
    let hidden_id: i64 = String::from_utf8(URL_SAFE_NO_PAD.decode(&secret).unwrap())
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    raw[..8].copy_from_slice(&hidden_id.to_be_bytes());
    let forged = URL_SAFE_NO_PAD.encode(&raw);
    let old_style = URL_SAFE_NO_PAD.encode(format!("c:{hidden_id}"));
    let contacts_page = "query($after: String) { contacts(after: $after) { totalCount } }";

    let next = app.gql(&cast.rep_a, page, json!({"after": cursor})).await;
    let tampered = app.gql(&cast.rep_a, page, json!({"after": forged})).await;
    let handmade = app.gql(&cast.rep_a, page, json!({"after": old_style})).await;
    let someone_elses = app.gql(&cast.rep_a2, page, json!({"after": cursor})).await;
    let other_list = app.gql(&cast.rep_a, contacts_page, json!({"after": cursor})).await;

    assert_eq!(next.ok()["customers"]["edges"][0]["node"]["name"], "B");
    for reply in [&tampered, &handmade, &someone_elses, &other_list] {
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{}", reply.body);
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], "after");
    }
}

#[tokio::test]
async fn every_error_carries_a_code() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;

    let unknown_operation = app
        .send(
            axum::http::Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", cast.rep_a.token))
                .body(axum::body::Body::from(
                    json!({"query": "query A { viewer { id } }", "operationName": "B"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    let unnamed = app.gql(&cast.rep_a, "query A { viewer { id } } query B { viewer { name } }", json!({})).await;
    let coercion =
        app.gql(&cast.rep_a, "query($n: Int) { customers(first: $n) { totalCount } }", json!({"n": "x"})).await;
    let bad_argument = app.gql(&cast.rep_a, "{ customers(first: 1000) { totalCount } }", json!({})).await;
    let bad_money = app
        .gql(&cast.rep_a, "mutation { upsertRevenueEntries(entries: [{customerId: \"x\", month: \"2026-01-01\", revenue: \"1.234\", grossProfit: \"0\"}]) { upserted } }", json!({}))
        .await;

    assert_eq!(unknown_operation.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", unknown_operation.body);
    assert_eq!(unnamed.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", unnamed.body);
    assert_eq!(coercion.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", coercion.body);
    assert_eq!(bad_argument.code(), Some("BAD_USER_INPUT"));
    assert!(bad_money.code() == Some("BAD_USER_INPUT") || bad_money.code() == Some("GRAPHQL_VALIDATION_FAILED"));
    for reply in [&unknown_operation, &unnamed, &coercion, &bad_argument, &bad_money] {
        for error in reply.body["errors"].as_array().unwrap() {
            assert!(error["extensions"]["code"].is_string(), "an error without a code: {error}");
        }
    }
}
