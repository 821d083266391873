//! Pareto, segments, the error audit and customer aggregates, each against a
//! fixture whose answers are worked out by hand.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Unchanged, Set};
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const UPSERT: &str = "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }";

async fn customer(app: &TestApp, owner: &Person, name: &str, importance: &str) -> String {
    app.gql(
        owner,
        "mutation($n: String!, $i: StrategicImportance!) { createCustomer(input: {name: $n, status: ACTIVE, strategicImportance: $i}) { id } }",
        json!({"n": name, "i": importance}),
    )
    .await
    .ok()["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn row(customer: &str, month: &str, revenue: i64, profit: i64) -> Value {
    json!({"customerId": customer, "month": month, "revenue": revenue.to_string(), "grossProfit": profit.to_string()})
}

fn close(actual: &Value, expected: f64) {
    let actual = actual.as_f64().unwrap_or(f64::NAN);
    assert!((actual - expected).abs() < 1e-9, "expected {expected}, got {actual}");
}

#[tokio::test]
async fn the_pareto_report_measures_concentration_and_loss_makers() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let figures = [
        (1000, 300),
        (500, 100),
        (300, 60),
        (200, -50),
        (100, 20),
        (100, 20),
        (100, 20),
        (100, 20),
        (50, 10),
        (50, -30),
    ];
    let mut rows = Vec::new();
    for (i, (revenue, profit)) in figures.iter().enumerate() {
        let id = customer(&app, &cast.rep_a, &format!("C{i}"), "MEDIUM").await;
        rows.push(row(&id, "2025-03-01", *revenue, *profit));
    }
    let of_b = customer(&app, &cast.rep_b, "Giant of B", "MEDIUM").await;
    rows.push(row(&of_b, "2025-03-01", 5000, 500));
    rows.push(row(&of_b, "2024-03-01", 9999, 9));
    app.gql(&cast.integration, UPSERT, json!({"e": rows})).await.ok();
    let query = "{ paretoReport(from: \"2025-01-01\", to: \"2025-12-31\") { customers revenue grossProfit topCustomers
        topRevenueShare topGrossProfitShare lossMakingCustomers profitEatenByLossMakers customersFor80PercentRevenue
        points { customerShare revenueShare } } }";

    let rep = app.gql(&cast.rep_a, query, json!({})).await;
    let leader = app.gql(&cast.leader, query, json!({})).await;

    let p = &rep.ok()["paretoReport"];
    assert_eq!((&p["customers"], &p["revenue"], &p["grossProfit"]), (&json!(10), &json!("2500.00"), &json!("470.00")));
    assert_eq!(p["topCustomers"], 2);
    close(&p["topRevenueShare"], 1500.0 / 2500.0);
    close(&p["topGrossProfitShare"], 400.0 / 470.0);
    assert_eq!(p["lossMakingCustomers"], 2);
    close(&p["profitEatenByLossMakers"], 80.0 / 550.0);
    assert_eq!(p["customersFor80PercentRevenue"], 4);
    let points = p["points"].as_array().unwrap();
    let expected = [0.0, 0.02, 0.04, 0.08, 0.12, 0.16, 0.20, 0.28, 0.40, 0.60, 1.0];
    assert_eq!(points.len(), expected.len());
    for (i, (point, share)) in points.iter().zip(expected).enumerate() {
        close(&point["customerShare"], i as f64 / 10.0);
        close(&point["revenueShare"], share);
    }
    assert_eq!(leader.ok()["paretoReport"]["customers"], 11);
    assert_eq!(leader.ok()["paretoReport"]["revenue"], "7500.00", "only the period's months count");
}

