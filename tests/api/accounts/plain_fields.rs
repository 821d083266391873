//! A page of customers answers the plain fields of its rows (the customer,
//! its owner, contacts, latest communications, open tickets) in one pass;
//! the same object fetched by `node(id:)` goes through every field's
//! resolver. Both must answer alike: every field without arguments, with
//! fragments, aliases, `__typename` and keys selected twice.

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

/// The fields of `type_name` that take no arguments and return a scalar or an enum.
async fn leaf_fields(app: &TestApp, who: &Person, type_name: &str) -> Vec<String> {
    let reply = app
        .gql(
            who,
            "query($t: String!) { __type(name: $t) { fields { name args { name } type { kind ofType { kind ofType { kind } } } } } }",
            json!({"t": type_name}),
        )
        .await;
    let fields = reply.ok()["__type"]["fields"].as_array().expect("fields").clone();
    fields
        .iter()
        .filter(|f| f["args"].as_array().is_some_and(Vec::is_empty))
        .filter(|f| {
            let mut ty = &f["type"];
            while ty["kind"] == "NON_NULL" || ty["kind"] == "LIST" {
                ty = &ty["ofType"];
            }
            ty["kind"] == "SCALAR" || ty["kind"] == "ENUM"
        })
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn listed_rows_answer_every_plain_field_as_their_resolvers_do() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let who = &cast.leader;
    let customer = app
        .gql(
            who,
            r#"mutation($o: ID!) { createCustomer(input: {name: "Acme Plain", industry: "Food", region: "North",
                status: ACTIVE, ownerId: $o, purchasingFit: WARNING, strategicImportance: HIGH,
                customerSince: "2019-03-01", nextReviewOn: "2027-01-15"}) { id } }"#,
            json!({"o": cast.rep_a.gid}),
        )
        .await
        .ok()["createCustomer"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.gql(
        who,
        r#"mutation($c: ID!) { createContact(customerId: $c, input: {name: "Ida Full", title: "CEO", department: "Board",
            orgLevel: EXECUTIVE, influence: 5, relationshipStrength: 4, birthday: "1970-05-04",
            email: "ida@acme.example", phone: "+49 30 1", startedOn: "2020-01-01"}) { id } }"#,
        json!({"c": customer}),
    )
    .await
    .ok();
    app.gql(
        who,
        r#"mutation($c: ID!) { createContact(customerId: $c, input: {name: "Bo Bare", orgLevel: END_USER}) { id } }"#,
        json!({"c": customer}),
    )
    .await
    .ok();
    app.gql(
        who,
        r#"mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: VISIT, direction: INBOUND,
            occurredAt: "2026-10-01T09:30:00Z", summary: "Visited the plant", followUpOn: "2026-10-15"}) { id } }"#,
        json!({"c": customer}),
    )
    .await
    .ok();
    app.gql(
        who,
        r#"mutation($c: ID!) { createTicket(input: {customerId: $c, title: "Late", description: "Two days late",
            category: DELIVERY, priority: HIGH}) { id } }"#,
        json!({"c": customer}),
    )
    .await
    .ok();

    let mut leaves = std::collections::HashMap::new();
    for type_name in ["Customer", "User", "Contact", "Communication", "Ticket"] {
        leaves.insert(type_name, leaf_fields(&app, who, type_name).await.join(" "));
    }
    // Fragments, an alias, `__typename` and a key selected twice, around every leaf field.
    let selection = format!(
        "__typename {customer} ... on Customer {{ alias: name }} ...More \
         owner {{ __typename {user} }} owner {{ name }} \
         contacts {{ {contact} }} contacts {{ __typename again: name }} \
         latestCommunications(first: 3) {{ {communication} }} \
         openTickets {{ ... on Ticket {{ {ticket} }} }}",
        customer = leaves["Customer"],
        user = leaves["User"],
        contact = leaves["Contact"],
        communication = leaves["Communication"],
        ticket = leaves["Ticket"],
    );
    let fragment = "fragment More on Customer { status tier place: region alias: name }";
    let listed = app
        .gql(who, &format!("{{ customers(first: 5) {{ edges {{ node {{ {selection} }} }} }} }} {fragment}"), json!({}))
        .await;
    let by_node = app
        .gql(
            who,
            &format!("query($id: ID!) {{ node(id: $id) {{ ... on Customer {{ {selection} }} }} }} {fragment}"),
            json!({"id": customer}),
        )
        .await;
    let listed: &Value = &listed.ok()["customers"]["edges"][0]["node"];
    let by_node: &Value = &by_node.ok()["node"];
    assert_eq!(listed, by_node, "a listed customer and the same customer by node(id:) differ");
    // The rows are all there (the order of keys is `lists::responses_keep_the_order_in_which_fields_were_asked_for`).
    assert_eq!(listed["contacts"].as_array().map(Vec::len), Some(2));
    assert_eq!(listed["contacts"][0]["again"], listed["contacts"][0]["name"]);
    assert_eq!(listed["latestCommunications"][0]["followUpOn"], "2026-10-15");
    assert_eq!(listed["openTickets"][0]["priority"], "HIGH");
    assert_eq!(listed["purchasingFit"], "WARNING");
    assert_eq!(listed["contacts"][1]["birthday"], "1970-05-04", "contacts by name: Bo Bare, then Ida Full");
}
