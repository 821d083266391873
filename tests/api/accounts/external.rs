//! Upserts by external id: idempotent, all or nothing with per-row errors,
//! scoped, and usable by revenue pushes.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const CUSTOMERS: &str = r#"mutation($s: String!, $c: [CustomerUpsertInput!]!) {
  upsertCustomers(source: $s, customers: $c) { created updated unchanged
    customers { id name owner { id } externalIds { source externalId } } } }"#;

const CONTACTS: &str = r#"mutation($s: String!, $c: [ContactUpsertInput!]!) {
  upsertContacts(source: $s, contacts: $c) { created updated unchanged
    contacts { id name customer { id } externalIds { externalId } } } }"#;

fn customer(external_id: &str, name: &str) -> Value {
    json!({"externalId": external_id, "name": name, "region": "North", "ownerEmail": "rep.a@t.example"})
}

async fn erp(app: &TestApp) -> Person {
    app.person("master@t.example", Role::Integration, None, &["customers:read", "customers:write", "revenue:write"])
        .await
}

#[tokio::test]
async fn pushing_master_data_twice_creates_nothing_twice() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let erp = erp(&app).await;
    let batch = json!([customer("C-1", "Acme"), customer("C-2", "Beta")]);

    let first = app.gql(&erp, CUSTOMERS, json!({"s": "erp", "c": batch})).await;
    let done = &first.ok()["upsertCustomers"];
    assert_eq!(
        (done["created"].clone(), done["updated"].clone(), done["unchanged"].clone()),
        (json!(2), json!(0), json!(0))
    );
    assert_eq!(done["customers"][0]["externalIds"], json!([{"source": "erp", "externalId": "C-1"}]));
    assert_eq!(done["customers"][1]["owner"]["id"], cast.rep_a.gid.as_str());
    let acme = done["customers"][0]["id"].as_str().unwrap().to_owned();
    let feed = app.gql(&erp, "{ changes { nextPosition } }", json!({})).await;
    let position = feed.ok()["changes"]["nextPosition"].clone();

    let again = app.gql(&erp, CUSTOMERS, json!({"s": "erp", "c": batch})).await;
    assert_eq!(again.ok()["upsertCustomers"]["unchanged"], 2);
    assert_eq!(again.ok()["upsertCustomers"]["customers"][0]["id"], acme.as_str());
    assert_eq!(app.count("customer").await, 2);
    let quiet =
        app.gql(&erp, "query($p: String) { changes(since: $p) { changes { id } } }", json!({"p": position})).await;
    assert_eq!(quiet.ok()["changes"]["changes"], json!([]), "an unchanged push records no change");

    let renamed = app.gql(&erp, CUSTOMERS, json!({"s": "erp", "c": [customer("C-1", "Acme Group")]})).await;
    assert_eq!(renamed.ok()["upsertCustomers"]["updated"], 1);
    assert_eq!(renamed.ok()["upsertCustomers"]["customers"][0]["name"], "Acme Group");
    // The same key in another source system is another customer.
    let other = app.gql(&erp, CUSTOMERS, json!({"s": "webshop", "c": [customer("C-1", "Shop buyer")]})).await;
    assert_eq!(other.ok()["upsertCustomers"]["created"], 1);
    assert_eq!(app.count("customer").await, 3);

    // Contacts by their customer's external id; pushed twice, created once.
    let people = json!([
        {"externalId": "P-1", "customerExternalId": "C-1", "name": "Ann", "orgLevel": "EXECUTIVE", "email": "ann@acme.example"},
        {"externalId": "P-2", "customerId": acme, "name": "Bob", "orgLevel": "PURCHASING"},
    ]);
    let first = app.gql(&erp, CONTACTS, json!({"s": "erp", "c": people})).await;
    assert_eq!(first.ok()["upsertContacts"]["created"], 2);
    assert_eq!(first.ok()["upsertContacts"]["contacts"][0]["customer"]["id"], acme.as_str());
    assert_eq!(first.ok()["upsertContacts"]["contacts"][0]["externalIds"][0]["externalId"], "P-1");
    let again = app.gql(&erp, CONTACTS, json!({"s": "erp", "c": people})).await;
    assert_eq!(again.ok()["upsertContacts"]["unchanged"], 2);
    assert_eq!(app.count("contact").await, 2);

    // Revenue by the customer's external id.
    let upsert = "mutation($e: [RevenueEntryInput!]!, $s: String) { upsertRevenueEntries(entries: $e, source: $s) { upserted } }";
    let entry =
        json!({"customerExternalId": "C-1", "month": "2026-10-01", "revenue": "1200.00", "grossProfit": "300.00"});
    let pushed = app.gql(&erp, upsert, json!({"e": [entry], "s": "erp"})).await;
    assert_eq!(pushed.ok()["upsertRevenueEntries"]["upserted"], 1);
    let listed = app
        .gql(
            &cast.rep_a,
            "query($c: ID!) { revenueEntries(customerId: $c) { edges { node { revenue } } } }",
            json!({"c": acme}),
        )
        .await;
    assert_eq!(listed.ok()["revenueEntries"]["edges"][0]["node"]["revenue"], "1200.00");
    let unknown = json!({"customerExternalId": "C-404", "month": "2026-10-01", "revenue": "1", "grossProfit": "1"});
    let refused = app.gql(&erp, upsert, json!({"e": [entry, unknown], "s": "erp"})).await;
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"));
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "entries[1].customerExternalId");
    // Another rep's customer by its external id is not found, like an unknown one; without the scope, FORBIDDEN.
    let hidden = app.gql(&cast.rep_b, upsert, json!({"e": [entry], "s": "erp"})).await;
    assert_eq!(hidden.code(), Some("BAD_USER_INPUT"));
    assert_eq!(hidden.body["errors"][0]["extensions"]["field"], "entries[0].customerExternalId");
    let unscoped = app.gql(&cast.integration_unscoped, upsert, json!({"e": [entry], "s": "erp"})).await;
    assert_eq!(unscoped.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_batch_with_bad_rows_writes_nothing_and_names_every_bad_row() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let erp = erp(&app).await;
    let batch = json!([
        customer("C-1", "Acme"),
        customer("C-2", " "),
        {"externalId": "C-3", "name": "Gamma", "ownerEmail": "nobody@t.example"},
        customer("C-1", "Acme again"),
        {"externalId": "C-5", "name": "No owner"},
    ]);
    let reply = app.gql(&erp, CUSTOMERS, json!({"s": "erp", "c": batch})).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{}", reply.text);
    let extensions = &reply.body["errors"][0]["extensions"];
    assert_eq!(extensions["field"], "customers");
    let mut bad: Vec<(i64, String)> = extensions["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_i64().unwrap(), r["field"].as_str().unwrap().to_owned()))
        .collect();
    bad.sort();
    assert_eq!(
        bad,
        vec![(1, "name".to_owned()), (2, "owner".to_owned()), (3, "externalId".to_owned()), (4, "owner".to_owned())]
    );
    assert_eq!(app.count("customer").await, 0);
    assert_eq!(app.count("external_ref").await, 0);
    assert_eq!(app.count("change_log").await, 0);

    // A contact row naming a customer that does not exist fails its batch too.
    let people = json!([{"externalId": "P-1", "customerExternalId": "C-404", "name": "Ann", "orgLevel": "EXECUTIVE"}]);
    let reply = app.gql(&erp, CONTACTS, json!({"s": "erp", "c": people})).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    assert_eq!(reply.body["errors"][0]["extensions"]["rows"][0]["index"], 0);
    assert_eq!(app.count("contact").await, 0);

    // Who may push: service accounts with customers:write, and leadership.
    let one = json!([customer("C-9", "Nine")]);
    for (who, code) in [(&cast.integration, Some("FORBIDDEN")), (&cast.rep_a, Some("FORBIDDEN")), (&cast.leader, None)]
    {
        let reply = app.gql(who, CUSTOMERS, json!({"s": "erp", "c": one})).await;
        assert_eq!(reply.code(), code, "{}", reply.text);
    }
    let reply = app.gql(&erp, CUSTOMERS, json!({"s": "bad source!", "c": one})).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
}
