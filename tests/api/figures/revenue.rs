//! Bulk revenue: idempotent on customer and month, all or nothing, capped.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const UPSERT: &str = "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }";

fn entry(customer: &str, month: &str, revenue: &str) -> Value {
    json!({"customerId": customer, "month": month, "revenue": revenue, "grossProfit": "10.00"})
}

#[tokio::test]
async fn revenue_upserts_are_idempotent() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let batch = json!([entry(&customer, "2026-01-01", "1000.00"), entry(&customer, "2026-02-01", "2000.5")]);

    let first = app.gql(&cast.integration, UPSERT, json!({"e": batch})).await;
    let again = app.gql(&cast.integration, UPSERT, json!({"e": batch})).await;
    let corrected = app.gql(&cast.integration, UPSERT, json!({"e": [entry(&customer, "2026-02-01", "2500")]})).await;
    let listed = app.gql(&cast.rep_a, "query($c: ID!) { revenueEntries(customerId: $c) { totalCount edges { node { month revenue grossProfit } } } }", json!({"c": customer})).await;

    assert_eq!(first.ok()["upsertRevenueEntries"]["upserted"], 2);
    assert_eq!(again.ok()["upsertRevenueEntries"]["upserted"], 2);
    corrected.ok();
    assert_eq!(app.count("revenue_entry").await, 2);
    let rows = &listed.ok()["revenueEntries"];
    assert_eq!(rows["totalCount"], 2);
    assert_eq!(rows["edges"][1]["node"], json!({"month": "2026-02-01", "revenue": "2500.00", "grossProfit": "10.00"}));
}

#[tokio::test]
async fn one_bad_row_rejects_the_whole_batch() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;

    let mid_month = app
        .gql(
            &cast.integration,
            UPSERT,
            json!({"e": [entry(&customer, "2026-01-01", "1"), entry(&customer, "2026-02-15", "1")]}),
        )
        .await;
    let duplicate = app
        .gql(
            &cast.integration,
            UPSERT,
            json!({"e": [entry(&customer, "2026-01-01", "1"), entry(&customer, "2026-01-01", "2")]}),
        )
        .await;
    let unknown = app.gql(&cast.integration, UPSERT, json!({"e": [entry(&customer, "2026-01-01", "1"), entry(&crate::helpers::gid("Customer", 999_999), "2026-01-01", "1")]})).await;
    let empty = app.gql(&cast.integration, UPSERT, json!({"e": []})).await;

    assert_eq!(mid_month.code(), Some("BAD_USER_INPUT"));
    assert_eq!(mid_month.body["errors"][0]["extensions"]["field"], "entries[1].month");
    assert_eq!(duplicate.code(), Some("BAD_USER_INPUT"));
    assert_eq!(unknown.code(), Some("BAD_USER_INPUT"));
    assert_eq!(unknown.body["errors"][0]["extensions"]["field"], "entries[1].customerId");
    assert_eq!(empty.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("revenue_entry").await, 0);
}

#[tokio::test]
async fn a_thousand_rows_are_accepted_and_more_are_refused() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let mut customers = Vec::new();
    for i in 0..10 {
        customers.push(app.customer(&cast.leader, &format!("C{i}")).await);
    }
    let rows = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                let month = chrono::NaiveDate::from_ymd_opt(1950 + (i / 10 / 12) as i32, 1 + ((i / 10) % 12) as u32, 1)
                    .unwrap();
                entry(&customers[i % 10], &month.to_string(), "99.99")
            })
            .collect()
    };

    let thousand = app.gql(&cast.integration, UPSERT, json!({"e": rows(1000)})).await;
    let too_many = app.gql(&cast.integration, UPSERT, json!({"e": rows(1001)})).await;

    assert_eq!(thousand.ok()["upsertRevenueEntries"]["upserted"], 1000);
    assert_eq!(too_many.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("revenue_entry").await, 1000);
}

/// Runs `rapport <args>` on this test's database; its exit status and output.
async fn rapport(app: &TestApp, args: &[&str]) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"));
    command.args(args).envs(app.process_env()).env("RUST_LOG", "error");
    let output = crate::helpers::output(command).await;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn concurrent_overlapping_pushes_leave_the_rollups_equal_to_a_rebuild() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let mut customers = Vec::new();
    for name in ["A", "B", "C"] {
        customers.push(app.customer(&cast.rep_a, name).await);
    }
    // Eight pushes at once, each over the same customers and overlapping months, with its own figures.
    let pushes = (0..8).map(|p| {
        let rows: Vec<Value> = customers
            .iter()
            .flat_map(|c| {
                (0..6).map(move |m| {
                    let month = (p / 2 + m) % 12 + 1;
                    json!({"customerId": c, "month": format!("2025-{month:02}-01"),
                           "revenue": format!("{}.00", 100 * (p + 1) + m), "grossProfit": format!("{}.00", p + m)})
                })
            })
            .collect();
        let app = &app;
        let who = &cast.leader;
        async move {
            app.gql(
                who,
                "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }",
                json!({"e": rows}),
            )
            .await
        }
    });
    for reply in futures_util::future::join_all(pushes).await {
        assert!(reply.code().is_none() || reply.code() == Some("SERVICE_UNAVAILABLE"), "{}", reply.body);
    }
    let drift = rapport::service::rollups::check(&app.db).await.unwrap();
    assert!(drift.is_none(), "the rollups drifted: {drift:?}");

    // The operators' commands say the same, and repair a drift.
    let (ok, text) = rapport(&app, &["rollups", "check"]).await;
    assert!(ok, "{text}");
    app.db.execute_unprepared("UPDATE revenue_t12 SET revenue_cents = revenue_cents + 1").await.unwrap();
    let (ok, text) = rapport(&app, &["rollups", "check"]).await;
    assert!(!ok, "a drift fails the check: {text}");
    assert!(text.contains("drifted"), "{text}");
    let (ok, text) = rapport(&app, &["rollups", "rebuild"]).await;
    assert!(ok, "{text}");
    assert!(rapport::service::rollups::check(&app.db).await.unwrap().is_none());
}
