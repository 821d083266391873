//! Account health: each signal driven by its own fixture and checked in
//! `value`, `impact` and `explanation`; levels; the at-risk list; the mobile
//! account status.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use rapport::analytics::health::HealthRules;
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, raw_id};

const HEALTH: &str = "query($id: ID!) { node(id: $id) { ... on Customer { health {
  score level computedAt signals { kind weight value impact explanation } } } } }";

async fn health(app: &TestApp, who: &Person, customer: &str) -> Value {
    app.gql(who, HEALTH, json!({ "id": customer })).await.ok()["node"]["health"].clone()
}

/// (value, impact, explanation) of one signal.
fn signal(health: &Value, kind: &str) -> (Option<f64>, f64, String) {
    let s = health["signals"].as_array().unwrap().iter().find(|s| s["kind"] == kind).unwrap();
    (s["value"].as_f64(), s["impact"].as_f64().unwrap(), s["explanation"].as_str().unwrap().to_owned())
}

fn is(value: Option<f64>, impact: f64, explanation: &str) -> (Option<f64>, f64, String) {
    (value, impact, explanation.to_owned())
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

async fn update_contact(app: &TestApp, who: &Person, contact: &str, input: Value) {
    app.gql(
        who,
        "mutation($id: ID!, $in: ContactInput!) { updateContact(id: $id, input: $in) { id } }",
        json!({"id": contact, "in": input}),
    )
    .await
    .ok();
}

async fn communicate(app: &TestApp, who: &Person, customer: &str, channel: &str, days_ago: i64, contacts: &[&str]) {
    let at = (Utc::now() - Duration::days(days_ago)).to_rfc3339();
    app.gql(
        who,
        "mutation($c: ID!, $ch: Channel!, $at: DateTime!, $k: [ID!]!) {
           logCommunication(input: {customerId: $c, channel: $ch, occurredAt: $at, summary: \"s\", contactIds: $k}) { id } }",
        json!({"c": customer, "ch": channel, "at": at, "k": contacts}),
    )
    .await
    .ok();
}

async fn ticket(app: &TestApp, who: &Person, customer: &str, title: &str) {
    app.gql(
        who,
        "mutation($c: ID!, $t: String!) { createTicket(input: {customerId: $c, title: $t, description: \"d\", category: QUALITY}) { id } }",
        json!({"c": customer, "t": title}),
    )
    .await
    .ok();
}

async fn set_fit(app: &TestApp, who: &Person, customer: &str, fit: &str) {
    app.gql(
        who,
        "mutation($id: ID!, $f: PurchasingFit) { updateCustomer(id: $id, input: {purchasingFit: $f}) { id } }",
        json!({"id": customer, "f": fit}),
    )
    .await
    .ok();
}

async fn set_tier(app: &TestApp, who: &Person, customer: &str, tier: &str) {
    app.gql(
        who,
        "mutation($id: ID!, $t: PartnershipTier!) { setPartnership(customerId: $id, input: {tier: $t}) { id } }",
        json!({"id": customer, "t": tier}),
    )
    .await
    .ok();
}

#[tokio::test]
async fn a_bare_customer_scores_what_its_signals_add_up_to() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let h = health(&app, &cast.rep_a, &acme).await;
    assert_eq!(
        signal(&h, "RELATIONSHIP_BREADTH"),
        is(Some(0.0), -20.0, "No current contact at the customer: nobody to call")
    );
    assert_eq!(signal(&h, "CHAMPION_LEFT"), is(Some(0.0), 0.0, "No key contact left in the last 90 days"));
    assert_eq!(signal(&h, "EXECUTIVE_CONTACT"), is(None, -10.0, "No executive-level communication on record"));
    assert_eq!(signal(&h, "COMMUNICATION_RECENCY"), is(None, -15.0, "No communication on record"));
    assert_eq!(signal(&h, "TICKETS_PAST_SLA"), is(Some(0.0), 0.0, "No open ticket past its SLA (0 open)"));
    assert_eq!(
        signal(&h, "COMPLAINT_TREND"),
        is(Some(0.0), 0.0, "0 tickets in the last 90 days against 0 in the 90 before")
    );
    assert_eq!(signal(&h, "OVERDUE_COMMITMENTS"), is(Some(0.0), 0.0, "No overdue commitment"));
    assert_eq!(signal(&h, "OVERDUE_TASKS"), is(Some(0.0), 0.0, "No overdue task"));
    assert_eq!(signal(&h, "REVENUE_TREND"), is(None, 0.0, "No revenue in the last 12 months"));
    assert_eq!(signal(&h, "PURCHASING_FIT"), is(None, 0.0, "Purchasing-criteria fit not assessed"));
    assert_eq!(signal(&h, "SATISFACTION"), is(None, 0.0, "No satisfaction survey answered"));
    assert_eq!(signal(&h, "OWNER_INACTIVE"), is(Some(0.0), 0.0, "Owner rep.a is active"));
    assert_eq!(
        signal(&h, "PARTNERSHIP_TIER"),
        is(None, -5.0, "No partnership tier: nothing but the last order holds the customer")
    );
    // 100 - 20 - 10 - 15 - 5.
    assert_eq!((h["score"].as_i64(), h["level"].as_str()), (Some(50), Some("AT_RISK")));
    let kinds: Vec<&str> = h["signals"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..4], ["RELATIONSHIP_BREADTH", "COMMUNICATION_RECENCY", "EXECUTIVE_CONTACT", "PARTNERSHIP_TIER"]);
    assert_eq!(kinds.len(), 13);
    let weight =
        |kind: &str| h["signals"].as_array().unwrap().iter().find(|s| s["kind"] == kind).unwrap()["weight"].as_f64();
    assert_eq!((weight("REVENUE_TREND"), weight("EXECUTIVE_CONTACT")), (Some(20.0), Some(10.0)));
}

#[tokio::test]
async fn breadth_counts_current_levels_and_a_champion_leaving_is_its_own_signal() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    app.contact(rep, &acme, "Ana", "PURCHASING").await;
    let breadth = |h: Value| signal(&h, "RELATIONSHIP_BREADTH");
    assert_eq!(
        breadth(health(&app, rep, &acme).await),
        is(
            Some(1.0),
            -15.0,
            "Single-threaded: one current contact, in PURCHASING; 1 of 5 organisational levels covered"
        )
    );
    app.contact(rep, &acme, "Ben", "PURCHASING").await;
    assert_eq!(
        breadth(health(&app, rep, &acme).await),
        is(Some(1.0), -15.0, "Only 1 of 5 organisational levels covered: every contact is in PURCHASING")
    );
    let cy = app.contact(rep, &acme, "Cy", "EXECUTIVE").await;
    assert_eq!(
        breadth(health(&app, rep, &acme).await),
        is(Some(2.0), -8.0, "2 of 5 organisational levels covered (EXECUTIVE, PURCHASING) by 3 current contacts")
    );
    let di = app.contact(rep, &acme, "Di", "MANAGEMENT").await;
    assert_eq!(
        breadth(health(&app, rep, &acme).await),
        is(
            Some(3.0),
            -3.0,
            "3 of 5 organisational levels covered (EXECUTIVE, MANAGEMENT, PURCHASING) by 4 current contacts"
        )
    );
    app.contact(rep, &acme, "Ed", "TECHNICAL").await;
    let h = health(&app, rep, &acme).await;
    assert_eq!(signal(&h, "RELATIONSHIP_BREADTH").1, 0.0);
    assert_eq!(signal(&h, "CHAMPION_LEFT"), is(Some(0.0), 0.0, "No key contact left in the last 90 days"));

    // The executive left 12 days ago; a decisive manager left 120 days ago, outside the window.
    update_contact(&app, rep, &cy, json!({"endedOn": (today() - Duration::days(12)).to_string()})).await;
    update_contact(&app, rep, &di, json!({"influence": 5, "endedOn": (today() - Duration::days(120)).to_string()}))
        .await;
    let h = health(&app, rep, &acme).await;
    assert_eq!(signal(&h, "CHAMPION_LEFT"), is(Some(1.0), -15.0, "Champion Cy (EXECUTIVE) left 12 days ago"));
    assert_eq!(
        signal(&h, "RELATIONSHIP_BREADTH"),
        is(Some(2.0), -8.0, "2 of 5 organisational levels covered (PURCHASING, TECHNICAL) by 3 current contacts")
    );
}

