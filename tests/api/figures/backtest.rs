//! The health backtest against a fixture worked out by hand, and health as of
//! a past instant against the health computed at that instant.

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, raw_id};

/// Four customers since 2025, loaded the way an integration loads them (SQL,
/// dated rows). A and B are bare (no contact, no communication): 100 - 20
/// (breadth) - 15 (never spoken to) - 10 (no executive) - 5 (no tier) = 50,
/// AT_RISK. C and D have contacts at four levels and an executive meeting in
/// the 30 days before each month start: 100 - 5 (no tier) = 95, HEALTHY.
/// A is lost on 15 February, C on 20 March. Window January to March, horizon
/// 90 days: month starts 1 January, 1 February, 1 March.
///
/// Customer-months: A 2 (lost after Jan 1 and Feb 1; not live on Mar 1), B 3,
/// C 3 (each followed by the loss of 20 March), D 3: 11, of which 5 lost.
/// AT_RISK 5 with 2 losses (rate 0.4, lift 0.4 / (5/11) = 0.88); HEALTHY 6
/// with 3 (0.5, lift 1.1). AUC over risk = 100 - score (A, B: 50; C, D: 5):
/// pairs lost x kept = 5 x 6 = 30; A over D 2x3 = 6, A tied with B 2x3 = 6
/// halves (3), C tied with D 3x3 = 9 halves (4.5), C under B 0: 13.5 / 30 =
/// 0.45. Losses: A flagged AT_RISK first on 1 January, 45 days ahead; C never
/// flagged: recall 0.5, median 45 days.
#[tokio::test]
async fn the_backtest_gives_the_figures_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        let reply = app
            .gql(&cast.rep_a, "mutation($n: String!) { createCustomer(input: {name: $n, status: ACTIVE, customerSince: \"2025-01-01\"}) { id } }", json!({"n": name}))
            .await;
        ids.push(raw_id(reply.ok()["createCustomer"]["id"].as_str().unwrap()));
    }
    let (a, c) = (ids[0], ids[2]);
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let ts = |text: &str| if pg { format!("'{text}'::timestamptz") } else { format!("'{text}'") };
    let run = |sql: String| {
        let db = app.db.clone();
        async move { db.execute_unprepared(&sql).await.expect("fixture") }
    };
    for &customer in &ids[2..] {
        for level in ["EXECUTIVE", "MANAGEMENT", "PURCHASING", "TECHNICAL"] {
            run(format!(
                "INSERT INTO contact (customer_id, name, org_level, version, created_at, updated_at) \
                 VALUES ({customer}, '{level} person', '{level}', 1, {at}, {at})",
                at = ts("2025-06-01T00:00:00+00:00")
            ))
            .await;
        }
        for day in ["2025-12-20", "2026-01-20", "2026-02-20"] {
            run(format!(
                "INSERT INTO communication (customer_id, user_id, channel, direction, occurred_at, summary, created_at, updated_at) \
                 VALUES ({customer}, {user}, 'EXECUTIVE_MEETING', 'OUTBOUND', {at}, 'Review', {at}, {at})",
                user = cast.rep_a.id,
                at = ts(&format!("{day}T10:00:00+00:00"))
            ))
            .await;
        }
    }
    for (customer, day) in [(a, "2026-02-15"), (c, "2026-03-20")] {
        run(format!(
            "INSERT INTO churn_event (customer_id, kind, occurred_on, reason, controllable, recorded_by, created_at, updated_at) \
             VALUES ({customer}, 'LOST', '{day}', 'PRICE', {yes}, {user}, {at}, {at})",
            yes = if pg { "TRUE" } else { "1" },
            user = cast.rep_a.id,
            at = ts(&format!("{day}T00:00:00+00:00"))
        ))
        .await;
        run(format!("UPDATE customer SET status = 'LOST' WHERE id = {customer}")).await;
    }

    let query = r#"{ healthBacktest(from: "2026-01-01", to: "2026-03-31") { customersScored baseRate auc recall medianDaysAhead
      levels { level customers losses lossRate lift } } }"#;
    let reply = app.gql(&cast.leader, query, json!({})).await;
    let b = &reply.ok()["healthBacktest"];
    let close = |v: &Value, expected: f64| (v.as_f64().unwrap() - expected).abs() < 1e-9;
    assert_eq!(b["customersScored"], 11);
    assert!(close(&b["baseRate"], 5.0 / 11.0), "{b}");
    assert!(close(&b["auc"], 0.45), "{b}");
    assert!(close(&b["recall"], 0.5), "{b}");
    assert!(close(&b["medianDaysAhead"], 45.0), "{b}");
    let level = |name: &str| b["levels"].as_array().unwrap().iter().find(|l| l["level"] == name).unwrap().clone();
    let at_risk = level("AT_RISK");
    assert_eq!((at_risk["customers"].as_i64(), at_risk["losses"].as_i64()), (Some(5), Some(2)));
    assert!(close(&at_risk["lossRate"], 0.4) && close(&at_risk["lift"], 0.4 * 11.0 / 5.0));
    let healthy = level("HEALTHY");
    assert_eq!((healthy["customers"].as_i64(), healthy["losses"].as_i64()), (Some(6), Some(3)));
    assert!(close(&healthy["lossRate"], 0.5) && close(&healthy["lift"], 0.5 * 11.0 / 5.0));
    assert_eq!(level("WATCH")["customers"], 0);
    assert_eq!(level("WATCH")["lossRate"], Value::Null);
    // A rep sees their own customers only; another rep's backtest has nothing to score.
    let theirs = app.gql(&cast.rep_b, query, json!({})).await;
    assert_eq!(theirs.ok()["healthBacktest"]["customersScored"], 0);
    let bad =
        app.gql(&cast.leader, r#"{ healthBacktest(from: "2026-03-01", to: "2026-01-01") { auc } }"#, json!({})).await;
    assert_eq!(bad.code(), Some("BAD_USER_INPUT"));
}

