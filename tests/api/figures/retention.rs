//! The retention report against fixtures whose answers are worked out by hand,
//! built through the public API.

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const UPSERT: &str = "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }";
const REPORT: &str = "query($from: Date!, $to: Date!, $g: RetentionGroupBy, $b: RetentionBasis, $n: Int) {
  retentionReport(from: $from, to: $to, groupBy: $g, basis: $b, inactiveMonths: $n) {
    total { customersAtStart gained lost wonBack retained customersAtEnd retentionRate churnRate gainRate
            netChangeRate revenueBefore lostCustomersRevenueBefore gainedCustomersRevenue lostRevenueShare
            newCustomerRevenueRatio }
    groups { key label figures { customersAtStart gained lost wonBack retained customersAtEnd revenueBefore
             lostCustomersRevenueBefore gainedCustomersRevenue } }
    reasons { reason controllable count lostRevenueBefore }
    controllableShare
    points { month customers gained lost revenue }
    revenueRetention { gross net revenueBefore revenueAfter }
  } }";

/// Creates an ACTIVE customer with a `customerSince`, owned by `owner`.
async fn customer(app: &TestApp, owner: &Person, name: &str, since: &str) -> String {
    let reply = app
        .gql(
            owner,
            "mutation($n: String!, $s: Date!) { createCustomer(input: {name: $n, status: ACTIVE, customerSince: $s}) { id } }",
            json!({"n": name, "s": since}),
        )
        .await;
    reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned()
}

async fn lose(app: &TestApp, who: &Person, id: &str, reason: &str, on: &str) {
    app.gql(
        who,
        "mutation($id: ID!, $r: ChurnReason!, $on: Date!) { markCustomerLost(id: $id, reason: $r, occurredOn: $on) { customer { id } } }",
        json!({"id": id, "r": reason, "on": on}),
    )
    .await
    .ok();
}

/// Monthly revenue rows of `amount` for the months `first..=last` (YYYY-MM).
fn months(customer: &str, year: i32, from_month: u32, count: u32, amount: &str) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let total = from_month - 1 + i;
            let (y, m) = (year + (total / 12) as i32, total % 12 + 1);
            json!({"customerId": customer, "month": format!("{y}-{m:02}-01"), "revenue": amount, "grossProfit": "1"})
        })
        .collect()
}

async fn push(app: &TestApp, who: &Person, rows: Vec<Value>) {
    for chunk in rows.chunks(1000) {
        app.gql(who, UPSERT, json!({"e": chunk})).await.ok();
    }
}

async fn report(app: &TestApp, who: &Person, vars: Value) -> Value {
    let reply = app.gql(who, REPORT, vars).await;
    reply.ok()["retentionReport"].clone()
}

fn close(actual: &Value, expected: f64) {
    let actual = actual.as_f64().unwrap_or(f64::NAN);
    assert!((actual - expected).abs() < 1e-9, "expected {expected}, got {actual}");
}