#[tokio::test]
async fn recency_of_any_and_of_executive_communication() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    let ana = app.contact(rep, &acme, "Ana", "PURCHASING").await;
    let cy = app.contact(rep, &acme, "Cy", "EXECUTIVE").await;
    communicate(&app, rep, &acme, "CALL", 45, &[&ana]).await;
    let h = health(&app, rep, &acme).await;
    // 15 x (45 - 30) / 60 = 3.75.
    assert_eq!(signal(&h, "COMMUNICATION_RECENCY"), is(Some(45.0), -3.8, "Last communication 45 days ago"));
    assert_eq!(signal(&h, "EXECUTIVE_CONTACT"), is(None, -10.0, "No executive-level communication on record"));

    // A call with the executive counts as executive-level: 10 x (135 - 90) / 90.
    communicate(&app, rep, &acme, "CALL", 135, &[&cy]).await;
    let h = health(&app, rep, &acme).await;
    assert_eq!(
        signal(&h, "EXECUTIVE_CONTACT"),
        is(Some(135.0), -5.0, "Last executive-level communication 135 days ago")
    );
    assert_eq!(signal(&h, "COMMUNICATION_RECENCY").0, Some(45.0));

    // An executive meeting counts whoever took part: 10 x (100 - 90) / 90.
    communicate(&app, rep, &acme, "EXECUTIVE_MEETING", 100, &[]).await;
    communicate(&app, rep, &acme, "EMAIL", 2, &[&ana]).await;
    let h = health(&app, rep, &acme).await;
    assert_eq!(
        signal(&h, "EXECUTIVE_CONTACT"),
        is(Some(100.0), -1.1, "Last executive-level communication 100 days ago")
    );
    assert_eq!(signal(&h, "COMMUNICATION_RECENCY"), is(Some(2.0), 0.0, "Last communication 2 days ago"));
}

