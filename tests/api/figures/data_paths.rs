//! Figures that stay right whatever path the data took: the last 12 complete
//! months, live customers in segments, customers no report silently drops,
//! SLA deadlines that follow a ticket's priority, work that follows an owner,
//! the supply plan's population and seasons, revenue retention's periods.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const PUSH: &str = "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }";

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The first day of the month `back` months before this one.
fn month(back: i32) -> NaiveDate {
    let first = today().with_day(1).unwrap();
    if back >= 0 {
        first.checked_sub_months(chrono::Months::new(back as u32)).unwrap()
    } else {
        first.checked_add_months(chrono::Months::new((-back) as u32)).unwrap()
    }
}

async fn customer_since(app: &TestApp, owner: &Person, name: &str, since: &str) -> String {
    let reply = app
        .gql(
            owner,
            "mutation($n: String!, $s: Date) { createCustomer(input: {name: $n, status: ACTIVE, customerSince: $s}) { id } }",
            json!({"n": name, "s": since}),
        )
        .await;
    reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned()
}

async fn push(app: &TestApp, who: &Person, rows: Vec<Value>) {
    app.gql(who, PUSH, json!({"e": rows})).await.ok();
}

fn revenue(customer: &str, month: NaiveDate, amount: &str, profit: &str) -> Value {
    json!({"customerId": customer, "month": month.to_string(), "revenue": amount, "grossProfit": profit})
}

/// Waits until the stored figures (recomputed within a second of a change) satisfy `done`.
async fn eventually(app: &TestApp, who: &Person, query: &str, vars: Value, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..60 {
        last = app.gql(who, query, vars.clone()).await.ok().clone();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never settled: {last}");
}

#[tokio::test]
async fn the_last_12_months_are_the_12_complete_months_before_this_one() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = customer_since(&app, &cast.rep_a, "Acme", "2020-01-01").await;
    // 10.00 a month for this month and the 13 before: the last 12 complete months hold 120.00.
    push(&app, &cast.leader, (0..14).map(|back| revenue(&acme, month(back), "10.00", "5.00")).collect()).await;
    let query = "query($id: ID!) { customer(id: $id) { revenueLast12Months grossProfitLast12Months } }";
    let settled =
        eventually(&app, &cast.rep_a, query, json!({"id": acme}), |v| v["customer"]["revenueLast12Months"] != "0.00")
            .await;
    assert_eq!(settled["customer"]["revenueLast12Months"], "120.00");
    assert_eq!(settled["customer"]["grossProfitLast12Months"], "60.00");
    // The reports' default window is the same 12 months.
    let pareto = app.gql(&cast.leader, "{ paretoReport { from to revenue } }", json!({})).await;
    let pareto = &pareto.ok()["paretoReport"];
    assert_eq!(pareto["from"], month(12).to_string());
    assert_eq!(pareto["to"], month(0).pred_opt().unwrap().to_string());
    assert_eq!(pareto["revenue"], "120.00");
}

#[tokio::test]
async fn segments_rank_live_customers_only() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let mut ids = Vec::new();
    // Five customers, the biggest first: 500, 400, 300, 200, 100 a month, margins of 50%.
    for (i, amount) in [500, 400, 300, 200, 100].into_iter().enumerate() {
        let id = customer_since(&app, &cast.rep_a, &format!("C{i}"), "2020-01-01").await;
        let rows =
            (1..=12).map(|back| revenue(&id, month(back), &format!("{amount}.00"), &format!("{}.00", amount / 2)));
        push(&app, &cast.leader, rows.collect()).await;
        ids.push(id);
    }
    // The biggest is lost: it takes no slot, so the next one is the top 20% now.
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { id } } }",
        json!({"id": ids[0]}),
    )
    .await
    .ok();
    let query = "query($a: ID!, $b: ID!) { a: customer(id: $a) { segment } b: customer(id: $b) { segment } }";
    let settled = eventually(&app, &cast.rep_a, query, json!({"a": ids[0], "b": ids[1]}), |v| {
        v["a"]["segment"].is_null() && v["b"]["segment"] == "LARGE_QUALITY"
    })
    .await;
    assert!(settled["a"]["segment"].is_null());
    let summary = app
        .gql(
            &cast.rep_a,
            "{ segmentationSummary { segments { segment customers } excluded { reason count } } }",
            json!({}),
        )
        .await;
    let summary = &summary.ok()["segmentationSummary"];
    let counted: i64 = summary["segments"].as_array().unwrap().iter().map(|s| s["customers"].as_i64().unwrap()).sum();
    assert_eq!(counted, 4);
    assert_eq!(summary["segments"][0], json!({"segment": "LARGE_QUALITY", "customers": 1}));
    assert_eq!(summary["excluded"], json!([{"reason": "LOST", "count": 1}]));
}

