//! Custom fields: ADMIN defines them; values are validated against their
//! definition on create and update, stored, audited with old and new values,
//! and read back with their type.

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const DEFINE: &str = "mutation($input: DefineCustomFieldInput!) {
    defineCustomField(input: $input) { id key entity type options required } }";

async fn define(app: &TestApp, admin: &Person, input: Value) -> String {
    let reply = app.gql(admin, DEFINE, json!({ "input": input })).await;
    reply.ok()["defineCustomField"]["id"].as_str().unwrap().to_owned()
}

/// The customer fields of the tests: one of each type.
async fn customer_fields(app: &TestApp, admin: &Person) {
    for input in [
        json!({"entity": "CUSTOMER", "key": "region_code", "label": "Region code", "type": "ENUM", "options": ["NA", "EU"]}),
        json!({"entity": "CUSTOMER", "key": "budget", "label": "Annual budget", "type": "MONEY"}),
        json!({"entity": "CUSTOMER", "key": "renewal_on", "label": "Renewal", "type": "DATE"}),
        json!({"entity": "CUSTOMER", "key": "employees", "label": "Employees", "type": "NUMBER"}),
        json!({"entity": "CUSTOMER", "key": "key_account", "label": "Key account", "type": "BOOLEAN"}),
        json!({"entity": "CUSTOMER", "key": "tax_id", "label": "Tax number", "type": "STRING", "identifier": true}),
    ] {
        define(app, admin, input).await;
    }
}

const READ: &str = "query($id: ID!) { customer(id: $id) { customFields { key label type value } } }";

fn values(reply: &Value) -> Value {
    let list = reply["customer"]["customFields"].as_array().unwrap();
    Value::Object(list.iter().map(|v| (v["key"].as_str().unwrap().to_owned(), v["value"].clone())).collect())
}

#[tokio::test]
async fn values_of_every_type_are_validated_stored_and_read_back_with_their_type() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    customer_fields(&app, &cast.admin).await;

    let created = app
        .gql(
            &cast.rep_a,
            "mutation($fields: [CustomFieldInput!]) { createCustomer(input: {name: \"Acme\", customFields: $fields}) { id } }",
            json!({"fields": [
                {"key": "region_code", "value": "EU"},
                {"key": "budget", "value": "1234.5"},
                {"key": "renewal_on", "value": "2027-01-31"},
                {"key": "employees", "value": 250},
                {"key": "key_account", "value": true},
                {"key": "tax_id", "value": "DE123456789"}
            ]}),
        )
        .await;
    let id = created.ok()["createCustomer"]["id"].as_str().unwrap().to_owned();
    let read = app.gql(&cast.rep_a, READ, json!({"id": id})).await;

    assert_eq!(
        values(read.ok()),
        json!({"budget": "1234.50", "employees": 250.0, "key_account": true, "region_code": "EU",
               "renewal_on": "2027-01-31", "tax_id": "DE123456789"})
    );
    let types: Vec<&str> =
        read.ok()["customer"]["customFields"].as_array().unwrap().iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["MONEY", "NUMBER", "BOOLEAN", "ENUM", "DATE", "STRING"]);
    assert_eq!(app.count("custom_value").await, 6);

    // An update sets one value, clears another and leaves the rest; the audit keeps old and new.
    let updated = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!, $fields: [CustomFieldInput!]) { updateCustomer(id: $id, input: {customFields: $fields}) { version } }",
            json!({"id": id, "fields": [{"key": "budget", "value": 99.99}, {"key": "employees", "value": null}]}),
        )
        .await;
    assert_eq!(updated.ok()["updateCustomer"]["version"], 2);
    let read = app.gql(&cast.rep_a, READ, json!({"id": id})).await;
    let after = values(read.ok());
    assert_eq!(after["budget"], "99.99");
    assert!(after.get("employees").is_none());
    assert_eq!(after["region_code"], "EU");
    let row = crate::helpers::raw_id(&id);
    let audited = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND entity_id = {row} AND action = 'update' \
             AND changes LIKE '%\"customFields\"%\"budget\"%\"new\":\"99.99\"%\"old\":\"1234.50\"%'"
        ))
        .await;
    assert_eq!(audited, 1, "the update's audit entry holds the value's old and new");
}