#[tokio::test]
async fn segments_follow_rank_margin_importance_and_losses() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let month = (Utc::now().date_naive() - Duration::days(40)).format("%Y-%m-01").to_string();
    // (owner, name, importance, revenue, gross profit) and the segment worked out by hand.
    let book = [
        (&cast.rep_b, "C1", "MEDIUM", 1000, 200, Some("LARGE_QUALITY")),
        (&cast.rep_a, "C2", "MEDIUM", 900, 50, Some("AVERAGE")), // top 20% but a 5.6% margin
        (&cast.rep_a, "C3", "MEDIUM", 800, 100, Some("AVERAGE")),
        (&cast.rep_a, "C4", "MEDIUM", 700, 100, Some("AVERAGE")),
        (&cast.rep_a, "C5", "MEDIUM", 600, 200, Some("AVERAGE")),
        (&cast.rep_a, "C6", "LOW", 500, 200, Some("SMALL_QUALITY")), // 40% margin
        (&cast.rep_a, "C7", "HIGH", 400, 20, Some("SMALL_QUALITY")), // strategically important
        (&cast.rep_a, "C8", "MEDIUM", 300, 30, Some("SMALL_ORDINARY")),
        (&cast.rep_a, "C9", "MEDIUM", 200, -10, Some("BLEEDING")),
        (&cast.rep_a, "C10", "MEDIUM", 0, 0, None),
    ];
    let mut rows = Vec::new();
    let mut ids = Vec::new();
    for (owner, name, importance, revenue, profit, _) in &book {
        let id = customer(&app, owner, name, importance).await;
        if *revenue != 0 {
            rows.push(row(&id, &month, *revenue, *profit));
        }
        ids.push(id);
    }
    app.gql(&cast.integration, UPSERT, json!({"e": rows})).await.ok();
    rapport::service::segments::recompute(&app.db, Default::default(), Utc::now().date_naive()).await.unwrap();

    let listed = app
        .gql(&cast.leader, "{ customers(first: 20, orderBy: {field: SEGMENT}) { edges { node { name segment revenueLast12Months } } } }", json!({}))
        .await;
    let small = app
        .gql(&cast.leader, "{ customers(filter: {segments: [SMALL_QUALITY]}) { edges { node { name } } } }", json!({}))
        .await;
    let summary_query =
        "{ segmentationSummary { thresholds { largePercent averagePercent largeMarginPercent qualityMarginPercent }
        segments { segment customers revenue grossProfit customerShare revenueShare grossProfitShare } } }";
    let leader = app.gql(&cast.leader, summary_query, json!({})).await;
    let rep = app.gql(&cast.rep_a, summary_query, json!({})).await;

    for node in listed.ok()["customers"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]) {
        let expected = book.iter().find(|b| b.1 == node["name"]).unwrap().5;
        assert_eq!(node["segment"], json!(expected), "{}", node["name"]);
    }
    let order: Vec<&str> = listed.ok()["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(order[0], "C1");
    assert_eq!(order[9], "C10", "no segment sorts last");
    assert_eq!(listed.ok()["customers"]["edges"][0]["node"]["revenueLast12Months"], "1000.00");
    assert_eq!(small.ok()["customers"]["edges"], json!([{"node": {"name": "C6"}}, {"node": {"name": "C7"}}]));
    let s = &leader.ok()["segmentationSummary"];
    assert_eq!(
        s["thresholds"],
        json!({"largePercent": 20, "averagePercent": 50, "largeMarginPercent": 10, "qualityMarginPercent": 25})
    );
    let segments = s["segments"].as_array().unwrap();
    let names: Vec<&Value> = segments.iter().map(|x| &x["segment"]).collect();
    assert_eq!(
        names,
        [
            &json!("LARGE_QUALITY"),
            &json!("AVERAGE"),
            &json!("SMALL_QUALITY"),
            &json!("SMALL_ORDINARY"),
            &json!("BLEEDING"),
            &json!(null)
        ]
    );
    assert_eq!(segments[1]["customers"], 4);
    assert_eq!(segments[1]["revenue"], "3000.00");
    close(&segments[1]["revenueShare"], 3000.0 / 5400.0);
    close(&segments[4]["grossProfitShare"], -10.0 / 890.0);
    close(&segments[5]["customerShare"], 0.1);
    // The rep sees their own customers, ranked against the whole book: C2 stays AVERAGE.
    let rep_segments = rep.ok()["segmentationSummary"]["segments"].as_array().unwrap().clone();
    assert_eq!(rep_segments[0]["segment"], "AVERAGE");
    assert_eq!(rep_segments[0]["customers"], 4);
    assert_eq!(ids.len(), 10);
}