/// DESIGN.md section 1: of 100 customers at the start of three years, 40 are
/// lost and 10 gained; the lost ones made half the revenue of the year before,
/// and each new one buys a quarter of what an average lost one bought.
#[tokio::test]
async fn the_case_of_the_retail_chain_is_reproduced_exactly() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (a, a2) = (&cast.rep_a, &cast.rep_a2);
    let mut rows = Vec::new();
    let mut lost = Vec::new();
    for i in 0..100 {
        let owner = if i % 2 == 0 { a } else { a2 };
        let id = customer(&app, owner, &format!("Customer {i:03}"), "2020-01-01").await;
        if i < 40 {
            // 40 × 150 × 12 = 72,000 before the window: half of 144,000.
            rows.extend(months(&id, 2022, 1, 12, "150"));
            lost.push((owner, id));
        } else {
            // 60 × 100 × 12 = 72,000 before; 110 a month in the window's last year.
            rows.extend(months(&id, 2022, 1, 12, "100"));
            rows.extend(months(&id, 2025, 1, 12, "110"));
        }
    }
    for i in 0..10 {
        let owner = if i % 2 == 0 { a } else { a2 };
        let id = customer(&app, owner, &format!("New {i}"), "2024-06-01").await;
        // 450 over the window's last year: a quarter of a lost customer's 1,800.
        rows.extend(months(&id, 2025, 1, 12, "37.50"));
    }
    push(&app, &cast.integration, rows).await;
    for (n, (owner, id)) in lost.iter().enumerate() {
        let reason = ["PRICE", "SERVICE", "CHANGED_BUSINESS", "OTHER"][n % 4];
        lose(&app, owner, id, reason, &format!("2024-{:02}-15", n % 12 + 1)).await;
    }

    let r = report(&app, &cast.leader, json!({"from": "2023-01-01", "to": "2025-12-31", "g": "OWNER"})).await;

    let t = &r["total"];
    assert_eq!(
        (&t["customersAtStart"], &t["gained"], &t["lost"], &t["retained"], &t["customersAtEnd"], &t["wonBack"]),
        (&json!(100), &json!(10), &json!(40), &json!(60), &json!(70), &json!(0))
    );
    close(&t["churnRate"], 0.4);
    close(&t["gainRate"], 0.1);
    close(&t["netChangeRate"], -0.3);
    close(&t["retentionRate"], 0.6);
    close(&t["lostRevenueShare"], 0.5);
    close(&t["newCustomerRevenueRatio"], 0.25);
    assert_eq!(t["revenueBefore"], "144000.00");
    assert_eq!(t["lostCustomersRevenueBefore"], "72000.00");
    assert_eq!(t["gainedCustomersRevenue"], "4500.00");
    // Reasons: 10 each; PRICE and SERVICE controllable, CHANGED_BUSINESS not, OTHER unknown.
    let reasons = r["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 4);
    assert!(reasons.iter().all(|x| x["count"] == 10 && x["lostRevenueBefore"] == "18000.00"));
    let other = reasons.iter().find(|x| x["reason"] == "OTHER").unwrap();
    assert_eq!(other["controllable"], json!(null));
    close(&r["controllableShare"], 0.5);
    // Revenue retention: 60 × 110 × 12 = 79,200 after against 144,000 before; gross caps each at before.
    close(&r["revenueRetention"]["net"], 0.55);
    close(&r["revenueRetention"]["gross"], 0.5);
    // Points: 36 months, gains and losses add up, the chart ends where the total does.
    let points = r["points"].as_array().unwrap();
    assert_eq!(points.len(), 36);
    assert_eq!(points[0]["month"], "2023-01-01");
    assert_eq!(points[0]["customers"], 100);
    assert_eq!(points[35]["customers"], 70);
    assert_eq!(points.iter().map(|p| p["gained"].as_i64().unwrap()).sum::<i64>(), 10);
    assert_eq!(points.iter().map(|p| p["lost"].as_i64().unwrap()).sum::<i64>(), 40);
    assert_eq!(points[17]["gained"], 10, "all ten joined in June 2024");
    assert_eq!(points[24]["revenue"], "6975.00", "January 2025: 60 × 110 + 10 × 37.50");
    // Two owners, half each: the groups add up to the total.
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for field in ["customersAtStart", "gained", "lost", "retained", "customersAtEnd"] {
        let sum: i64 = groups.iter().map(|g| g["figures"][field].as_i64().unwrap()).sum();
        assert_eq!(sum, t[field].as_i64().unwrap(), "{field}");
    }
    assert_eq!(groups[0]["label"], "rep.a");
    assert_eq!(groups[0]["key"], format!("User:{}", cast.rep_a.id));
    assert_eq!(groups[0]["figures"]["lost"], 20);
}

/// A small book whose every customer tests one rule.
struct Book {
    app: TestApp,
    cast: crate::helpers::Cast,
}

async fn book() -> Book {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (a, b) = (&cast.rep_a, &cast.rep_b);
    // Window: (2024-01-01, 2024-12-31].
    let kept = customer(&app, a, "Kept", "2020-01-01").await;
    let lost = customer(&app, a, "Lost in window", "2020-01-01").await;
    let back = customer(&app, a, "Won back", "2020-01-01").await;
    let flash = customer(&app, a, "Gained and lost", "2024-03-01").await;
    let before = customer(&app, b, "Lost before", "2020-01-01").await;
    let archived = customer(&app, b, "Archived", "2020-01-01").await;
    let gained_b = customer(&app, b, "Gained by B", "2024-07-01").await;
    lose(&app, a, &lost, "QUALITY", "2024-05-10").await;
    lose(&app, a, &back, "PRICE", "2023-06-01").await;
    app.gql(
        a,
        "mutation($id: ID!) { markCustomerWonBack(id: $id, occurredOn: \"2024-02-01\") { customer { id } } }",
        json!({"id": back}),
    )
    .await
    .ok();
    lose(&app, a, &flash, "BROKEN_PROMISE", "2024-09-01").await;
    lose(&app, b, &before, "PRICE", "2023-03-01").await;
    app.gql(&cast.leader, "mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": archived})).await.ok();
    let mut rows = Vec::new();
    rows.extend(months(&kept, 2023, 1, 24, "100"));
    rows.extend(months(&lost, 2023, 1, 16, "300"));
    rows.extend(months(&back, 2023, 1, 5, "50"));
    rows.extend(months(&back, 2024, 2, 11, "50"));
    rows.extend(months(&flash, 2024, 3, 6, "20"));
    rows.extend(months(&archived, 2023, 1, 24, "999"));
    rows.extend(months(&gained_b, 2024, 7, 6, "10"));
    push(&app, &cast.integration, rows).await;
    Book { app, cast }
}

