//! Contacts: create, update, list with filters, validation, archive.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn contacts_are_created_updated_and_listed() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;

    let created = app
        .gql(&cast.rep_a, r#"mutation($c: ID!) { createContact(customerId: $c, input: {name: "Eve Exec", orgLevel: EXECUTIVE, email: "EVE@Acme.example", influence: 5, birthday: "1970-05-01"}) {
            id name email orgLevel influence birthday version customer { name } } }"#, json!({"c": customer}))
        .await;
    let contact = created.ok()["createContact"].clone();
    app.contact(&cast.rep_a, &customer, "Paul Purchasing", "PURCHASING").await;
    let updated = app
        .gql(&cast.rep_a, r#"mutation($id: ID!) { updateContact(id: $id, expectedVersion: 1, input: {title: "CEO", endedOn: "2026-01-31", influence: null}) { title endedOn influence version } }"#, json!({"id": contact["id"]}))
        .await;
    let executives = app
        .gql(&cast.rep_a, r#"query($c: ID!) { contacts(filter: {customerId: $c, orgLevels: [EXECUTIVE]}) { totalCount edges { node { name } } } }"#, json!({"c": customer}))
        .await;
    let current = app
        .gql(
            &cast.rep_a,
            "query($c: ID!) { contacts(filter: {customerId: $c, currentOnly: true}) { edges { node { name } } } }",
            json!({"c": customer}),
        )
        .await;
    let nested =
        app.gql(&cast.rep_a, "query($c: ID!) { customer(id: $c) { contacts { name } } }", json!({"c": customer})).await;

    assert_eq!(contact["email"], "eve@acme.example");
    assert_eq!(contact["customer"]["name"], "Acme");
    let updated = &updated.ok()["updateContact"];
    assert_eq!(updated["title"], "CEO");
    assert_eq!(updated["endedOn"], "2026-01-31");
    assert_eq!(updated["influence"], serde_json::Value::Null);
    assert_eq!(updated["version"], 2);
    assert_eq!(executives.ok()["contacts"]["totalCount"], 1);
    assert_eq!(current.ok()["contacts"]["edges"], json!([{"node": {"name": "Paul Purchasing"}}]));
    assert_eq!(nested.ok()["customer"]["contacts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn contact_validation_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let create = |input: serde_json::Value| {
        let app = &app;
        let rep = cast.rep_a.clone();
        let customer = customer.clone();
        async move {
            app.gql(
                &rep,
                "mutation($c: ID!, $i: ContactInput!) { createContact(customerId: $c, input: $i) { id } }",
                json!({"c": customer, "i": input}),
            )
            .await
        }
    };

    let cases = [
        (json!({"name": "A", "orgLevel": "EXECUTIVE", "email": "not-an-email"}), "email"),
        (json!({"name": "A", "orgLevel": "EXECUTIVE", "influence": 9}), "influence"),
        (json!({"name": "A", "orgLevel": "EXECUTIVE", "birthday": "2999-01-01"}), "birthday"),
        (json!({"name": "A", "orgLevel": "EXECUTIVE", "startedOn": "2026-02-01", "endedOn": "2026-01-01"}), "endedOn"),
    ];
    for (input, field) in cases {
        let reply = create(input).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], field);
    }
    let missing = create(json!({"name": "A"})).await;
    assert_eq!(missing.code(), Some("BAD_USER_INPUT"));
    let bad_date = create(json!({"name": "A", "orgLevel": "EXECUTIVE", "birthday": "1970-13-45"})).await;
    assert!(bad_date.code().is_some());
    assert_eq!(app.count("contact").await, 0, "a failed mutation writes nothing");
}

#[tokio::test]
async fn archived_contacts_leave_lists_but_remain_readable() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let contact = app.contact(&cast.rep_a, &customer, "Gone", "TECHNICAL").await;

    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveContact(id: $id) { archivedAt } }", json!({"id": contact}))
        .await
        .ok();
    let listed = app.gql(&cast.rep_a, "{ contacts { totalCount } }", json!({})).await;
    let with_archived =
        app.gql(&cast.rep_a, "{ contacts(filter: {includeArchived: true}) { totalCount } }", json!({})).await;
    let by_node = app
        .gql(
            &cast.rep_a,
            "query($id: ID!) { node(id: $id) { ... on Contact { name archivedAt } } }",
            json!({"id": contact}),
        )
        .await;

    assert_eq!(listed.ok()["contacts"]["totalCount"], 0);
    assert_eq!(with_archived.ok()["contacts"]["totalCount"], 1);
    assert_eq!(by_node.ok()["node"]["name"], "Gone");
    assert!(by_node.ok()["node"]["archivedAt"].is_string());
    assert_eq!(app.count("contact").await, 1, "never hard-deleted");
}
