//! One account's timeline: every kind of fact, merged newest first, paged.

use chrono::{TimeZone, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, raw_id};

const TIMELINE: &str = r#"query($c: ID!, $first: Int, $after: String, $kinds: [TimelineKind!], $from: Date, $to: Date) {
  customer(id: $c) { timeline(first: $first, after: $after, kinds: $kinds, from: $from, to: $to) {
    totalCount pageInfo { hasNextPage endCursor } nodes { at kind summary nodeId } } } }"#;

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

#[tokio::test]
async fn the_timeline_merges_every_kind_newest_first_and_pages() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    let id = raw_id(&acme);
    let sql = |statement: String| {
        let db = app.db.clone();
        async move { db.execute_unprepared(&statement).await.expect("fixture") }
    };
    let ok = |reply: crate::helpers::Reply, field: &str| reply.ok()[field]["id"].as_str().unwrap().to_owned();

    let call = ok(app.gql(rep, r#"mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: CALL, direction: OUTBOUND, summary: "Kick-off", occurredAt: "2026-03-01T10:00:00Z"}) { id } }"#, json!({"c": acme})).await, "logCommunication");
    let ticket = ok(app.gql(rep, r#"mutation($c: ID!) { createTicket(input: {customerId: $c, title: "Broken pallet", description: "d", category: PACKAGING}) { id } }"#, json!({"c": acme})).await, "createTicket");
    app.set_time("ticket_event", "created_at", at(2026, 3, 5, 9, 0), &format!("ticket_id = {}", raw_id(&ticket))).await;
    let promise = ok(app.gql(rep, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: "2% rebate", dueOn: "2026-03-01"}) { id } }"#, json!({"c": acme})).await, "createCommitment");
    app.set_time("commitment", "created_at", at(2026, 2, 1, 8, 0), &format!("id = {}", raw_id(&promise))).await;
    app.gql(
        rep,
        r#"mutation($id: ID!) { fulfilCommitment(id: $id, fulfilledOn: "2026-02-20") { id } }"#,
        json!({"id": promise}),
    )
    .await
    .ok();
    app.gql(
        rep,
        r#"mutation($c: ID!) { setPartnership(customerId: $c, input: {tier: SERVICE}) { id } }"#,
        json!({"c": acme}),
    )
    .await
    .ok();
    app.set_time("partnership_change", "created_at", at(2026, 1, 15, 12, 0), &format!("customer_id = {id}")).await;
    for (day, score, level) in [
        ("2026-01-10", 80, "HEALTHY"),
        ("2026-02-10", 60, "WATCH"),
        ("2026-02-11", 62, "WATCH"),
        ("2026-03-10", 40, "AT_RISK"),
    ] {
        sql(format!("INSERT INTO customer_health_history (customer_id, day, score, level) VALUES ({id}, '{day}', {score}, '{level}')")).await;
    }
    let task = ok(app.gql(rep, r#"mutation($c: ID!) { createTask(customerId: $c, input: {title: "Send proposal", dueOn: "2026-03-25"}) { id } }"#, json!({"c": acme})).await, "createTask");
    app.gql(rep, "mutation($id: ID!) { completeTask(id: $id) { id } }", json!({"id": task})).await.ok();
    app.set_time("task", "created_at", at(2026, 3, 20, 0, 0), &format!("id = {}", raw_id(&task))).await;
    app.set_time("task", "closed_at", at(2026, 3, 21, 15, 30), &format!("id = {}", raw_id(&task))).await;
    app.gql(
        rep,
        r#"mutation($c: ID!) { recordSurveyResponse(input: {customerId: $c, score: 6, comment: "Slow"}) { id } }"#,
        json!({"c": acme}),
    )
    .await
    .ok();
    sql(format!("UPDATE survey_response SET responded_on = '2026-03-15' WHERE customer_id = {id}")).await;
    app.gql(
        rep,
        "mutation($c: ID!) { markCustomerLost(id: $c, reason: PRICE) { customer { id } } }",
        json!({"c": acme}),
    )
    .await
    .ok();
    sql(format!("UPDATE churn_event SET occurred_on = '2026-04-01' WHERE customer_id = {id}")).await;

    let expected: Vec<(&str, &str, &str)> = vec![
        ("2026-04-01T00:00:00+00:00", "CHURN_EVENT", "LOST (PRICE)"),
        ("2026-03-21T15:30:00+00:00", "TASK_DONE", "Done: Send proposal"),
        ("2026-03-20T00:00:00+00:00", "TASK_CREATED", "Task: Send proposal"),
        ("2026-03-15T00:00:00+00:00", "SURVEY_RESPONSE", "Satisfaction 6/10: Slow"),
        ("2026-03-10T00:00:00+00:00", "HEALTH_CHANGE", "Health AT_RISK (40)"),
        ("2026-03-05T09:00:00+00:00", "TICKET_EVENT", "CREATED: Broken pallet"),
        ("2026-03-01T10:00:00+00:00", "COMMUNICATION", "CALL OUTBOUND: Kick-off"),
        ("2026-02-20T00:00:00+00:00", "COMMITMENT_FULFILLED", "Kept (REBATE): 2% rebate"),
        ("2026-02-10T00:00:00+00:00", "HEALTH_CHANGE", "Health WATCH (60)"),
        ("2026-02-01T08:00:00+00:00", "COMMITMENT_MADE", "Promised (REBATE): 2% rebate"),
        ("2026-01-15T12:00:00+00:00", "TIER_CHANGE", "Tier none -> SERVICE"),
        ("2026-01-10T00:00:00+00:00", "HEALTH_CHANGE", "Health HEALTHY (80)"),
    ];
    let entry = |e: &Value| {
        let at = chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap().to_rfc3339();
        (at, e["kind"].as_str().unwrap().to_owned(), e["summary"].as_str().unwrap().to_owned())
    };
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let reply = app.gql(rep, TIMELINE, json!({"c": acme, "first": 5, "after": after})).await;
        let page = reply.ok()["customer"]["timeline"].clone();
        assert_eq!(page["totalCount"], 12);
        seen.extend(page["nodes"].as_array().unwrap().iter().map(entry));
        pages += 1;
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    let expected: Vec<(String, String, String)> =
        expected.into_iter().map(|(a, k, s)| (a.to_owned(), k.to_owned(), s.to_owned())).collect();
    assert_eq!(seen, expected);

    // Kinds and days narrow it; the nodes are the rows themselves.
    let health = app.gql(rep, TIMELINE, json!({"c": acme, "kinds": ["HEALTH_CHANGE"]})).await;
    assert_eq!(health.ok()["customer"]["timeline"]["totalCount"], 3);
    let march = app.gql(rep, TIMELINE, json!({"c": acme, "from": "2026-03-01", "to": "2026-03-15"})).await;
    let kinds: Vec<&str> = march.ok()["customer"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["SURVEY_RESPONSE", "HEALTH_CHANGE", "TICKET_EVENT", "COMMUNICATION"]);
    let nodes = app
        .gql(rep, "query($c: ID!) { customer(id: $c) { timeline(kinds: [COMMUNICATION, TASK_DONE]) { nodes { nodeId node { id ... on Communication { summary } ... on Task { status } } } } } }", json!({"c": acme}))
        .await;
    assert_eq!(
        nodes.ok()["customer"]["timeline"]["nodes"],
        json!([{"nodeId": task, "node": {"id": task, "status": "DONE"}}, {"nodeId": call, "node": {"id": call, "summary": "Kick-off"}}])
    );

    // A cursor belongs to its customer and its reader.
    let first = app.gql(rep, TIMELINE, json!({"c": acme, "first": 1})).await;
    let cursor = first.ok()["customer"]["timeline"]["pageInfo"]["endCursor"].clone();
    let other = app.customer(rep, "Other").await;
    let foreign = app.gql(rep, TIMELINE, json!({"c": other, "after": cursor})).await;
    assert_eq!(foreign.code(), Some("BAD_USER_INPUT"));
    let someone_else = app.gql(&cast.lead_a, TIMELINE, json!({"c": acme, "after": cursor})).await;
    assert_eq!(someone_else.code(), Some("BAD_USER_INPUT"));
    // Rep B never reaches it.
    let hidden = app.gql(&cast.rep_b, TIMELINE, json!({"c": acme})).await;
    assert!(
        hidden.body.to_string().contains("NOT_FOUND") || hidden.body["data"]["customer"].is_null(),
        "{}",
        hidden.body
    );
    assert!(!hidden.body.to_string().contains("Kick-off"));
}

/// `customer(id:)` reads its one `timeline` selection's first page with the
/// customer, in one statement; `node(id:)` reads the same page by itself. Both
/// answer alike for every window and every kind of viewer.
#[tokio::test]
async fn a_first_page_is_read_with_its_customer_in_one_statement_and_answers_alike() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    for (summary, when) in
        [("One", "2026-03-01T10:00:00Z"), ("Two", "2026-03-02T10:00:00Z"), ("Three", "2026-03-03T10:00:00Z")]
    {
        app.gql(
            rep,
            "mutation($c: ID!, $s: String!, $t: DateTime!) { logCommunication(input: {customerId: $c, channel: CALL, direction: OUTBOUND, summary: $s, occurredAt: $t}) { id } }",
            json!({"c": acme, "s": summary, "t": when}),
        )
        .await
        .ok();
    }
    let ticket = app
        .gql(rep, r#"mutation($c: ID!) { createTicket(input: {customerId: $c, title: "Late", description: "d", category: DELIVERY}) { id } }"#, json!({"c": acme}))
        .await;
    let ticket = raw_id(ticket.ok()["createTicket"]["id"].as_str().unwrap());
    app.set_time("ticket_event", "created_at", at(2026, 3, 2, 10, 0), &format!("ticket_id = {ticket}")).await;
    let customers_only = app.person("crm@t.example", entity::enums::Role::Integration, None, &["customers:read"]).await;

    const FIELDS: &str =
        "totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { at kind summary nodeId }";
    let windows = [
        json!({}),
        json!({"first": 2}),
        json!({"first": 0}),
        json!({"after": null, "first": 3}),
        json!({"kinds": ["COMMUNICATION"]}),
        json!({"kinds": ["TICKET_EVENT"]}),
        json!({"kinds": ["TICKET_EVENT", "COMMUNICATION", "TICKET_EVENT"]}),
        json!({"from": "2026-03-02", "to": "2026-03-02"}),
        json!({"from": "2026-03-02"}),
        json!({"to": "2026-03-02", "first": 1}),
        json!({"kinds": ["TICKET_EVENT"], "from": "2026-03-01", "to": "2026-03-31"}),
    ];
    let params = "$first: Int, $after: String, $kinds: [TimelineKind!], $from: Date, $to: Date";
    let args = "first: $first, after: $after, kinds: $kinds, from: $from, to: $to";
    let with_customer =
        format!("query($c: ID!, {params}) {{ customer(id: $c) {{ name timeline({args}) {{ {FIELDS} }} }} }}");
    let by_itself = format!(
        "query($c: ID!, {params}) {{ node(id: $c) {{ ... on Customer {{ name timeline({args}) {{ {FIELDS} }} }} }} }}"
    );
    // The same database served with every field through its resolver (the slow-resolver watch turns the one pass off).
    let watched = app.alongside(|c| c.slow_resolver = Some(std::time::Duration::from_secs(10)));
    for who in [rep, &cast.lead_a, &cast.leader, &cast.integration, &customers_only] {
        for window in &windows {
            let mut variables = json!({"c": acme});
            variables.as_object_mut().unwrap().extend(window.as_object().unwrap().clone());
            app.gql(who, &with_customer, variables.clone()).await.ok();
            app.reset_statements();
            let ahead = app.gql(who, &with_customer, variables.clone()).await;
            // Without the tickets scope, ticket events alone are no kind at all: the customer's row is read alone.
            let no_kind = who.id == customers_only.id
                && window["kinds"].as_array().is_some_and(|kinds| kinds.iter().all(|k| k == "TICKET_EVENT"));
            // The customer with its page, then `totalCount`.
            assert_eq!(app.statements(), if no_kind { 1 } else { 2 }, "{window}");
            let apart = app.gql(who, &by_itself, variables.clone()).await;
            assert_eq!(ahead.ok()["customer"], apart.ok()["node"], "{window}");
            let resolved = watched.gql(who, &with_customer, variables).await;
            assert_eq!(ahead.ok(), resolved.ok(), "{window}");
        }
    }
    let all = app
        .gql(rep, &format!("query($c: ID!) {{ customer(id: $c) {{ timeline {{ {FIELDS} }} }} }}"), json!({"c": acme}))
        .await;
    assert_eq!(all.ok()["customer"]["timeline"]["totalCount"], 4);
    let unscoped = app
        .gql(
            &customers_only,
            &format!("query($c: ID!) {{ customer(id: $c) {{ timeline {{ {FIELDS} }} }} }}"),
            json!({"c": acme}),
        )
        .await;
    assert_eq!(unscoped.ok()["customer"]["timeline"]["totalCount"], 3, "ticket events need the tickets scope");

    // One statement for the customer and its page.
    let page =
        "query($c: ID!) { customer(id: $c) { name timeline(first: 2) { pageInfo { endCursor } nodes { summary } } } }";
    app.gql(rep, page, json!({"c": acme})).await.ok();
    app.reset_statements();
    let first = app.gql(rep, page, json!({"c": acme})).await;
    assert_eq!(app.statements(), 1);
    assert_eq!(first.ok()["customer"]["name"], "Acme");
    // The ticket's event and the second call share an instant: the kind breaks the tie.
    assert_eq!(
        first.ok()["customer"]["timeline"]["nodes"],
        json!([{"summary": "CALL OUTBOUND: Three"}, {"summary": "CREATED: Late"}])
    );
    // A later page, or the field selected twice, reads its pages by themselves.
    let cursor = first.ok()["customer"]["timeline"]["pageInfo"]["endCursor"].clone();
    app.reset_statements();
    app.gql(
        rep,
        "query($c: ID!, $a: String) { customer(id: $c) { timeline(first: 2, after: $a) { nodes { summary } } } }",
        json!({"c": acme, "a": cursor}),
    )
    .await
    .ok();
    assert_eq!(app.statements(), 2);
    app.reset_statements();
    let twice = app
        .gql(rep, "query($c: ID!) { customer(id: $c) { a: timeline(first: 1) { nodes { summary } } b: timeline(first: 2) { nodes { summary } } } }", json!({"c": acme}))
        .await;
    assert_eq!(app.statements(), 3);
    assert_eq!(twice.ok()["customer"]["a"]["nodes"], json!([{"summary": "CALL OUTBOUND: Three"}]));
    assert_eq!(twice.ok()["customer"]["b"]["nodes"][0], json!({"summary": "CALL OUTBOUND: Three"}));

    // A customer the viewer cannot see is not found, page and all.
    let hidden = app.gql(&cast.rep_b, page, json!({"c": acme})).await;
    assert_eq!(hidden.code(), Some("NOT_FOUND"));
    assert!(!hidden.body.to_string().contains("CALL OUTBOUND"), "{}", hidden.body);
}