#[tokio::test]
async fn no_customer_silently_drops_out_of_a_report() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    // Known start; start from its revenue (from March 2025); no start at all; archived.
    let known = customer_since(&app, &cast.rep_a, "Known", "2020-01-01").await;
    let reply = app
        .gql(
            &cast.rep_a,
            "mutation { createCustomer(input: {name: \"From revenue\", status: ACTIVE}) { id } }",
            json!({}),
        )
        .await;
    let from_revenue = reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned();
    app.gql(&cast.rep_a, "mutation { createCustomer(input: {name: \"Unknown\", status: ACTIVE}) { id } }", json!({}))
        .await
        .ok();
    let archived = customer_since(&app, &cast.rep_a, "Archived", "2020-01-01").await;
    customer_since(&app, &cast.rep_a, "Later", "2026-06-01").await;
    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": archived})).await.ok();
    let march = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let rows: Vec<Value> = (0..6)
        .map(|i| revenue(&from_revenue, march.checked_add_months(chrono::Months::new(i)).unwrap(), "50.00", "10.00"))
        .chain(
            (0..6)
                .map(|i| revenue(&known, march.checked_add_months(chrono::Months::new(i)).unwrap(), "80.00", "20.00")),
        )
        .collect();
    push(&app, &cast.leader, rows).await;

    let report = app
        .gql(
            &cast.rep_a,
            "{ retentionReport(from: \"2024-12-31\", to: \"2025-12-31\") { total { customersAtStart gained } points { month gained } excluded { reason count } } }",
            json!({}),
        )
        .await;
    let report = &report.ok()["retentionReport"];
    assert_eq!(report["total"]["customersAtStart"], 1);
    assert_eq!(report["total"]["gained"], 1, "the customer without customerSince starts with its revenue");
    let march_point = report["points"].as_array().unwrap().iter().find(|p| p["month"] == "2025-03-01").unwrap().clone();
    assert_eq!(march_point["gained"], 1);
    assert_eq!(
        report["excluded"],
        json!([
            {"reason": "ARCHIVED", "count": 1},
            {"reason": "NOT_A_CUSTOMER", "count": 1},
            {"reason": "NO_START_DATE", "count": 1}
        ])
    );

    let pareto = app
        .gql(
            &cast.rep_a,
            "{ paretoReport(from: \"2025-03-01\", to: \"2025-08-31\") { customers excluded { reason count } } }",
            json!({}),
        )
        .await;
    let pareto = &pareto.ok()["paretoReport"];
    assert_eq!(pareto["customers"], 2);
    assert_eq!(
        pareto["excluded"],
        json!([{"reason": "ARCHIVED", "count": 1}, {"reason": "NO_REVENUE_IN_WINDOW", "count": 2}])
    );

    let silent = app.gql(&cast.rep_a, "{ silentChurn { totalCount excluded { reason count } } }", json!({})).await;
    let silent = &silent.ok()["silentChurn"];
    assert_eq!(silent["totalCount"], 2);
    assert_eq!(silent["excluded"], json!([{"reason": "NEVER_BOUGHT", "count": 2}]));
}