fn at(day: &str, hour: u32) -> chrono::DateTime<Utc> {
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
}

/// A ticket opened on `day` at 08:00, answered within an hour, due in 100 hours,
/// and resolved after `hours` (or never).
async fn ticket(app: &TestApp, who: &Person, customer: &str, category: &str, day: &str, hours: Option<i64>) -> i64 {
    let id = app
        .gql(who, "mutation($c: ID!, $k: TicketCategory!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: $k}) { id } }", json!({"c": customer, "k": category}))
        .await
        .ok()["createTicket"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw = {
        use base64::Engine;
        let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&id).unwrap()).unwrap();
        text.rsplit(':').next().unwrap().parse::<i64>().unwrap()
    };
    let opened = at(day, 8);
    entity::ticket::ActiveModel {
        id: Unchanged(raw),
        created_at: Set(opened),
        first_response_due_at: Set(opened + Duration::hours(2)),
        first_responded_at: Set(Some(opened + Duration::hours(1))),
        resolution_due_at: Set(opened + Duration::hours(100)),
        resolved_at: Set(hours.map(|h| opened + Duration::hours(h))),
        status: Set(if hours.is_some() {
            entity::enums::TicketStatus::Resolved
        } else {
            entity::enums::TicketStatus::Open
        }),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .unwrap();
    raw
}

#[tokio::test]
async fn the_error_audit_counts_failures_times_breaches_and_recurrences() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (x, y) = (customer(&app, &cast.rep_a, "X", "MEDIUM").await, customer(&app, &cast.rep_a, "Y", "MEDIUM").await);
    let hidden = customer(&app, &cast.rep_b, "Hidden", "MEDIUM").await;
    let rep = &cast.rep_a;
    ticket(&app, rep, &x, "DELIVERY", "2026-01-05", Some(10)).await;
    ticket(&app, rep, &x, "DELIVERY", "2026-01-10", Some(30)).await;
    let fixed = ticket(&app, rep, &x, "DELIVERY", "2026-01-20", Some(50)).await;
    ticket(&app, rep, &x, "DELIVERY", "2026-01-25", None).await; // overdue: breached
    let again = ticket(&app, rep, &y, "DELIVERY", "2026-02-01", Some(200)).await; // late: breached
    ticket(&app, rep, &y, "QUALITY", "2026-01-15", Some(5)).await;
    ticket(&app, rep, &x, "QUALITY", "2026-06-01", Some(5)).await; // more than 90 days later: not a recurrence
    ticket(&app, &cast.rep_b, &hidden, "DELIVERY", "2026-01-26", Some(1)).await;
    let query = "query($g: ErrorAuditGroupBy) { errorAudit(from: \"2026-01-01\", to: \"2026-06-30\", groupBy: $g) {
        figures { period category tickets resolved medianResolutionHours p90ResolutionHours slaBreachRate }
        recurrences { first { id } second { id customer { name } } } } }";

    let monthly = app.gql(rep, query, json!({"g": "MONTH"})).await;
    let quarterly = app.gql(rep, query, json!({"g": "QUARTER"})).await;

    let figures = monthly.ok()["errorAudit"]["figures"].as_array().unwrap().clone();
    let january = figures.iter().find(|f| f["period"] == "2026-01-01" && f["category"] == "DELIVERY").unwrap();
    assert_eq!(
        (&january["tickets"], &january["resolved"]),
        (&json!(4), &json!(3)),
        "the hidden customer's ticket is not counted"
    );
    close(&january["medianResolutionHours"], 30.0);
    close(&january["p90ResolutionHours"], 50.0);
    close(&january["slaBreachRate"], 0.25);
    let february = figures.iter().find(|f| f["period"] == "2026-02-01").unwrap();
    close(&february["slaBreachRate"], 1.0);
    assert_eq!(figures.len(), 4, "Jan DELIVERY, Jan QUALITY, Feb DELIVERY, Jun QUALITY");
    let recurrences = monthly.ok()["errorAudit"]["recurrences"].as_array().unwrap().clone();
    assert_eq!(recurrences.len(), 1);
    assert_eq!(recurrences[0]["first"]["id"], crate::helpers::gid("Ticket", fixed));
    assert_eq!(recurrences[0]["second"]["id"], crate::helpers::gid("Ticket", again));
    assert_eq!(recurrences[0]["second"]["customer"]["name"], "Y");
    let quarters = quarterly.ok()["errorAudit"]["figures"].as_array().unwrap().clone();
    let q1 = quarters.iter().find(|f| f["period"] == "2026-01-01" && f["category"] == "DELIVERY").unwrap();
    assert_eq!(q1["tickets"], 5);
    assert!(quarters.iter().any(|f| f["period"] == "2026-04-01" && f["category"] == "QUALITY"));
}