#[tokio::test]
async fn tickets_past_their_sla_and_the_complaint_trend() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    let id = raw_id(&acme);
    for title in ["t1", "t2", "t3"] {
        ticket(&app, rep, &acme, title).await;
    }
    app.set_time(
        "ticket",
        "first_response_due_at",
        Utc::now() - Duration::hours(1),
        &format!("customer_id = {id} AND title = 't1'"),
    )
    .await;
    app.set_time(
        "ticket",
        "created_at",
        Utc::now() - Duration::days(100),
        &format!("customer_id = {id} AND title = 't3'"),
    )
    .await;
    let h = health(&app, rep, &acme).await;
    assert_eq!(signal(&h, "TICKETS_PAST_SLA"), is(Some(1.0), -5.0, "1 open ticket past their SLA, of 3 open"));
    // 2 against 1: grown by 1 over max(1, 2), half the weight.
    assert_eq!(
        signal(&h, "COMPLAINT_TREND"),
        is(Some(2.0), -5.0, "2 tickets in the last 90 days against 1 in the 90 before")
    );
}

#[tokio::test]
async fn promises_revenue_fit_satisfaction_owner_and_tier() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let acme = app.customer(rep, "Acme").await;
    let commit = "mutation($c: ID!, $d: Date!, $a: Money) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"r\", dueOn: $d, amount: $a}) { id } }";
    app.gql(rep, commit, json!({"c": acme, "d": (today() - Duration::days(10)).to_string(), "a": "1500.00"}))
        .await
        .ok();
    app.gql(rep, commit, json!({"c": acme, "d": (today() + Duration::days(10)).to_string(), "a": "99.00"})).await.ok();

    // 1,000.00 a month in the 6 months before the last 6, then 700.00; the current month does not count.
    let month = today().with_day(1).unwrap();
    let entries: Vec<Value> = (0..=12)
        .map(|back| {
            let m = month.checked_sub_months(chrono::Months::new(back)).unwrap();
            let revenue = match back {
                0 => "9999.00",
                1..=6 => "700.00",
                _ => "1000.00",
            };
            json!({"customerId": acme, "month": m.to_string(), "revenue": revenue, "grossProfit": "1.00"})
        })
        .collect();
    app.gql(
        &cast.admin,
        "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }",
        json!({"e": entries}),
    )
    .await
    .ok();
    set_fit(&app, rep, &acme, "WARNING").await;
    let survey = "mutation($c: ID!, $s: Int!, $d: Date) { recordSurveyResponse(input: {customerId: $c, score: $s, respondedOn: $d}) { id } }";
    app.gql(rep, survey, json!({"c": acme, "s": 8, "d": (today() - Duration::days(60)).to_string()})).await.ok();
    app.gql(rep, survey, json!({"c": acme, "s": 7, "d": (today() - Duration::days(5)).to_string()})).await.ok();
    set_tier(&app, rep, &acme, "STRATEGIC").await;

    let h = health(&app, rep, &acme).await;
    assert_eq!(signal(&h, "OVERDUE_COMMITMENTS"), is(Some(1.0), -5.0, "1 commitment overdue, worth 1,500.00"));
    // -30%: 0.6 of the weight.
    assert_eq!(
        signal(&h, "REVENUE_TREND"),
        is(Some(-30.0), -12.0, "Revenue of the last 6 months down 30.0% on the 6 before (4,200.00 against 6,000.00)")
    );
    assert_eq!(
        signal(&h, "PURCHASING_FIT"),
        is(Some(1.0), -7.5, "WARNING: our offer and competitors' both meet the customer's purchasing standard")
    );
    // (8 - 7) / 4 + 1 / 8 = 0.375 of 15.
    assert_eq!(signal(&h, "SATISFACTION"), is(Some(7.0), -5.6, "Latest satisfaction 7/10, down 1 from 8"));
    assert_eq!(
        signal(&h, "PARTNERSHIP_TIER"),
        is(Some(3.0), 5.0, "STRATEGIC partnership: lock-in makes leaving costly for both sides")
    );

    // The owner deactivated outside the API (deactivateUser hands the accounts over).
    let off = format!("UPDATE app_user SET active = (1 = 0) WHERE id = {}", rep.id);
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, &off).await.unwrap();
    let h = health(&app, &cast.admin, &acme).await;
    assert_eq!(
        signal(&h, "OWNER_INACTIVE"),
        is(Some(1.0), -10.0, "Owner rep.a is deactivated: nobody looks after the account")
    );
    // 100 - 20 - 10 - 15 - 5 - 12 - 7.5 - 5.6 - 10 + 5 = 19.9.
    assert_eq!((h["score"].as_i64(), h["level"].as_str()), (Some(20), Some("CRITICAL")));
    let sum: f64 = h["signals"].as_array().unwrap().iter().map(|s| s["impact"].as_f64().unwrap()).sum();
    assert_eq!((100.0 + sum).round() as i64, 20);
}