#[tokio::test]
async fn revenue_retention_of_a_six_month_window_compares_two_six_month_periods() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = customer_since(&app, &cast.rep_a, "Acme", "2020-01-01").await;
    // 100.00 a month in the six months before the window, 50.00 a month in it, 1,000.00 a month a year before.
    let rows: Vec<Value> = (1..=12)
        .map(|m| {
            let amount = match m {
                1..=6 => "1000.00",
                _ => "100.00",
            };
            revenue(&acme, NaiveDate::from_ymd_opt(2024, m, 1).unwrap(), amount, "1.00")
        })
        .chain((1..=6).map(|m| revenue(&acme, NaiveDate::from_ymd_opt(2025, m, 1).unwrap(), "50.00", "1.00")))
        .collect();
    push(&app, &cast.leader, rows).await;
    let report = app
        .gql(
            &cast.rep_a,
            "{ retentionReport(from: \"2024-12-31\", to: \"2025-06-30\") { revenueRetention { gross net revenueBefore revenueAfter } } }",
            json!({}),
        )
        .await;
    // Before: July to December 2024 (600.00); after: January to June 2025 (300.00).
    assert_eq!(
        report.ok()["retentionReport"]["revenueRetention"],
        json!({"gross": 0.5, "net": 0.5, "revenueBefore": "600.00", "revenueAfter": "300.00"})
    );
}

#[tokio::test]
async fn revenue_for_a_month_that_has_not_begun_is_refused() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = customer_since(&app, &cast.rep_a, "Acme", "2020-01-01").await;
    let reply = app.gql(&cast.leader, PUSH, json!({"e": [revenue(&acme, month(-1), "1.00", "1.00")]})).await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    assert_eq!(reply.body["errors"][0]["extensions"]["field"], "entries[0].month");
    let reply = app.gql(&cast.leader, PUSH, json!({"e": [revenue(&acme, month(0), "1.00", "1.00")]})).await;
    assert_eq!(reply.ok()["upsertRevenueEntries"]["upserted"], 1);
}

const TICKET: &str = "query($id: ID!) { node(id: $id) { ... on Ticket { version firstResponseDueAt resolutionDueAt slaState firstResponseBreached } } }";

async fn ticket(app: &TestApp, who: &Person, id: &str) -> Value {
    app.gql(who, TICKET, json!({"id": id})).await.ok()["node"].clone()
}

fn at(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().to_utc()
}

#[tokio::test]
async fn a_new_priority_moves_open_deadlines_and_a_recorded_breach_stays() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let create = "mutation($c: ID!, $p: TicketPriority!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY, priority: $p}) { id createdAt } }";
    let reply = app.gql(&cast.rep_a, create, json!({"c": acme, "p": "LOW"})).await;
    let low = reply.ok()["createTicket"]["id"].as_str().unwrap().to_owned();
    let opened = at(&reply.ok()["createTicket"]["createdAt"]);
    let update = "mutation($id: ID!, $v: Int!, $p: TicketPriority!) { updateTicket(id: $id, expectedVersion: $v, input: {priority: $p}) { id } }";
    // LOW is 24 h / 240 h; URGENT 2 h / 24 h, from the opening.
    let before = ticket(&app, &cast.rep_a, &low).await;
    assert_eq!(at(&before["firstResponseDueAt"]) - opened, chrono::Duration::hours(24));
    app.gql(&cast.rep_a, update, json!({"id": low, "v": before["version"], "p": "URGENT"})).await.ok();
    let after = ticket(&app, &cast.rep_a, &low).await;
    assert_eq!(at(&after["firstResponseDueAt"]) - opened, chrono::Duration::hours(2));
    assert_eq!(at(&after["resolutionDueAt"]) - opened, chrono::Duration::hours(24));

    // A ticket whose first response is already late stays breached when it is made less urgent.
    let reply = app.gql(&cast.rep_a, create, json!({"c": acme, "p": "HIGH"})).await;
    let late = reply.ok()["createTicket"]["id"].as_str().unwrap().to_owned();
    let id = crate::helpers::raw_id(&late);
    let past = chrono::Utc::now() - chrono::Duration::hours(5);
    app.set_time("ticket", "created_at", past - chrono::Duration::hours(1), &format!("id = {id}")).await;
    app.set_time("ticket", "first_response_due_at", past, &format!("id = {id}")).await;
    let breached = ticket(&app, &cast.rep_a, &late).await;
    assert_eq!(breached["slaState"], "BREACHED");
    app.gql(&cast.rep_a, update, json!({"id": late, "v": breached["version"], "p": "LOW"})).await.ok();
    let still = ticket(&app, &cast.rep_a, &late).await;
    assert_eq!(still["slaState"], "BREACHED");
    assert_eq!(still["firstResponseBreached"], true);
    assert_eq!(still["firstResponseDueAt"], breached["firstResponseDueAt"]);
}