#[tokio::test]
async fn customer_aggregates_count_and_sum_per_combination() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let month = (Utc::now().date_naive() - Duration::days(40)).format("%Y-%m-01").to_string();
    let a1 = customer(&app, &cast.rep_a, "A1", "MEDIUM").await;
    let a2 = customer(&app, &cast.rep_a, "A2", "MEDIUM").await;
    let b1 = customer(&app, &cast.rep_b, "B1", "MEDIUM").await;
    app.gql(&cast.rep_a, "mutation { createCustomer(input: {name: \"Prospect\"}) { id } }", json!({})).await.ok();
    app.gql(
        &cast.integration,
        UPSERT,
        json!({"e": [row(&a1, &month, 100, 10), row(&a2, &month, 50, 5), row(&b1, &month, 70, 7)]}),
    )
    .await
    .ok();
    // No recompute awaited: the figures are current as soon as the push commits.
    let query =
        "query($g: [CustomerDimension!]!, $f: CustomerFilterInput) { customerAggregates(groupBy: $g, filter: $f) {
        status owner { name } team { name } customers revenue grossProfit } }";

    let by_status_owner = app.gql(&cast.leader, query, json!({"g": ["STATUS", "OWNER"]})).await;
    let by_team = app.gql(&cast.leader, query, json!({"g": ["TEAM"], "f": {"statuses": ["ACTIVE"]}})).await;
    let as_rep = app.gql(&cast.rep_a, query, json!({"g": []})).await;
    let twice = app.gql(&cast.leader, query, json!({"g": ["TEAM", "TEAM"]})).await;

    let rows = by_status_owner.ok()["customerAggregates"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        json!({"status": "ACTIVE", "owner": {"name": "rep.a"}, "team": null, "customers": 2, "revenue": "150.00", "grossProfit": "15.00"})
    );
    let teams = by_team.ok()["customerAggregates"].as_array().unwrap().clone();
    assert_eq!(teams[0]["team"]["name"], "Team A");
    assert_eq!(teams[0]["customers"], 2);
    assert_eq!(teams[1]["revenue"], "70.00");
    assert_eq!(
        as_rep.ok()["customerAggregates"],
        json!([{"status": null, "owner": null, "team": null, "customers": 3, "revenue": "150.00", "grossProfit": "15.00"}])
    );
    assert_eq!(twice.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn a_period_other_than_twelve_months_sums_the_revenue_rows() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let a = customer(&app, &cast.rep_a, "A", "MEDIUM").await;
    let b = customer(&app, &cast.rep_a, "B", "MEDIUM").await;
    let rows = vec![
        row(&a, "2025-01-01", 100, 10),
        row(&a, "2025-02-01", 100, 10),
        row(&b, "2025-03-01", 50, -5),
        row(&a, "2025-04-01", 999, 9),
    ];
    app.gql(&cast.integration, UPSERT, json!({"e": rows})).await.ok();

    let q1 = app.gql(&cast.rep_a, "{ paretoReport(from: \"2025-01-01\", to: \"2025-03-31\") { customers revenue grossProfit lossMakingCustomers } }", json!({})).await;

    assert_eq!(
        q1.ok()["paretoReport"],
        json!({"customers": 2, "revenue": "250.00", "grossProfit": "15.00", "lossMakingCustomers": 1})
    );
}

