//! The demo tells the same story whatever the day it is seeded: its dates
//! are relative to that day, and it holds what the reports and the graph
//! need to show something.

use chrono::{Datelike, Months};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_demo_is_dated_from_the_seeding_day_and_has_something_for_every_report() {
    let app = TestApp::spawn().await;
    rapport::seed::seed_demo(&app.db, None).await.unwrap();
    let today = chrono::Utc::now().date_naive();
    let this_month = today.with_day(1).unwrap();
    let leader = app.scalar("SELECT id FROM app_user WHERE email = 'leader@rapport.demo'").await;
    let token = app.token(leader);

    // Three years of history, up to the last complete month.
    let months = app.scalar("SELECT COUNT(DISTINCT month) FROM revenue_entry").await;
    assert_eq!(months, 48, "a year before the three years, then the three years");
    let from = (this_month - Months::new(36) - chrono::Duration::days(1)).to_string();
    let to = (this_month - chrono::Duration::days(1)).to_string();
    let report = app
        .gql_as(
            Some(&token),
            "query($f: Date!, $t: Date!) { retentionReport(from: $f, to: $t) { total { customersAtStart gained lost } }
               upcomingCareDates(days: 42) { kind } }",
            json!({"f": from, "t": to}),
        )
        .await;
    let data = report.ok();
    assert_eq!(data["retentionReport"]["total"], json!({"customersAtStart": 180, "gained": 18, "lost": 72}));
    let key_dates = data["upcomingCareDates"].as_array().unwrap().iter().filter(|d| d["kind"] == "KEY_DATE").count();
    assert!(key_dates >= 10, "key dates in the coming six weeks: {key_dates}");

    let last_revenue = app
        .scalar(&format!("SELECT COUNT(*) FROM revenue_entry WHERE month = '{}'", this_month - Months::new(1)))
        .await;
    let this_months = app.scalar(&format!("SELECT COUNT(*) FROM revenue_entry WHERE month >= '{this_month}'")).await;
    assert!(
        last_revenue > 100 && this_months == 0,
        "revenue up to last month: {last_revenue}, this month: {this_months}"
    );
    let in_peak = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM supply_priority WHERE peak_starts_on <= '{today}' AND peak_ends_on >= '{today}'"
        ))
        .await;
    assert_eq!(in_peak, app.count("supply_priority").await, "the peak season is under way");
    assert!(app.scalar("SELECT COUNT(*) FROM customer WHERE parent_id IS NOT NULL").await >= 9, "groups");
    assert!(app.scalar("SELECT COUNT(*) FROM customer_link WHERE kind = 'DISTRIBUTES_TO'").await >= 10);
    assert!(app.scalar("SELECT COUNT(*) FROM customer_link WHERE kind = 'REFERRED_BY'").await >= 5);
    assert!(app.scalar("SELECT COUNT(DISTINCT customer_id) FROM survey_response").await >= 50, "survey answers");
}