#[tokio::test]
async fn a_bad_value_names_its_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    customer_fields(&app, &cast.admin).await;
    let create = "mutation($fields: [CustomFieldInput!]) { createCustomer(input: {name: \"Acme\", customFields: $fields}) { id } }";
    let before = app.count("customer").await;

    for (fields, field) in [
        (json!([{"key": "region_code", "value": "ASIA"}]), "customFields.region_code"),
        (json!([{"key": "budget", "value": "12.345"}]), "customFields.budget"),
        (json!([{"key": "renewal_on", "value": 20270131}]), "customFields.renewal_on"),
        (json!([{"key": "renewal_on", "value": "+10000-01-01"}]), "customFields.renewal_on"),
        (json!([{"key": "employees", "value": "many"}]), "customFields.employees"),
        (json!([{"key": "key_account", "value": "yes"}]), "customFields.key_account"),
        (json!([{"key": "no_such_field", "value": 1}]), "customFields.no_such_field"),
        (json!([{"key": "budget", "value": "1"}, {"key": "budget", "value": "2"}]), "customFields.budget"),
    ] {
        let reply = app.gql(&cast.rep_a, create, json!({ "fields": fields })).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{fields}");
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], field, "{fields}");
    }
    assert_eq!(app.count("customer").await, before, "no customer was created");
    assert_eq!(app.count("custom_value").await, 0);
}

#[tokio::test]
async fn only_admin_defines_and_keys_are_stable() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let field = json!({"entity": "CONTACT", "key": "linkedin", "label": "LinkedIn", "type": "STRING"});

    let as_leader = app.gql(&cast.leader, DEFINE, json!({"input": field})).await;
    let bad_key = app
        .gql(
            &cast.admin,
            DEFINE,
            json!({"input": {"entity": "CONTACT", "key": "Linked-In", "label": "L", "type": "STRING"}}),
        )
        .await;
    let no_options = app
        .gql(&cast.admin, DEFINE, json!({"input": {"entity": "TICKET", "key": "kind", "label": "K", "type": "ENUM"}}))
        .await;
    let options_on_text = app
        .gql(
            &cast.admin,
            DEFINE,
            json!({"input": {"entity": "TICKET", "key": "k", "label": "K", "type": "STRING", "options": ["A"]}}),
        )
        .await;
    let first = app.gql(&cast.admin, DEFINE, json!({"input": field})).await;
    let again = app.gql(&cast.admin, DEFINE, json!({"input": field})).await;
    let listed =
        app.gql(&cast.rep_b, "{ customFieldDefinitions(entity: CONTACT) { key label type } }", json!({})).await;

    assert_eq!(as_leader.code(), Some("FORBIDDEN"));
    assert_eq!(bad_key.code(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_key.body["errors"][0]["extensions"]["field"], "key");
    assert_eq!(no_options.body["errors"][0]["extensions"]["field"], "options");
    assert_eq!(options_on_text.body["errors"][0]["extensions"]["field"], "options");
    assert_eq!(first.ok()["defineCustomField"]["key"], "linkedin");
    assert_eq!(again.code(), Some("CONFLICT"));
    assert_eq!(
        listed.ok()["customFieldDefinitions"],
        json!([{"key": "linkedin", "label": "LinkedIn", "type": "STRING"}])
    );
}