#[tokio::test]
async fn a_new_owner_by_update_takes_the_open_tickets_and_promises_like_a_reassignment() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: QUALITY}) { id } }",
        json!({"c": acme, "a": cast.rep_a.gid}),
    )
    .await
    .ok();
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"r\", dueOn: \"2030-01-01\"}) { id } }",
        json!({"c": acme}),
    )
    .await
    .ok();
    app.gql(
        &cast.lead_a,
        "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }",
        json!({"id": acme, "o": cast.rep_a2.gid}),
    )
    .await
    .ok();
    let reply = app
        .gql(
            &cast.lead_a,
            "{ tickets { edges { node { assignee { id } recentEvents { kind } } } } commitments { edges { node { ownerId } } } }",
            json!({}),
        )
        .await;
    let data = reply.ok();
    assert_eq!(data["tickets"]["edges"][0]["node"]["assignee"]["id"], cast.rep_a2.gid.as_str());
    assert!(data["tickets"]["edges"][0]["node"]["recentEvents"].to_string().contains("ASSIGNMENT"));
    assert_eq!(data["commitments"]["edges"][0]["node"]["ownerId"], cast.rep_a2.gid.as_str());
}

#[tokio::test]
async fn the_supply_plan_serves_live_customers_only_and_priorities_in_their_peak_season() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (winter, summer, lost) = (
        app.customer(&cast.leader, "Winter").await,
        app.customer(&cast.leader, "Summer").await,
        app.customer(&cast.leader, "Lost").await,
    );
    let priority = "mutation($c: ID!, $r: Int!, $s: Date, $e: Date) { setSupplyPriority(input: {customerId: $c, productLine: \"VALVES\", priorityRank: $r, guaranteedQuantity: 10, peakStartsOn: $s, peakEndsOn: $e}) { id } }";
    app.gql(&cast.leader, priority, json!({"c": winter, "r": 1, "s": "2026-11-01", "e": "2027-02-28"})).await.ok();
    app.gql(&cast.leader, priority, json!({"c": summer, "r": 2, "s": "2026-06-01", "e": "2026-08-31"})).await.ok();
    app.gql(&cast.leader, priority, json!({"c": lost, "r": 1, "s": null, "e": null})).await.ok();
    app.gql(
        &cast.leader,
        "mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { id } } }",
        json!({"id": lost}),
    )
    .await
    .ok();
    let plan = "query($d: [SupplyDemandInput!]!, $on: Date) { supplyAllocationPlan(productLine: \"VALVES\", available: 30, demand: $d, on: $on) { allocated remaining lines { customerName allocated rule } } }";
    let demand = json!([{"customerId": lost, "quantity": 20}, {"customerId": summer, "quantity": 20}, {"customerId": winter, "quantity": 20}]);
    let lines = |v: &Value| -> Vec<(String, i64, String)> {
        v["supplyAllocationPlan"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["customerName"].as_str().unwrap().to_owned(),
                    l["allocated"].as_i64().unwrap(),
                    l["rule"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let december = app.gql(&cast.leader, plan, json!({"d": demand, "on": "2026-12-15"})).await;
    assert_eq!(
        lines(december.ok()),
        vec![
            ("Winter".to_owned(), 20, "PRIORITY_RANK".to_owned()),
            ("Summer".to_owned(), 10, "NO_PRIORITY".to_owned()),
            ("Lost".to_owned(), 0, "NOT_LIVE".to_owned()),
        ]
    );
    let july = app.gql(&cast.leader, plan, json!({"d": demand, "on": "2026-07-15"})).await;
    assert_eq!(
        lines(july.ok()),
        vec![
            ("Summer".to_owned(), 20, "PRIORITY_RANK".to_owned()),
            ("Winter".to_owned(), 10, "NO_PRIORITY".to_owned()),
            ("Lost".to_owned(), 0, "NOT_LIVE".to_owned()),
        ]
    );
}