#[tokio::test]
async fn levels_follow_the_configured_thresholds() {
    for (levels, expected) in [(None, "AT_RISK"), (Some("AT_RISK=50"), "WATCH"), (Some("CRITICAL=51"), "CRITICAL")] {
        let app = TestApp::spawn_with(|c| c.health_rules = HealthRules::parse(None, levels).unwrap()).await;
        let cast = app.cast().await;
        let acme = app.customer(&cast.rep_a, "Acme").await;
        let h = health(&app, &cast.rep_a, &acme).await;
        assert_eq!((h["score"].as_i64(), h["level"].as_str()), (Some(50), Some(expected)), "{levels:?}");
    }
}

#[tokio::test]
async fn a_page_of_health_costs_what_one_customer_costs() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    for i in 0..100 {
        let c = app.customer(&cast.rep_a, &format!("C{i:03}")).await;
        if i % 10 == 0 {
            app.contact(&cast.rep_a, &c, "Ana", "PURCHASING").await;
        }
    }
    let query =
        "query($n: Int!) { customers(first: $n) { edges { node { id health { score signals { kind impact } } } } } }";
    let mut counts = Vec::new();
    for n in [1, 100, 1, 100] {
        app.reset_statements();
        let reply = app.gql(&cast.rep_a, query, json!({ "n": n })).await;
        assert_eq!(reply.ok()["customers"]["edges"].as_array().unwrap().len(), n as usize);
        counts.push(app.statements());
    }
    // Warmed up: the page of 100 costs what the page of 1 does.
    assert_eq!(counts[2], counts[3], "{counts:?}");
}

const AT_RISK: &str = "query($level: HealthLevel, $first: Int, $after: String) {
  atRiskCustomers(minLevel: $level, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { score level revenueLast12Months topSignals { kind impact explanation } customer { name } } } } }";