#[tokio::test]
async fn a_required_field_must_be_given_and_cannot_be_cleared_and_an_archived_one_is_gone() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rma = define(
        &app,
        &cast.admin,
        json!({"entity": "TICKET", "key": "rma_number", "label": "RMA", "type": "STRING", "required": true}),
    )
    .await;
    let linkedin = define(
        &app,
        &cast.admin,
        json!({"entity": "CONTACT", "key": "linkedin", "label": "LinkedIn", "type": "STRING"}),
    )
    .await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let open = "mutation($c: ID!, $fields: [CustomFieldInput!]) { createTicket(input: {customerId: $c, title: \"Broken\",
        description: \"It broke\", category: QUALITY, customFields: $fields}) { id version customFields { key value } } }";

    let without = app.gql(&cast.rep_a, open, json!({"c": customer})).await;
    let with =
        app.gql(&cast.rep_a, open, json!({"c": customer, "fields": [{"key": "rma_number", "value": "RMA-7"}]})).await;
    let ticket = with.ok()["createTicket"]["id"].as_str().unwrap().to_owned();
    let cleared = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { updateTicket(id: $id, expectedVersion: 1, input: {customFields: [{key: \"rma_number\", value: null}]}) { id } }",
            json!({"id": ticket}),
        )
        .await;

    assert_eq!(without.code(), Some("BAD_USER_INPUT"));
    assert_eq!(without.body["errors"][0]["extensions"]["field"], "customFields.rma_number");
    assert_eq!(with.ok()["createTicket"]["customFields"], json!([{"key": "rma_number", "value": "RMA-7"}]));
    assert_eq!(cleared.code(), Some("BAD_USER_INPUT"));

    // A contact's value, then its field archived: no longer read, no longer accepted.
    let contact = app
        .gql(
            &cast.rep_a,
            "mutation($c: ID!) { createContact(customerId: $c, input: {name: \"Ann\", orgLevel: EXECUTIVE,
                customFields: [{key: \"linkedin\", value: \"in/ann\"}]}) { id customFields { key value } } }",
            json!({"c": customer}),
        )
        .await;
    assert_eq!(contact.ok()["createContact"]["customFields"], json!([{"key": "linkedin", "value": "in/ann"}]));
    let contact = contact.ok()["createContact"]["id"].as_str().unwrap().to_owned();
    let as_rep = app
        .gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomField(id: $id) { key } }", json!({"id": linkedin}))
        .await;
    let archived = app
        .gql(&cast.admin, "mutation($id: ID!) { archiveCustomField(id: $id) { archivedAt } }", json!({"id": linkedin}))
        .await;
    let read = app
        .gql(
            &cast.rep_a,
            "query($id: ID!) { node(id: $id) { ... on Contact { customFields { key } } } }",
            json!({"id": contact}),
        )
        .await;
    let given = app
        .gql(
            &cast.rep_a,
            "mutation($id: ID!) { updateContact(id: $id, input: {customFields: [{key: \"linkedin\", value: \"x\"}]}) { id } }",
            json!({"id": contact}),
        )
        .await;
    let all =
        app.gql(&cast.admin, "{ customFieldDefinitions(includeArchived: true) { key archivedAt } }", json!({})).await;

    assert_eq!(as_rep.code(), Some("FORBIDDEN"));
    assert!(archived.ok()["archiveCustomField"]["archivedAt"].is_string());
    assert_eq!(read.ok()["node"]["customFields"], json!([]));
    assert_eq!(given.code(), Some("BAD_USER_INPUT"));
    assert_eq!(all.ok()["customFieldDefinitions"].as_array().unwrap().len(), 2);
    assert_eq!(app.count("custom_value").await, 2, "the archived field's value is kept");
    let _ = rma;
}

#[tokio::test]
async fn values_are_read_only_through_rows_the_viewer_sees() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    define(&app, &cast.admin, json!({"entity": "CUSTOMER", "key": "tax_id", "label": "Tax", "type": "STRING"})).await;
    let secret = app
        .gql(
            &cast.rep_a,
            "mutation { createCustomer(input: {name: \"Mine\", customFields: [{key: \"tax_id\", value: \"SECRET-TAX\"}]}) { id } }",
            json!({}),
        )
        .await;
    let id = secret.ok()["createCustomer"]["id"].as_str().unwrap().to_owned();

    let other = app.gql(&cast.rep_b, READ, json!({"id": id})).await;
    let list = app.gql(&cast.rep_b, "{ customers(first: 50) { nodes { customFields { value } } } }", json!({})).await;
    let mine =
        app.gql(&cast.rep_a, "{ customers(first: 50) { nodes { name customFields { key value } } } }", json!({})).await;

    assert_eq!(other.code(), Some("NOT_FOUND"));
    assert!(!other.body.to_string().contains("SECRET-TAX"));
    assert!(!list.body.to_string().contains("SECRET-TAX"));
    assert_eq!(mine.ok()["customers"]["nodes"][0]["customFields"], json!([{"key": "tax_id", "value": "SECRET-TAX"}]));
}

const UPSERT: &str = r#"mutation($c: [CustomerUpsertInput!]!) {
  upsertCustomers(source: "erp", customers: $c) { created updated unchanged
    customers { version customFields { key value } } } }"#;

#[tokio::test]
async fn pushes_by_external_id_carry_values_and_a_value_alone_is_a_change() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    define(
        &app,
        &cast.admin,
        json!({"entity": "CUSTOMER", "key": "tax_id", "label": "Tax", "type": "STRING", "required": true}),
    )
    .await;
    define(&app, &cast.admin, json!({"entity": "CONTACT", "key": "desk", "label": "Desk", "type": "NUMBER"})).await;
    let row = |tax: Value| {
        json!([{"externalId": "C-1", "name": "Acme", "ownerEmail": "rep.a@t.example",
                "customFields": [{"key": "tax_id", "value": tax}]}])
    };

    let missing = app
        .gql(
            &cast.leader,
            UPSERT,
            json!({"c": [{"externalId": "C-2", "name": "Beta", "ownerEmail": "rep.a@t.example"}]}),
        )
        .await;
    let first = app.gql(&cast.leader, UPSERT, json!({"c": row(json!("DE-1"))})).await;
    let again = app.gql(&cast.leader, UPSERT, json!({"c": row(json!("DE-1"))})).await;
    let moved = app.gql(&cast.leader, UPSERT, json!({"c": row(json!("DE-2"))})).await;
    let wrong = app.gql(&cast.leader, UPSERT, json!({"c": row(json!(12))})).await;

    assert_eq!(missing.code(), Some("BAD_USER_INPUT"));
    assert_eq!(missing.body["errors"][0]["extensions"]["rows"][0]["field"], "customFields.tax_id");
    let done = &first.ok()["upsertCustomers"];
    assert_eq!(done["created"], 1);
    assert_eq!(done["customers"][0]["customFields"], json!([{"key": "tax_id", "value": "DE-1"}]));
    assert_eq!(again.ok()["upsertCustomers"]["unchanged"], 1, "the same value again is no change");
    let done = &moved.ok()["upsertCustomers"];
    assert_eq!((done["updated"].clone(), done["customers"][0]["version"].clone()), (json!(1), json!(2)));
    assert_eq!(done["customers"][0]["customFields"], json!([{"key": "tax_id", "value": "DE-2"}]));
    assert_eq!(wrong.code(), Some("BAD_USER_INPUT"));
    assert_eq!(wrong.body["errors"][0]["extensions"]["rows"][0]["field"], "customFields.tax_id");
    assert_eq!(app.count("customer").await, 1);

    // Contacts likewise.
    let contacts = r#"mutation($c: [ContactUpsertInput!]!) {
      upsertContacts(source: "erp", contacts: $c) { created customers: contacts { customFields { key value } } } }"#;
    let people = json!([{"externalId": "P-1", "customerExternalId": "C-1", "name": "Ann", "orgLevel": "EXECUTIVE",
                         "customFields": [{"key": "desk", "value": 12}]}]);
    let pushed = app.gql(&cast.leader, contacts, json!({"c": people})).await;
    assert_eq!(pushed.ok()["upsertContacts"]["customers"][0]["customFields"], json!([{"key": "desk", "value": 12.0}]));
}

