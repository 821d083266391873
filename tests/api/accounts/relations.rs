//! Customer links, survey responses and group hierarchy.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn customers_are_linked_once_per_kind() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let distributor = app.customer(&cast.rep_a, "Distributor").await;
    let shop = app.customer(&cast.rep_a, "Shop").await;
    let link = "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: DISTRIBUTES_TO) { id kind fromCustomerId toCustomerId } }";

    let created = app.gql(&cast.rep_a, link, json!({"a": distributor, "b": shop})).await;
    let twice = app.gql(&cast.rep_a, link, json!({"a": distributor, "b": shop})).await;
    let itself = app.gql(&cast.rep_a, link, json!({"a": shop, "b": shop})).await;
    let listed = app
        .gql(&cast.rep_a, "query($c: ID!) { customerLinks(customerId: $c) { totalCount } }", json!({"c": shop}))
        .await;
    let id = created.ok()["linkCustomers"]["id"].clone();
    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomerLink(id: $id) { archivedAt } }", json!({"id": id}))
        .await
        .ok();
    let relinked = app.gql(&cast.rep_a, link, json!({"a": distributor, "b": shop})).await;

    assert_eq!(created.ok()["linkCustomers"]["kind"], "DISTRIBUTES_TO");
    assert_eq!(twice.code(), Some("CONFLICT"));
    assert_eq!(itself.code(), Some("BAD_USER_INPUT"));
    assert_eq!(listed.ok()["customerLinks"]["totalCount"], 1);
    assert_eq!(relinked.ok()["linkCustomers"]["id"], id, "an archived link is restored, not duplicated");
}

#[tokio::test]
async fn survey_scores_are_between_zero_and_ten() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let contact = app.contact(&cast.rep_a, &customer, "Pat", "END_USER").await;
    let record = "mutation($c: ID!, $p: ID, $s: Int!) { recordSurveyResponse(input: {customerId: $c, contactId: $p, score: $s, comment: \"ok\"}) { score contactId } }";

    let ok = app.gql(&cast.rep_a, record, json!({"c": customer, "p": contact, "s": 9})).await;
    let too_high = app.gql(&cast.rep_a, record, json!({"c": customer, "p": null, "s": 11})).await;
    let listed = app.gql(&cast.rep_a, "{ surveyResponses { totalCount edges { node { score } } } }", json!({})).await;

    assert_eq!(ok.ok()["recordSurveyResponse"]["score"], 9);
    assert_eq!(too_high.code(), Some("BAD_USER_INPUT"));
    assert_eq!(listed.ok()["surveyResponses"]["totalCount"], 1);
}

#[tokio::test]
async fn subsidiaries_are_listed_under_their_parent() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let group = app.customer(&cast.rep_a, "Group").await;
    let reply = app
        .gql(
            &cast.rep_a,
            "mutation($p: ID!) { createCustomer(input: {name: \"Subsidiary\", parentId: $p}) { parent { name } } }",
            json!({"p": group}),
        )
        .await;
    let own_parent = app
        .gql(
            &cast.rep_a,
            "mutation($p: ID!) { updateCustomer(id: $p, input: {parentId: $p}) { id } }",
            json!({"p": group}),
        )
        .await;
    let children = app
        .gql(
            &cast.rep_a,
            "query($p: ID!) { customers(filter: {parentId: $p}) { edges { node { name } } } }",
            json!({"p": group}),
        )
        .await;

    assert_eq!(reply.ok()["createCustomer"]["parent"]["name"], "Group");
    assert_eq!(own_parent.code(), Some("CONFLICT"), "a customer cannot be its own ancestor");
    assert_eq!(children.ok()["customers"]["edges"], json!([{"node": {"name": "Subsidiary"}}]));
}