#[tokio::test]
async fn won_back_gained_and_lost_archived_and_earlier_losses_follow_the_definitions() {
    let Book { app, cast } = book().await;

    let r = report(&app, &cast.leader, json!({"from": "2024-01-01", "to": "2024-12-31"})).await;

    let t = &r["total"];
    // At start: Kept, Lost in window (Won back was lost, Lost before too; Archived is out).
    assert_eq!(t["customersAtStart"], 2);
    assert_eq!(t["gained"], 2, "Gained and lost, Gained by B");
    assert_eq!(t["lost"], 2, "Lost in window, Gained and lost");
    assert_eq!(t["wonBack"], 1);
    assert_eq!(t["retained"], 1);
    assert_eq!(t["customersAtEnd"], 3, "Kept, Won back, Gained by B");
    close(&t["churnRate"], 0.5);
    close(&t["netChangeRate"], 0.5);
    // Revenue before: Kept 1,200 + Lost 3,600; the lost one's share is 3,600 / 4,800.
    assert_eq!(t["revenueBefore"], "4800.00");
    close(&t["lostRevenueShare"], 0.75);
    assert_eq!(t["gainedCustomersRevenue"], "180.00", "120 + 60 in 2024");
    close(&t["newCustomerRevenueRatio"], (180.0 / 2.0) / 3600.0);
    assert!(!r.to_string().contains("999"), "the archived customer counts nowhere");
    let sums = |field: &str| r["points"].as_array().unwrap().iter().map(|p| p[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!((sums("gained"), sums("lost")), (2, 2));
    assert_eq!(r["points"][11]["customers"], 3);
}

#[tokio::test]
async fn a_rep_and_a_team_lead_see_only_their_customers_figures() {
    let Book { app, cast } = book().await;
    let window = json!({"from": "2024-01-01", "to": "2024-12-31"});

    let rep_b = report(&app, &cast.rep_b, window.clone()).await;
    let lead_a = report(&app, &cast.lead_a, window.clone()).await;
    let rep_a2 = report(&app, &cast.rep_a2, window).await;

    assert_eq!(rep_b["total"]["customersAtStart"], 0);
    assert_eq!(rep_b["total"]["gained"], 1);
    assert_eq!(rep_b["total"]["churnRate"], json!(null), "undefined without customers at start");
    assert_eq!(lead_a["total"]["customersAtStart"], 2);
    assert_eq!(lead_a["total"]["gained"], 1);
    assert_eq!(rep_a2["total"]["customersAtStart"], 0);
    assert_eq!(rep_a2["points"][0]["customers"], 0);
}

#[tokio::test]
async fn every_split_adds_up_to_the_total() {
    let Book { app, cast } = book().await;

    for group_by in ["OWNER", "TEAM", "TIER", "SEGMENT", "REGION", "INDUSTRY"] {
        let r = report(&app, &cast.leader, json!({"from": "2024-01-01", "to": "2024-12-31", "g": group_by})).await;
        let groups = r["groups"].as_array().unwrap();
        assert!(!groups.is_empty(), "{group_by}");
        for field in ["customersAtStart", "gained", "lost", "wonBack", "retained", "customersAtEnd"] {
            let sum: i64 = groups.iter().map(|g| g["figures"][field].as_i64().unwrap()).sum();
            assert_eq!(sum, r["total"][field].as_i64().unwrap(), "{group_by}.{field}");
        }
    }
    let teams = report(&app, &cast.leader, json!({"from": "2024-01-01", "to": "2024-12-31", "g": "TEAM"})).await;
    let labels: Vec<&str> = teams["groups"].as_array().unwrap().iter().map(|g| g["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Team A", "Team B"]);
    let none = report(&app, &cast.leader, json!({"from": "2024-01-01", "to": "2024-12-31"})).await;
    assert_eq!(none["groups"], json!([]));
}

#[tokio::test]
async fn the_activity_basis_ignores_churn_events_and_silent_churn_lists_the_quiet_ones() {
    let Book { app, cast } = book().await;

    let r =
        report(&app, &cast.leader, json!({"from": "2024-01-01", "to": "2024-12-31", "b": "ACTIVITY", "n": 3})).await;
    let silent = app
        .gql(&cast.leader, "{ silentChurn(inactiveMonths: 6) { totalCount edges { node { customer { name } lastRevenueMonth revenueBefore } } } }", json!({}))
        .await;

    let t = &r["total"];
    // Active on 2024-01-01 (revenue Nov 2023 – Jan 2024): Kept, Lost in window. Won back starts in Feb.
    assert_eq!(t["customersAtStart"], 2);
    // Active at the end (Oct – Dec 2024): Kept, Won back (until Dec), Gained by B (until Dec).
    assert_eq!(t["customersAtEnd"], 3);
    assert_eq!(t["gained"], 2, "first revenue in the window: Gained and lost, Gained by B");
    assert_eq!(t["lost"], 2, "Lost in window stopped in April; Gained and lost in August");
    assert_eq!(t["wonBack"], 1);
    let no_event = r["reasons"].as_array().unwrap();
    assert!(no_event.iter().any(|x| x["reason"] == "QUALITY"));
    // Today is long after 2024: every customer with revenue still ACTIVE or WON_BACK is silent.
    let edges = silent.ok()["silentChurn"]["edges"].as_array().unwrap().clone();
    let names: Vec<&str> = edges.iter().map(|e| e["node"]["customer"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Kept", "Won back", "Gained by B"], "largest first; lost ones excluded");
    assert_eq!(edges[0]["node"]["lastRevenueMonth"], "2024-12-01");
    assert_eq!(edges[0]["node"]["revenueBefore"], "1200.00");
}

#[tokio::test]
async fn bad_windows_are_refused() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;

    let backwards = app.gql(&cast.leader, REPORT, json!({"from": "2024-01-01", "to": "2023-01-01"})).await;
    let too_long = app.gql(&cast.leader, REPORT, json!({"from": "2000-01-01", "to": "2024-01-01"})).await;
    let bad_months =
        app.gql(&cast.leader, REPORT, json!({"from": "2023-01-01", "to": "2024-01-01", "b": "ACTIVITY", "n": 0})).await;
    let empty = report(&app, &cast.leader, json!({"from": "2024-01-01", "to": "2024-01-01"})).await;

    assert_eq!(backwards.code(), Some("BAD_USER_INPUT"));
    assert_eq!(too_long.code(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_months.code(), Some("BAD_USER_INPUT"));
    assert_eq!(empty["total"]["customersAtStart"], 0);
    assert_eq!(empty["points"].as_array().unwrap().len(), 1);
}

/// The keys of a grouped report with their at-start and lost counts.
fn by_group(report: &Value) -> Vec<(String, i64, i64)> {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap().to_owned(),
                g["figures"]["customersAtStart"].as_i64().unwrap(),
                g["figures"]["lost"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn groups_are_what_was_true_at_the_start_of_the_window() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = customer(&app, &cast.rep_a, "Acme", "2020-01-01").await;
    let beta = customer(&app, &cast.rep_b, "Beta", "2020-01-01").await;
    let tier = "mutation($c: ID!, $t: PartnershipTier!) { setPartnership(customerId: $c, input: {tier: $t}) { id } }";
    app.gql(&cast.leader, tier, json!({"c": acme, "t": "SERVICE"})).await.ok();
    app.gql(&cast.leader, tier, json!({"c": beta, "t": "PRICE"})).await.ok();
    // All of that held long before the window: the history says since when.
    let long_ago = chrono::DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").unwrap().to_utc();
    app.set_time("customer_history", "valid_from", long_ago, "1 = 1").await;
    app.set_time("user_team_history", "valid_from", long_ago, "1 = 1").await;

    // Inside the window: Acme is handed to rep B, goes STRATEGIC, its former owner joins team B; then it is lost.
    app.gql(
        &cast.leader,
        "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }",
        json!({"id": acme, "o": cast.rep_b.gid}),
    )
    .await
    .ok();
    app.gql(&cast.leader, tier, json!({"c": acme, "t": "STRATEGIC"})).await.ok();
    app.gql(
        &cast.admin,
        "mutation($id: ID!, $t: ID) { updateUser(id: $id, input: {teamId: $t}) { id } }",
        json!({"id": cast.rep_a.gid, "t": crate::helpers::gid("Team", cast.team_b)}),
    )
    .await
    .ok();
    let today = chrono::Utc::now().date_naive().to_string();
    lose(&app, &cast.rep_b, &acme, "REP_DEPARTURE", &today).await;

    let report = |group: &'static str| {
        let app = &app;
        let leader = &cast.leader;
        let today = today.clone();
        async move {
            let reply = app.gql(leader, REPORT, json!({"from": "2026-01-01", "to": today, "g": group})).await;
            reply.ok()["retentionReport"].clone()
        }
    };
    // The departed owner's loss stays with them, their team then, and the tier the account had then.
    assert_eq!(by_group(&report("OWNER").await), vec![("rep.a".to_owned(), 1, 1), ("rep.b".to_owned(), 1, 0)]);
    assert_eq!(by_group(&report("TEAM").await), vec![("Team A".to_owned(), 1, 1), ("Team B".to_owned(), 1, 0)]);
    assert_eq!(by_group(&report("TIER").await), vec![("Price".to_owned(), 1, 0), ("Service".to_owned(), 1, 1)]);
}