const LIST: &str = "query($f: CustomerFilterInput) { customers(first: 50, filter: $f) { totalCount nodes { name } } }";

fn names(reply: &Value) -> Vec<String> {
    let mut names: Vec<String> = reply["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_customer_list_filters_by_custom_fields_through_their_indexes() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    customer_fields(&app, &cast.admin).await;
    let create =
        "mutation($n: String!, $f: [CustomFieldInput!]) { createCustomer(input: {name: $n, customFields: $f}) { id } }";
    for (name, fields) in [
        (
            "Alpha",
            json!([{"key": "region_code", "value": "EU"}, {"key": "budget", "value": "100.00"}, {"key": "renewal_on", "value": "2027-01-10"}]),
        ),
        (
            "Bravo",
            json!([{"key": "region_code", "value": "NA"}, {"key": "budget", "value": "250.50"}, {"key": "employees", "value": 40}]),
        ),
        (
            "Charlie",
            json!([{"key": "region_code", "value": "EU"}, {"key": "budget", "value": "999.99"}, {"key": "key_account", "value": true}]),
        ),
        ("Delta", json!([])),
    ] {
        app.gql(&cast.rep_a, create, json!({"n": name, "f": fields})).await.ok();
    }
    let list = |filter: Value| {
        let app = &app;
        let rep = &cast.rep_a;
        async move { app.gql(rep, LIST, json!({"f": {"custom": filter}})).await }
    };

    let eu = list(json!([{"key": "region_code", "eq": "EU"}])).await;
    let among =
        list(json!([{"key": "region_code", "in": ["NA", "EU"]}, {"key": "budget", "gte": "200", "lte": 999.99}])).await;
    let cheap = list(json!([{"key": "budget", "lte": "250.50"}])).await;
    let dated = list(json!([{"key": "renewal_on", "gte": "2027-01-01"}])).await;
    let big = list(json!([{"key": "employees", "gte": 10}])).await;
    let flagged = list(json!([{"key": "key_account", "eq": true}])).await;
    let without = list(json!([{"key": "region_code", "isNull": true}])).await;
    let with = list(json!([{"key": "employees", "isNull": false}])).await;
    let unknown = list(json!([{"key": "nope", "eq": 1}])).await;
    let wrong = list(json!([{"key": "renewal_on", "eq": 5}])).await;
    let empty = list(json!([{"key": "budget"}])).await;
    let repeated = list(json!([{"key": "budget", "gte": "1"}, {"key": "budget", "lte": "2"}])).await;

    assert_eq!(names(eu.ok()), ["Alpha", "Charlie"]);
    assert_eq!(eu.ok()["customers"]["totalCount"], 2);
    assert_eq!(names(among.ok()), ["Bravo", "Charlie"]);
    assert_eq!(names(cheap.ok()), ["Alpha", "Bravo"]);
    assert_eq!(names(dated.ok()), ["Alpha"]);
    assert_eq!(names(big.ok()), ["Bravo"]);
    assert_eq!(names(flagged.ok()), ["Charlie"]);
    assert_eq!(names(without.ok()), ["Delta"]);
    assert_eq!(names(with.ok()), ["Bravo"]);
    for (reply, field) in [
        (&unknown, "filter.custom.nope"),
        (&wrong, "filter.custom.renewal_on"),
        (&empty, "filter.custom.budget"),
        (&repeated, "filter.custom.budget"),
    ] {
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], field);
    }
    // The same filter counts for dashboards.
    let counted = app
        .gql(
            &cast.rep_a,
            "{ customerAggregates(groupBy: [], filter: {custom: [{key: \"region_code\", eq: \"EU\"}]}) { customers } }",
            json!({}),
        )
        .await;
    assert_eq!(counted.ok()["customerAggregates"][0]["customers"], 2);

    // The value indexes serve the conditions (with sequential scans ruled out, as on a large book).
    use sea_orm::ConnectionTrait;
    let wanted = vec![rapport::service::custom_fields::Wanted {
        key: "budget".into(),
        gte: Some(json!("200")),
        ..Default::default()
    }];
    let admin = rapport::policy::Viewer {
        user_id: 1,
        role: entity::enums::Role::Admin,
        team_id: None,
        scopes: Vec::new(),
        client: None,
        hidden: rapport::policy::HiddenFields::default(),
    };
    let customer = entity::enums::CustomFieldEntity::Customer;
    let conditions = rapport::service::custom_fields::conditions(&app.db, &admin, customer, wanted).await.unwrap();
    let sql = format!("SELECT c.id FROM customer c WHERE {}", conditions[0].sql("c.id"));
    let backend = app.db.get_database_backend();
    let txn = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    let plan = if backend == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
        format!("EXPLAIN {sql}")
    } else {
        format!("EXPLAIN QUERY PLAN {sql}")
    };
    let rows = txn.query_all_raw(sea_orm::Statement::from_string(backend, plan)).await.unwrap();
    txn.rollback().await.unwrap();
    let text: Vec<String> = rows
        .iter()
        .map(|r| {
            r.try_get::<String>("", "QUERY PLAN").or_else(|_| r.try_get::<String>("", "detail")).unwrap_or_default()
        })
        .collect();
    let text = text.join("\n");
    assert!(text.contains("ix_custom_value_field_id") || text.contains("ux_custom_value_field_id"), "{text}");
}