fn names(reply: &Value) -> Vec<String> {
    reply["atRiskCustomers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["customer"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn at_risk_customers_worst_first_then_biggest_paged_and_scoped() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    let a = app.customer(rep, "A bare").await;
    let b = app.customer(rep, "B strategic").await;
    let c = app.customer(rep, "C alarm").await;
    let d = app.customer(rep, "D alarm price").await;
    let e = app.customer(rep, "E bare with revenue").await;
    app.customer(&cast.rep_b, "F of rep b").await;
    set_tier(&app, rep, &b, "STRATEGIC").await; // 60: WATCH
    set_fit(&app, rep, &c, "ALARM").await; // 35: AT_RISK
    set_fit(&app, rep, &d, "ALARM").await;
    set_tier(&app, rep, &d, "PRICE").await; // 30: CRITICAL
    let month = today().with_day(1).unwrap().checked_sub_months(chrono::Months::new(1)).unwrap();
    app.gql(
        &cast.admin,
        "mutation($c: ID!, $m: Date!) { upsertRevenueEntries(entries: [{customerId: $c, month: $m, revenue: \"5000.00\", grossProfit: \"1.00\"}]) { upserted } }",
        json!({"c": e, "m": month.to_string()}),
    )
    .await
    .ok();

    let first = app.gql(rep, AT_RISK, json!({"first": 2})).await;
    let page = first.ok();
    assert_eq!(names(page), ["D alarm price", "C alarm"]);
    assert_eq!(page["atRiskCustomers"]["totalCount"], 4);
    assert_eq!(page["atRiskCustomers"]["pageInfo"]["hasNextPage"], true);
    let worst = &page["atRiskCustomers"]["edges"][0]["node"];
    assert_eq!((worst["score"].as_i64(), worst["level"].as_str()), (Some(30), Some("CRITICAL")));
    let top: Vec<&str> = worst["topSignals"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(top, ["RELATIONSHIP_BREADTH", "COMMUNICATION_RECENCY", "PURCHASING_FIT"]);
    let cursor = page["atRiskCustomers"]["pageInfo"]["endCursor"].as_str().unwrap();
    let second = app.gql(rep, AT_RISK, json!({"first": 2, "after": cursor})).await;
    // Equal scores: the bigger account first.
    assert_eq!(names(second.ok()), ["E bare with revenue", "A bare"]);
    assert_eq!(second.ok()["atRiskCustomers"]["edges"][0]["node"]["revenueLast12Months"], "5000.00");
    assert_eq!(second.ok()["atRiskCustomers"]["pageInfo"]["hasNextPage"], false);

    let critical = app.gql(rep, AT_RISK, json!({"level": "CRITICAL"})).await;
    assert_eq!(names(critical.ok()), ["D alarm price"]);
    let all = app.gql(rep, AT_RISK, json!({"level": "HEALTHY"})).await;
    assert_eq!(names(all.ok()).last().map(String::as_str), Some("B strategic"));

    // A change shows in the next list: A becomes strategic and leaves it.
    set_tier(&app, rep, &a, "STRATEGIC").await;
    assert_eq!(names(app.gql(rep, AT_RISK, json!({})).await.ok()), ["D alarm price", "C alarm", "E bare with revenue"]);

    // Another rep sees only their own; a leader sees the book.
    assert_eq!(names(app.gql(&cast.rep_b, AT_RISK, json!({})).await.ok()), ["F of rep b"]);
    assert_eq!(app.gql(&cast.leader, AT_RISK, json!({})).await.ok()["atRiskCustomers"]["totalCount"], 4);
    // A cursor is the viewer's own.
    let foreign = app.gql(&cast.rep_b, AT_RISK, json!({"after": cursor})).await;
    assert_eq!(foreign.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.gql(rep, AT_RISK, json!({"first": 101})).await.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn the_snapshot_is_refreshed_on_demand_after_changes_outside_the_api() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let ana = app.contact(&cast.rep_a, &acme, "Ana", "PURCHASING").await;
    let cy = app.contact(&cast.rep_a, &acme, "Cy", "EXECUTIVE").await;
    communicate(&app, &cast.rep_a, &acme, "EXECUTIVE_MEETING", 1, &[&ana, &cy]).await;
    set_tier(&app, &cast.rep_a, &acme, "STRATEGIC").await;
    let listed = |reply: &Value| reply["atRiskCustomers"]["totalCount"].as_i64();
    assert_eq!(listed(app.gql(&cast.rep_a, AT_RISK, json!({})).await.ok()), Some(0));
    // Contacts end in bulk through SQL: the snapshot learns of it when asked to.
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, "UPDATE contact SET archived_at = created_at").await.unwrap();
    assert_eq!(app.gql(&cast.rep_a, "mutation { refreshAccountHealth }", json!({})).await.code(), Some("FORBIDDEN"));
    let refreshed = app.gql(&cast.admin, "mutation { refreshAccountHealth }", json!({})).await;
    assert_eq!(refreshed.ok()["refreshAccountHealth"], 1);
    assert_eq!(listed(app.gql(&cast.rep_a, AT_RISK, json!({})).await.ok()), Some(0));
    let all = app.gql(&cast.rep_a, AT_RISK, json!({"level": "WATCH"})).await;
    // 100 - 20 (no contact) + 5 (strategic) = 85: still HEALTHY, so still off the WATCH list.
    assert_eq!(listed(all.ok()), Some(0));
    let everything = app.gql(&cast.rep_a, AT_RISK, json!({"level": "HEALTHY"})).await;
    assert_eq!(everything.ok()["atRiskCustomers"]["edges"][0]["node"]["score"], 85);
}

const STATUS: &str = "query($id: ID!) { accountStatus(customerId: $id) {
  customerId name tier segment healthScore healthLevel topSignal openTickets slaBreachedTickets
  overdueCommitments nextCareDate { date kind contactName } ownerName ownerPhone lastContactOn } }";

