//! Communications: touchpoints with several participating contacts.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_communication_records_all_its_participants() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let ceo = app.contact(&cast.rep_a, &customer, "Ceo", "EXECUTIVE").await;
    let buyer = app.contact(&cast.rep_a, &customer, "Buyer", "PURCHASING").await;

    let logged = app
        .gql(&cast.rep_a, r#"mutation($c: ID!, $p: [ID!]!) { logCommunication(input: {customerId: $c, channel: EXECUTIVE_MEETING, summary: "Annual review", occurredAt: "2026-11-01T09:00:00Z", contactIds: $p}) {
            channel direction summary occurredAt user { id } contacts { name } } }"#, json!({"c": customer, "p": [ceo, buyer, ceo]}))
        .await;
    app.gql(&cast.rep_a, r#"mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: "Follow-up", occurredAt: "2026-11-05T09:00:00Z"}) { id } }"#, json!({"c": customer}))
        .await
        .ok();
    let with_ceo = app
        .gql(
            &cast.rep_a,
            "query($p: ID!) { communications(filter: {contactId: $p}) { totalCount } }",
            json!({"p": ceo}),
        )
        .await;
    let newest = app.gql(&cast.rep_a, "{ communications(first: 1) { edges { node { summary } } } }", json!({})).await;
    let latest = app
        .gql(
            &cast.rep_a,
            "query($c: ID!) { customer(id: $c) { latestCommunications(first: 1) { summary } } }",
            json!({"c": customer}),
        )
        .await;
    let by_channel =
        app.gql(&cast.rep_a, "{ communications(filter: {channels: [CALL]}) { totalCount } }", json!({})).await;

    let c = &logged.ok()["logCommunication"];
    assert_eq!(c["channel"], "EXECUTIVE_MEETING");
    assert_eq!(c["direction"], "OUTBOUND");
    assert_eq!(c["user"]["id"], cast.rep_a.gid.as_str());
    assert_eq!(c["contacts"], json!([{"name": "Buyer"}, {"name": "Ceo"}]));
    assert_eq!(app.count("communication_contact").await, 2);
    assert_eq!(with_ceo.ok()["communications"]["totalCount"], 1);
    assert_eq!(newest.ok()["communications"]["edges"][0]["node"]["summary"], "Follow-up");
    assert_eq!(latest.ok()["customer"]["latestCommunications"], json!([{"summary": "Follow-up"}]));
    assert_eq!(by_channel.ok()["communications"]["totalCount"], 1);
}

#[tokio::test]
async fn a_participant_from_another_customer_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let other = app.customer(&cast.rep_a, "Other").await;
    let stranger = app.contact(&cast.rep_a, &other, "Stranger", "TECHNICAL").await;

    let reply = app
        .gql(&cast.rep_a, r#"mutation($c: ID!, $p: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: "x", contactIds: [$p]}) { id } }"#, json!({"c": acme, "p": stranger}))
        .await;
    let future = app
        .gql(&cast.rep_a, r#"mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: "x", occurredAt: "2999-01-01T00:00:00Z"}) { id } }"#, json!({"c": acme}))
        .await;

    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    assert_eq!(reply.body["errors"][0]["extensions"]["field"], "contactIds");
    assert_eq!(future.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("communication").await, 0);
    assert_eq!(app.count("communication_contact").await, 0);
}

#[tokio::test]
async fn a_logged_communication_can_be_corrected() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let first = app.contact(&cast.rep_a, &customer, "First", "EXECUTIVE").await;
    let second = app.contact(&cast.rep_a, &customer, "Second", "TECHNICAL").await;
    let logged = app
        .gql(&cast.rep_a, r#"mutation($c: ID!, $p: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: "Typo", followUpOn: "2030-01-01", contactIds: [$p]}) { id } }"#, json!({"c": customer, "p": first}))
        .await;
    let id = logged.ok()["logCommunication"]["id"].clone();

    let corrected = app
        .gql(&cast.rep_a, "mutation($id: ID!, $p: ID!) { updateCommunication(id: $id, input: {summary: \"Fixed\", followUpOn: null, contactIds: [$p]}) { summary followUpOn contacts { name } } }", json!({"id": id, "p": second}))
        .await;
    let other = app
        .gql(
            &cast.rep_b,
            "mutation($id: ID!) { updateCommunication(id: $id, input: {summary: \"x\"}) { id } }",
            json!({"id": id}),
        )
        .await;

    assert_eq!(
        corrected.ok()["updateCommunication"],
        json!({"summary": "Fixed", "followUpOn": null, "contacts": [{"name": "Second"}]})
    );
    assert_eq!(other.code(), Some("NOT_FOUND"));
    assert_eq!(app.count("communication_contact").await, 1);
}
