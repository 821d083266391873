//! Lists: nested lists are bounded, query complexity grows with the sizes
//! asked for, every list sorts by `orderBy`, and responses keep field order.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn nested_lists_take_first_with_a_default_and_a_cap() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    for name in ["Cleo", "abe", "Bo"] {
        app.contact(&cast.rep_a, &customer, name, "PURCHASING").await;
    }
    let query =
        "query($n: Int!) { customers { edges { node { contacts(first: $n) { name } all: contacts { name } } } } }";

    let two = app.gql(&cast.rep_a, query, json!({"n": 2})).await;
    let too_many = app.gql(&cast.rep_a, query, json!({"n": 101})).await;
    let zero = app.gql(&cast.rep_a, query, json!({"n": 0})).await;

    let node = &two.ok()["customers"]["edges"][0]["node"];
    assert_eq!(node["contacts"], json!([{"name": "abe"}, {"name": "Bo"}]), "by name, case-insensitively");
    assert_eq!(node["all"].as_array().unwrap().len(), 3);
    assert_eq!(too_many.code(), Some("BAD_USER_INPUT"));
    assert_eq!(too_many.body["errors"][0]["extensions"]["field"], "first");
    assert_eq!(zero.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn query_complexity_grows_with_the_list_sizes_asked_for() {
    let app = TestApp::spawn_with(|config| config.limits.max_complexity = 5_000).await;
    let cast = app.cast().await;
    let nested = |page: u32, contacts: u32| {
        format!(
            "{{ customers(first: {page}) {{ edges {{ node {{ name contacts(first: {contacts}) {{ name title email }} }} }} }} }}"
        )
    };

    let small = app.gql(&cast.rep_a, &nested(10, 10), json!({})).await;
    let wide = app.gql(&cast.rep_a, &nested(100, 100), json!({})).await;
    let paged_small = app.gql(&cast.rep_a, &nested(100, 5), json!({})).await;

    small.ok();
    assert_eq!(wide.code(), Some("GRAPHQL_VALIDATION_FAILED"), "100 × 100 contacts is too much: {}", wide.body);
    paged_small.ok();
}

#[tokio::test]
async fn lists_sort_by_order_by() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let commit = "mutation($c: ID!, $d: Date!, $t: String!) { createCommitment(customerId: $c, input: {kind: REBATE, description: $t, dueOn: $d}) { id } }";
    for (due, text) in [("2030-03-01", "first made"), ("2030-01-01", "second made"), ("2030-02-01", "third made")] {
        app.gql(&cast.rep_a, commit, json!({"c": customer, "d": due, "t": text})).await.ok();
    }
    let list = "query($o: CommitmentOrder) { commitments(orderBy: $o) { edges { node { description } } } }";
    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.ok()["commitments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["description"].as_str().unwrap().to_owned())
            .collect()
    };

    let natural = app.gql(&cast.rep_a, list, json!({})).await;
    let newest = app.gql(&cast.rep_a, list, json!({"o": {"field": "CREATED_AT", "direction": "DESC"}})).await;
    let latest_due = app.gql(&cast.rep_a, list, json!({"o": {"direction": "DESC"}})).await;
    let users = app
        .gql(
            &cast.admin,
            "{ users(orderBy: {field: NAME, direction: DESC}, first: 2) { edges { node { name } } } }",
            json!({}),
        )
        .await;

    assert_eq!(names(&natural), ["second made", "third made", "first made"], "soonest due first");
    assert_eq!(names(&newest), ["third made", "second made", "first made"]);
    assert_eq!(names(&latest_due), ["first made", "third made", "second made"]);
    assert_eq!(users.ok()["users"]["edges"], json!([{"node": {"name": "rep.b"}}, {"node": {"name": "rep.a2"}}]));
}

#[tokio::test]
async fn responses_keep_the_order_in_which_fields_were_asked_for() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;

    let reply = app
        .gql(&cast.rep_a, "{ viewer { role name id } zeta: viewer { name } alpha: viewer { name } }", json!({}))
        .await;

    let text = &reply.text;
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing in {text}"));
    assert!(at("\"role\"") < at("\"name\"") && at("\"name\"") < at("\"id\""), "{text}");
    assert!(at("\"zeta\"") < at("\"alpha\""), "{text}");
}

#[tokio::test]
async fn nested_objects_keep_field_order_even_when_relations_finish_last() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for name in ["Alpha", "Beta", "Gamma"] {
        app.customer(&cast.leader, name).await;
    }

    // `owner` is loaded in a batch and finishes after `name`, yet comes first.
    let reply = app
        .gql(
            &cast.leader,
            "{ customers(first: 3) { edges { node { owner { name } ...More } } } } fragment More on Customer { name }",
            json!({}),
        )
        .await;

    let text = &reply.text;
    assert_eq!(text.matches(r#"{"node":{"owner":{"name":"#).count(), 3, "{text}");
    assert_eq!(reply.ok()["customers"]["edges"][2]["node"]["name"], "Gamma");
}

#[tokio::test]
async fn the_same_relation_asked_twice_with_different_sizes_gets_each_size() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for name in ["Alpha", "Beta"] {
        let customer = app.customer(&cast.rep_a, name).await;
        for contact in ["Ann", "Bob", "Cid", "Dee", "Eve"] {
            app.contact(&cast.rep_a, &customer, contact, "END_USER").await;
        }
    }

    let reply = app
        .gql(
            &cast.rep_a,
            "{ customers(first: 2) { edges { node { name few: contacts(first: 2) { name } more: contacts(first: 4) { name } } } } }",
            json!({}),
        )
        .await;

    for edge in reply.ok()["customers"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["few"], json!([{"name": "Ann"}, {"name": "Bob"}]), "{edge}");
        assert_eq!(edge["node"]["more"], json!([{"name": "Ann"}, {"name": "Bob"}, {"name": "Cid"}, {"name": "Dee"}]));
    }
}