/// Health as of an instant equals the health computed at that instant, after
/// everything that changed since.
#[tokio::test]
async fn health_as_of_an_instant_is_the_health_computed_then() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    let ann = app.contact(rep, &acme, "Ann", "EXECUTIVE").await;
    app.gql(rep, r#"mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: EXECUTIVE_MEETING, summary: "Review"}) { id } }"#, json!({"c": acme}))
        .await
        .ok();
    let open = app
        .gql(rep, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: DELIVERY, description: "Ship", dueOn: "2026-01-01"}) { id } }"#, json!({"c": acme}))
        .await;
    let promise = open.ok()["createCommitment"]["id"].as_str().unwrap().to_owned();
    let health = "query($c: ID!, $at: DateTime) { customer(id: $c) { health(asOf: $at) { score level signals { kind impact explanation } } } }";
    let then = app.gql(rep, health, json!({"c": acme})).await.ok()["customer"]["health"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let instant = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // Afterwards: the promise kept, a ticket, a second contact, a task overdue, the customer lost.
    app.gql(rep, "mutation($id: ID!) { fulfilCommitment(id: $id) { id } }", json!({"id": promise})).await.ok();
    app.gql(rep, r#"mutation($c: ID!) { createTicket(input: {customerId: $c, title: "t", description: "d", category: QUALITY}) { id } }"#, json!({"c": acme}))
        .await
        .ok();
    app.contact(rep, &acme, "Bo", "PURCHASING").await;
    // Inputs that keep their history by trigger: the contact's level, the purchasing fit.
    app.gql(
        rep,
        "mutation($id: ID!) { updateContact(id: $id, input: {orgLevel: TECHNICAL, influence: 5}) { id } }",
        json!({"id": ann}),
    )
    .await
    .ok();
    app.gql(
        rep,
        "mutation($id: ID!) { updateCustomer(id: $id, input: {purchasingFit: ALARM}) { id } }",
        json!({"id": acme}),
    )
    .await
    .ok();
    app.gql(
        rep,
        r#"mutation($c: ID!) { createTask(customerId: $c, input: {title: "x", dueOn: "2026-01-01"}) { id } }"#,
        json!({"c": acme}),
    )
    .await
    .ok();
    let now = app.gql(rep, health, json!({"c": acme})).await.ok()["customer"]["health"].clone();
    assert_ne!(now, then, "the changes moved the score");
    let as_of = app.gql(rep, health, json!({"c": acme, "at": instant.to_rfc3339()})).await;
    assert_eq!(as_of.ok()["customer"]["health"], then);
    let complete = app
        .gql(rep, "query($c: ID!, $at: DateTime) { customer(id: $c) { health(asOf: $at) { historyCompleteFrom } live: health { historyCompleteFrom } } }", json!({"c": acme, "at": instant.to_rfc3339()}))
        .await;
    let complete = &complete.ok()["customer"];
    assert!(complete["health"]["historyCompleteFrom"].is_string(), "{complete}");
    assert_eq!(complete["live"]["historyCompleteFrom"], Value::Null);
    let future =
        app.gql(rep, health, json!({"c": acme, "at": (Utc::now() + chrono::Duration::days(1)).to_rfc3339()})).await;
    assert_eq!(future.code(), Some("BAD_USER_INPUT"));
}

/// On the whole demo (years of history, loaded as an import loads it), the
/// health of every customer as of now is the live health: the facts as they
/// were and the facts as they are have one meaning.
#[tokio::test]
async fn on_the_demo_health_as_of_now_is_the_live_health_of_every_customer() {
    let app = TestApp::spawn().await;
    rapport::seed::seed_demo(&app.db, None).await.unwrap();
    let leader = app.scalar("SELECT id FROM app_user WHERE email = 'leader@rapport.demo'").await;
    let token = app.token(leader);
    let query = "query($at: DateTime, $after: String) { customers(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { name live: health { score level signals { kind impact value explanation } }
                then: health(asOf: $at) { score level signals { kind impact value explanation } } } } }";
    let (mut after, mut compared) = (Value::Null, 0);
    loop {
        let page = loop {
            let now = Utc::now();
            let page = app.gql_as(Some(&token), query, json!({"at": now.to_rfc3339(), "after": after})).await;
            // A page read across midnight compares two days (a commitment due
            // yesterday is overdue only on the second): it is read again.
            if Utc::now().date_naive() == now.date_naive() {
                break page.ok()["customers"].clone();
            }
        };
        for customer in page["nodes"].as_array().unwrap() {
            assert_eq!(customer["then"], customer["live"], "{}", customer["name"]);
            compared += 1;
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert!(compared >= 200, "{compared} customers compared");
}