/// Reads a rollup as a sorted list of its rows.
async fn rollup(app: &TestApp, table: &str, key: &str) -> Vec<(i64, String, i64, i64)> {
    use sea_orm::ConnectionTrait;
    let sql = format!(
        "SELECT {key} AS k, CAST(month AS TEXT) AS m, revenue_cents AS r, gross_profit_cents AS g FROM {table} \
         WHERE revenue_cents <> 0 OR gross_profit_cents <> 0 ORDER BY {key}, month"
    );
    let rows = app.db.query_all_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    rows.iter()
        .map(|r| {
            let m: String = r.try_get("", "m").unwrap();
            (r.try_get("", "k").unwrap(), m[..10].to_owned(), r.try_get("", "r").unwrap(), r.try_get("", "g").unwrap())
        })
        .collect()
}

#[tokio::test]
async fn the_revenue_rollups_stay_equal_to_a_rebuild_through_pushes_moves_and_archives() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (a, b, c) = (
        customer(&app, &cast.rep_a, "A", "MEDIUM").await,
        customer(&app, &cast.rep_a, "B", "MEDIUM").await,
        customer(&app, &cast.rep_b, "C", "MEDIUM").await,
    );
    let push = |rows: Vec<Value>| {
        let app = &app;
        let who = cast.integration.clone();
        async move { app.gql(&who, UPSERT, json!({"e": rows})).await.ok().clone() }
    };
    push(vec![
        row(&a, "2024-01-01", 100, 10),
        row(&a, "2024-06-01", 50, 5),
        row(&b, "2024-12-01", 70, -7),
        row(&c, "2025-01-01", 30, 3),
    ])
    .await;
    push(vec![row(&a, "2024-06-01", 80, 8), row(&b, "2025-02-01", 20, 2)]).await; // a correction and a new month
    app.gql(&cast.leader, "mutation($f: ID!, $t: ID!, $ids: [ID!]) { reassignCustomers(fromUserId: $f, toUserId: $t, customerIds: $ids) }", json!({"f": cast.rep_a.gid, "t": cast.rep_a2.gid, "ids": [b]}))
        .await
        .ok();
    app.gql(
        &cast.leader,
        "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }",
        json!({"id": c, "o": cast.rep_a.gid}),
    )
    .await
    .ok();
    app.gql(&cast.leader, "mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": a})).await.ok();
    push(vec![row(&a, "2024-07-01", 5, 1)]).await; // archived: counts nowhere
    let (t12, owners) =
        (rollup(&app, "revenue_t12", "customer_id").await, rollup(&app, "revenue_by_owner", "owner_id").await);

    rapport::service::rollups::rebuild(&app.db).await.unwrap();

    let owners_rebuilt = rollup(&app, "revenue_by_owner", "owner_id").await;
    assert_eq!(owners, owners_rebuilt);
    assert!(owners.iter().all(|(owner, ..)| *owner != cast.rep_b.id), "C's revenue moved to rep A");
    assert_eq!(owners.iter().filter(|(o, ..)| *o == cast.rep_a2.id).count(), 2, "B's two months moved to rep A2");
    // The 12-month sums of customers not archived are as rebuilt (archived ones are read by nobody).
    let live = |rows: &[(i64, String, i64, i64)]| -> Vec<(i64, String, i64, i64)> {
        rows.iter().filter(|(id, ..)| gid_of(&a) != *id).cloned().collect()
    };
    assert_eq!(live(&t12), live(&rollup(&app, "revenue_t12", "customer_id").await));
    let b_months: Vec<_> = t12.iter().filter(|(id, ..)| *id == gid_of(&b)).collect();
    assert_eq!(b_months.len(), 14, "Dec 2024 counts in 12 sums, Feb 2025 in 12, overlapping from Feb to Nov");
    assert_eq!(b_months[2].2, 9000, "Feb 2025: 70 + 20");
}

fn gid_of(id: &str) -> i64 {
    use base64::Engine;
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).unwrap()).unwrap();
    text.rsplit(':').next().unwrap().parse().unwrap()
}