#[tokio::test]
async fn aggregates_group_by_custom_enum_and_boolean_fields() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    customer_fields(&app, &cast.admin).await;
    let create = "mutation($n: String!, $f: [CustomFieldInput!]) { createCustomer(input: {name: $n, status: ACTIVE, customFields: $f}) { id } }";
    for (name, fields) in [
        ("A", json!([{"key": "region_code", "value": "EU"}, {"key": "key_account", "value": true}])),
        ("B", json!([{"key": "region_code", "value": "EU"}, {"key": "key_account", "value": false}])),
        ("C", json!([{"key": "region_code", "value": "EU"}, {"key": "key_account", "value": true}])),
        ("D", json!([{"key": "region_code", "value": "NA"}])),
        ("E", json!([])),
    ] {
        app.gql(&cast.rep_a, create, json!({"n": name, "f": fields})).await.ok();
    }
    let query = "query($d: [String!]) { customerAggregates(groupBy: [STATUS], customDimensions: $d) {
        status customers custom { key type value } } }";

    let grouped = app.gql(&cast.rep_a, query, json!({"d": ["region_code", "key_account"]})).await;
    let money = app.gql(&cast.rep_a, query, json!({"d": ["budget"]})).await;
    let twice = app.gql(&cast.rep_a, query, json!({"d": ["region_code", "region_code"]})).await;
    let as_b = app.gql(&cast.rep_b, query, json!({"d": ["region_code"]})).await;

    let mut rows: Vec<(String, String, i64)> = grouped.ok()["customerAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["custom"][0]["value"].to_string(), r["custom"][1]["value"].to_string(), r["customers"].as_i64().unwrap())
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            ("\"EU\"".to_owned(), "false".to_owned(), 1),
            ("\"EU\"".to_owned(), "true".to_owned(), 2),
            ("\"NA\"".to_owned(), "null".to_owned(), 1),
            ("null".to_owned(), "null".to_owned(), 1),
        ]
    );
    assert_eq!(grouped.ok()["customerAggregates"][0]["custom"][0]["type"], "ENUM");
    assert_eq!(money.code(), Some("BAD_USER_INPUT"));
    assert_eq!(money.body["errors"][0]["extensions"]["field"], "customDimensions");
    assert_eq!(twice.code(), Some("BAD_USER_INPUT"));
    assert_eq!(as_b.ok()["customerAggregates"], json!([]), "rep B sees none of rep A's customers");
}