#[tokio::test]
async fn account_status_is_small_bounded_and_scoped() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rep = &cast.rep_a;
    app.gql(
        &cast.admin,
        "mutation($id: ID!) { updateUser(id: $id, input: {phone: \"+44 20 7946 0000\"}) { id } }",
        json!({"id": rep.gid}),
    )
    .await
    .ok();
    let acme = app.customer(rep, "Acme Wholesale Ltd").await;
    let ana = app.contact(rep, &acme, "Ana Lopez", "PURCHASING").await;
    let birthday = today() + Duration::days(5);
    let born = NaiveDate::from_ymd_opt(1980, birthday.month(), birthday.day()).unwrap_or(birthday);
    update_contact(&app, rep, &ana, json!({"birthday": born.to_string()})).await;
    communicate(&app, rep, &acme, "CALL", 3, &[&ana]).await;
    ticket(&app, rep, &acme, "late").await;
    ticket(&app, rep, &acme, "fresh").await;
    app.set_time(
        "ticket",
        "resolution_due_at",
        Utc::now() - Duration::hours(2),
        &format!("customer_id = {} AND title = 'late'", raw_id(&acme)),
    )
    .await;
    app.gql(rep, "mutation($c: ID!, $d: Date!) { createCommitment(customerId: $c, input: {kind: DELIVERY, description: \"d\", dueOn: $d}) { id } }", json!({"c": acme, "d": (today() - Duration::days(1)).to_string()}))
        .await
        .ok();
    set_tier(&app, rep, &acme, "PRICE").await;

    app.gql(rep, STATUS, json!({"id": acme})).await.ok();
    // The writes ask for a segment recompute 300 ms after the last one: let it run before counting.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    app.reset_statements();
    let reply = app.gql(rep, STATUS, json!({"id": acme})).await;
    let statements = app.statements();
    let s = &reply.ok()["accountStatus"];
    assert_eq!(s["name"], "Acme Wholesale Ltd");
    assert_eq!(s["tier"], "PRICE");
    assert_eq!(
        (s["openTickets"].as_i64(), s["slaBreachedTickets"].as_i64(), s["overdueCommitments"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        s["nextCareDate"],
        json!({"date": birthday.to_string(), "kind": "BIRTHDAY", "contactName": "Ana Lopez"})
    );
    assert_eq!((s["ownerName"].as_str(), s["ownerPhone"].as_str()), (Some("rep.a"), Some("+44 20 7946 0000")));
    assert_eq!(s["lastContactOn"], (today() - Duration::days(3)).to_string());
    // Single-threaded (-15), PRICE (-10), 1 past SLA (-5), 2 new tickets (-10), 1 overdue (-5), no executive (-10).
    assert_eq!((s["healthScore"].as_i64(), s["healthLevel"].as_str()), (Some(45), Some("AT_RISK")));
    assert_eq!(
        s["topSignal"],
        "Single-threaded: one current contact, in PURCHASING; 1 of 5 organisational levels covered"
    );
    assert!(reply.text.len() < 1024, "{} bytes: {}", reply.text.len(), reply.text);
    assert!(statements <= 4, "{statements} statements");

    let other = app.gql(&cast.rep_b, STATUS, json!({"id": acme})).await;
    assert_eq!(other.code(), Some("NOT_FOUND"));
    let health_of_other =
        app.gql(&cast.rep_b, "query($id: ID!) { customer(id: $id) { health { score } } }", json!({"id": acme})).await;
    assert_eq!(health_of_other.code(), Some("NOT_FOUND"));
    assert_eq!(app.gql(&cast.rep_b, HEALTH, json!({"id": acme})).await.ok()["node"], Value::Null);
    assert_eq!(app.gql(rep, STATUS, json!({"id": "nonsense"})).await.code(), Some("BAD_USER_INPUT"));
}

/// The snapshot keeps a daily history: a row for each day the score or level
/// changed (the day's last figures); the at-risk list shows the trend over a month.
#[tokio::test]
async fn the_health_history_keeps_one_row_per_changed_day_and_gives_the_trend() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let id = crate::helpers::raw_id(&acme);
    let today = chrono::Utc::now().date_naive();
    let list = "{ atRiskCustomers(minLevel: WATCH) { nodes { score level trend { levelAMonthAgo scoreAMonthAgo change } customer { name } } } }";
    let first = app.gql(&cast.rep_a, list, json!({})).await;
    assert_eq!(first.ok()["atRiskCustomers"]["nodes"][0]["score"], 50);
    assert_eq!(first.ok()["atRiskCustomers"]["nodes"][0]["trend"], Value::Null, "no history a month back yet");
    let rows = |app: &TestApp| {
        let sql = format!("SELECT COUNT(*) FROM customer_health_history WHERE customer_id = {id}");
        let app = app.db.clone();
        async move {
            let row = app
                .query_one_raw(sea_orm::Statement::from_string(
                    app.get_database_backend(),
                    format!("SELECT ({sql}) AS n"),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!(rows(&app).await, 1);
    // Another change the same day replaces the day's figures: a second contact at another level.
    app.contact(&cast.rep_a, &acme, "Ann", "EXECUTIVE").await;
    app.contact(&cast.rep_a, &acme, "Bo", "PURCHASING").await;
    let second = app.gql(&cast.rep_a, list, json!({})).await;
    // Two levels instead of one: breadth takes 40% of 20 instead of all of it (50 + 12); 62 is WATCH.
    assert_eq!(second.ok()["atRiskCustomers"]["nodes"][0]["score"], 62);
    assert_eq!(rows(&app).await, 1);
    let stored = app
        .scalar(&format!("SELECT CAST(score AS BIGINT) FROM customer_health_history WHERE customer_id = {id}"))
        .await;
    // Older days, as an import of history would leave them.
    for (back, score, level) in [(40, 80, "HEALTHY"), (10, 60, "WATCH")] {
        let day = today - chrono::Duration::days(back);
        app.db
            .execute_unprepared(&format!("INSERT INTO customer_health_history (customer_id, day, score, level) VALUES ({id}, '{day}', {score}, '{level}')"))
            .await
            .unwrap();
    }
    let history = "query($c: ID!, $from: Date) { customer(id: $c) { healthHistory(from: $from) { day score level } } }";
    let from = (today - chrono::Duration::days(20)).to_string();
    let reply = app.gql(&cast.rep_a, history, json!({"c": acme, "from": from})).await;
    let days: Vec<(String, i64)> = reply.ok()["customer"]["healthHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["day"].as_str().unwrap().to_owned(), p["score"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        days,
        [
            ((today - chrono::Duration::days(40)).to_string(), 80),
            ((today - chrono::Duration::days(10)).to_string(), 60),
            (today.to_string(), stored)
        ],
        "the point in force on `from` first"
    );
    // The trend: 80 (HEALTHY) 30 days ago, against the score now.
    let third = app.gql(&cast.rep_a, list, json!({})).await;
    assert_eq!(
        third.ok()["atRiskCustomers"]["nodes"][0]["trend"],
        json!({"levelAMonthAgo": "HEALTHY", "scoreAMonthAgo": 80, "change": 62 - 80})
    );
    assert_eq!(stored, 62);
    let hidden = app.gql(&cast.rep_b, history, json!({"c": acme})).await;
    assert!(!hidden.body.to_string().contains("HEALTHY"), "{}", hidden.body);
}
