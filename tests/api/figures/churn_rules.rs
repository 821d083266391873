//! A customer's status and its churn events cannot disagree: LOST and
//! WON_BACK come only with a dated event, on every write path, and the dates
//! make sense.

use serde_json::{Value, json};

use crate::helpers::{TestApp, raw_id};

const UPSERT_EVENTS: &str = r#"mutation($rows: [ChurnEventUpsertInput!]!) {
  upsertChurnEvents(source: "crm", events: $rows) { created updated unchanged events { kind occurredOn reason } } }"#;

fn rows_of(reply: &crate::helpers::Reply) -> Vec<(u64, String)> {
    reply.body["errors"][0]["extensions"]["rows"]
        .as_array()
        .map(|rows| {
            rows.iter().map(|r| (r["index"].as_u64().unwrap(), r["field"].as_str().unwrap().to_owned())).collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn no_mutation_makes_or_unmakes_a_loss_without_its_event() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for status in ["LOST", "WON_BACK"] {
        let reply = app
            .gql(
                &cast.rep_a,
                "mutation($s: CustomerStatus!) { createCustomer(input: {name: \"X\", status: $s}) { id } }",
                json!({"s": status}),
            )
            .await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "create as {status}");
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], "status");
        let reply = app
            .gql(
                &cast.leader,
                "mutation($s: CustomerStatus!) { upsertCustomers(source: \"erp\", customers: [{externalId: \"E1\", name: \"X\", status: $s, ownerEmail: \"rep.a@t.example\"}]) { created } }",
                json!({"s": status}),
            )
            .await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "upsert as {status}");
        assert_eq!(rows_of(&reply), vec![(0, "status".to_owned())]);
    }
    assert_eq!(app.count("customer").await, 0, "nothing of a refused write is kept");

    // Lost by the mutation that records the event; no other write takes it back.
    let acme = app.customer(&cast.rep_a, "Acme").await;
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { status } } }",
        json!({"id": acme}),
    )
    .await
    .ok();
    let back = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { updateCustomer(id: $id, input: {status: ACTIVE}) { status } }",
            json!({"id": acme}),
        )
        .await;
    assert_eq!(back.code(), Some("BAD_USER_INPUT"));
    let reply = app.gql(&cast.rep_a, "query($id: ID!) { customer(id: $id) { status } }", json!({"id": acme})).await;
    assert_eq!(reply.ok()["customer"]["status"], "LOST");
}

#[tokio::test]
async fn losses_and_win_backs_have_dates_that_make_sense() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let reply = app
        .gql(&cast.rep_a, "mutation { createCustomer(input: {name: \"Acme\", status: ACTIVE, customerSince: \"2022-03-01\"}) { id } }", json!({}))
        .await;
    let acme = reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned();
    let lose = "mutation($id: ID!, $on: Date) { markCustomerLost(id: $id, reason: PRICE, occurredOn: $on) { churnEvent { occurredOn } } }";
    let win =
        "mutation($id: ID!, $on: Date) { markCustomerWonBack(id: $id, occurredOn: $on) { churnEvent { occurredOn } } }";
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    for on in [tomorrow.as_str(), "2022-02-28"] {
        let reply = app.gql(&cast.rep_a, lose, json!({"id": acme, "on": on})).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "lost on {on}");
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], "occurredOn");
    }
    app.gql(&cast.rep_a, lose, json!({"id": acme, "on": "2024-05-10"})).await.ok();
    let early = app.gql(&cast.rep_a, win, json!({"id": acme, "on": "2024-05-09"})).await;
    assert_eq!(early.code(), Some("BAD_USER_INPUT"), "a win-back before the loss it reverses");
    let reply = app.gql(&cast.rep_a, win, json!({"id": acme, "on": "2024-09-01"})).await;
    assert_eq!(reply.ok()["markCustomerWonBack"]["churnEvent"]["occurredOn"], "2024-09-01");
    let again = app.gql(&cast.rep_a, lose, json!({"id": acme, "on": "2024-08-01"})).await;
    assert_eq!(again.code(), Some("BAD_USER_INPUT"), "a loss before the win-back it follows");
}