const SORTED: &str = "query($o: CustomerOrder, $first: Int, $after: String, $last: Int, $before: String) {
    customers(filter: {custom: [{key: \"region_code\", eq: \"EU\"}]}, orderBy: $o,
              first: $first, after: $after, last: $last, before: $before) {
        nodes { name } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

fn in_order(reply: &Value) -> Vec<String> {
    reply["customers"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_customer_list_sorts_by_a_custom_field_with_rows_without_a_value_last_and_pages_through_ties() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    customer_fields(&app, &cast.admin).await;
    let create =
        "mutation($n: String!, $f: [CustomFieldInput!]) { createCustomer(input: {name: $n, customFields: $f}) { id } }";
    // Created in this order, so ids rise from Alpha to Foxtrot: ties and missing values fall back to them.
    for (name, budget, renewal) in [
        ("Alpha", Some("100.00"), Some("2027-03-01")),
        ("Bravo", Some("250.50"), None),
        ("Charlie", Some("999.99"), Some("2026-12-31")),
        ("Delta", None, Some("2027-03-01")),
        ("Echo", Some("250.50"), None),
        ("Foxtrot", None, None),
    ] {
        let mut fields = vec![json!({"key": "region_code", "value": "EU"})];
        if let Some(budget) = budget {
            fields.push(json!({"key": "budget", "value": budget}));
        }
        if let Some(renewal) = renewal {
            fields.push(json!({"key": "renewal_on", "value": renewal}));
        }
        app.gql(&cast.rep_a, create, json!({"n": name, "f": fields})).await.ok();
    }
    let sorted = |order: Value| {
        let app = &app;
        let rep = &cast.rep_a;
        async move { app.gql(rep, SORTED, json!({"o": order, "first": 50})).await }
    };

    let up = sorted(json!({"custom": "budget"})).await;
    let down = sorted(json!({"custom": "budget", "direction": "DESC"})).await;
    let by_day = sorted(json!({"custom": "renewal_on"})).await;
    assert_eq!(in_order(up.ok()), ["Alpha", "Bravo", "Echo", "Charlie", "Delta", "Foxtrot"]);
    assert_eq!(in_order(down.ok()), ["Charlie", "Echo", "Bravo", "Alpha", "Foxtrot", "Delta"]);
    assert_eq!(in_order(by_day.ok()), ["Charlie", "Alpha", "Delta", "Bravo", "Echo", "Foxtrot"]);

    // Two rows a page, forward then back: every page boundary falls on a tie or a missing value.
    for direction in ["ASC", "DESC"] {
        let order = json!({"custom": "budget", "direction": direction});
        let whole = in_order(sorted(order.clone()).await.ok());
        let mut forward = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = app.gql(&cast.rep_a, SORTED, json!({"o": order, "first": 2, "after": after})).await;
            forward.extend(in_order(page.ok()));
            let info = &page.ok()["customers"]["pageInfo"];
            if !info["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = Some(info["endCursor"].as_str().unwrap().to_owned());
        }
        assert_eq!(forward, whole, "{direction} forward");
        let mut backward = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let page = app.gql(&cast.rep_a, SORTED, json!({"o": order, "last": 2, "before": before})).await;
            let mut rows = in_order(page.ok());
            rows.extend(backward);
            backward = rows;
            let info = &page.ok()["customers"]["pageInfo"];
            if !info["hasPreviousPage"].as_bool().unwrap() {
                break;
            }
            before = Some(info["startCursor"].as_str().unwrap().to_owned());
        }
        assert_eq!(backward, whole, "{direction} backward");
    }

    let unknown = sorted(json!({"custom": "nope"})).await;
    let both = sorted(json!({"custom": "budget", "field": "NAME"})).await;
    assert_eq!(unknown.code(), Some("BAD_USER_INPUT"));
    assert_eq!(unknown.body["errors"][0]["extensions"]["field"], "orderBy.custom");
    assert_eq!(both.code(), Some("BAD_USER_INPUT"));
    assert_eq!(both.body["errors"][0]["extensions"]["field"], "orderBy");
}