#[tokio::test]
async fn an_integration_pushes_losses_and_win_backs_by_external_id_and_status_follows() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let crm = app.person("crm@t.example", entity::enums::Role::Integration, None, &["customers:write"]).await;
    let customers = json!([
        {"externalId": "C1", "name": "One", "ownerEmail": "rep.a@t.example", "customerSince": "2021-01-15"},
        {"externalId": "C2", "name": "Two", "ownerEmail": "rep.a@t.example", "customerSince": "2021-06-01"}
    ]);
    let reply = app
        .gql(
            &crm,
            "mutation($rows: [CustomerUpsertInput!]!) { upsertCustomers(source: \"crm\", customers: $rows) { created customers { id customerSince } } }",
            json!({"rows": customers}),
        )
        .await;
    let created = reply.ok()["upsertCustomers"].clone();
    assert_eq!(created["customers"][0]["customerSince"], "2021-01-15");
    let two = created["customers"][1]["id"].as_str().unwrap().to_owned();

    // A batch with a bad row writes nothing, and names every bad row.
    let bad = json!([
        {"externalId": "E1", "customerExternalId": "C1", "kind": "LOST", "occurredOn": "2023-04-01", "reason": "PRICE"},
        {"externalId": "E2", "customerExternalId": "C1", "kind": "WON_BACK", "occurredOn": "2023-03-01"},
        {"externalId": "E3", "customerExternalId": "C2", "kind": "LOST", "occurredOn": "2023-04-01"},
        {"externalId": "E4", "customerExternalId": "C2", "kind": "WON_BACK", "occurredOn": "2099-01-01"},
        {"externalId": "E5", "customerExternalId": "NOPE", "kind": "LOST", "occurredOn": "2023-04-01", "reason": "PRICE"}
    ]);
    let reply = app.gql(&crm, UPSERT_EVENTS, json!({"rows": bad})).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    let rows = rows_of(&reply);
    for (index, field) in [(1, "occurredOn"), (2, "reason"), (3, "occurredOn"), (4, "customer")] {
        assert!(rows.contains(&(index, field.to_owned())), "row {index} {field} in {rows:?}");
    }
    assert_eq!(app.count("churn_event").await, 0);

    let good = json!([
        {"externalId": "E1", "customerExternalId": "C1", "kind": "LOST", "occurredOn": "2023-04-01", "reason": "PRICE"},
        {"externalId": "E2", "customerExternalId": "C1", "kind": "WON_BACK", "occurredOn": "2024-02-01"},
        {"externalId": "E3", "customerExternalId": "C2", "kind": "LOST", "occurredOn": "2024-07-01", "reason": "REP_DEPARTURE", "competitor": "Rival"}
    ]);
    let first = app.gql(&crm, UPSERT_EVENTS, json!({"rows": good.clone()})).await;
    assert_eq!(first.ok()["upsertChurnEvents"]["created"], 3);
    let second = app.gql(&crm, UPSERT_EVENTS, json!({"rows": good})).await;
    assert_eq!(second.ok()["upsertChurnEvents"]["unchanged"], 3);
    assert_eq!(app.count("churn_event").await, 3);
    // A new event must also fit before the events stored after it: a loss before C2's stored loss is two in a row.
    let earlier = json!([
        {"externalId": "E9", "customerExternalId": "C2", "kind": "LOST", "occurredOn": "2023-01-01", "reason": "PRICE"}
    ]);
    let reply = app.gql(&crm, UPSERT_EVENTS, json!({"rows": earlier})).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    assert_eq!(rows_of(&reply), vec![(0, "occurredOn".to_owned())]);
    assert_eq!(app.count("churn_event").await, 3);

    let statuses = app
        .gql(&cast.leader, "{ customers(orderBy: {field: NAME}) { edges { node { name status } } } }", json!({}))
        .await;
    let statuses: Vec<Value> =
        statuses.ok()["customers"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    assert_eq!(statuses, vec![json!({"name": "One", "status": "WON_BACK"}), json!({"name": "Two", "status": "LOST"})]);
    // The losses count in the report of their year.
    let report = app
        .gql(
            &cast.leader,
            "{ retentionReport(from: \"2023-12-31\", to: \"2024-12-31\") { total { customersAtStart lost wonBack } reasons { reason count } } }",
            json!({}),
        )
        .await;
    let report = report.ok()["retentionReport"].clone();
    assert_eq!(report["total"], json!({"customersAtStart": 1, "lost": 1, "wonBack": 1}));
    assert_eq!(report["reasons"], json!([{"reason": "REP_DEPARTURE", "count": 1}]));
    // The change is in the feed and audited.
    let audit = app
        .gql(
            &cast.leader,
            "query($id: Int!) { auditLog(filter: {entityId: $id, actions: [\"status_change\"]}) { totalCount } }",
            json!({"id": raw_id(&two)}),
        )
        .await;
    assert_eq!(audit.ok()["auditLog"]["totalCount"], 1);
}
