//! `upcomingCareDates`: birthdays and customer anniversaries in a window, across a year end and on 29 February.

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const CARE: &str = "query($from: Date!, $days: Int!) { upcomingCareDates(from: $from, days: $days) {
  date daysAway kind customerName contactName since years } }";

async fn born(app: &TestApp, who: &Person, contact: &str, birthday: Option<&str>, ended_on: Option<&str>) {
    app.gql(
        who,
        "mutation($id: ID!, $b: Date, $e: Date) { updateContact(id: $id, input: {birthday: $b, endedOn: $e}) { id } }",
        json!({"id": contact, "b": birthday, "e": ended_on}),
    )
    .await
    .ok();
}

async fn since(app: &TestApp, who: &Person, customer: &str, date: &str) {
    app.gql(
        who,
        "mutation($id: ID!, $d: Date) { updateCustomer(id: $id, input: {customerSince: $d}) { id } }",
        json!({"id": customer, "d": date}),
    )
    .await
    .ok();
}

fn summary(reply: &Value) -> Vec<(String, i64, String, String, i64)> {
    reply["upcomingCareDates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let who = c["contactName"].as_str().or(c["customerName"].as_str()).unwrap().to_owned();
            (
                c["date"].as_str().unwrap().to_owned(),
                c["daysAway"].as_i64().unwrap(),
                c["kind"].as_str().unwrap().to_owned(),
                who,
                c["years"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_window_crosses_the_year_end_and_leaves_out_who_left() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let ana = app.contact(&cast.rep_a, &acme, "Ana", "PURCHASING").await;
    let bo = app.contact(&cast.rep_a, &acme, "Bo", "EXECUTIVE").await;
    let cy = app.contact(&cast.rep_a, &acme, "Cy", "MANAGEMENT").await;
    born(&app, &cast.rep_a, &ana, Some("1980-01-03"), None).await;
    born(&app, &cast.rep_a, &bo, Some("1975-12-28"), None).await;
    // Cy left the customer: no birthday call.
    born(&app, &cast.rep_a, &cy, Some("1990-12-30"), Some("2026-06-30")).await;
    since(&app, &cast.rep_a, &acme, "2016-12-26").await;
    // Another rep's customer, and a date just outside the window.
    let other = app.customer(&cast.rep_b, "Other").await;
    since(&app, &cast.rep_b, &other, "2020-12-27").await;
    let late = app.contact(&cast.rep_a, &acme, "Late", "MANAGEMENT").await;
    born(&app, &cast.rep_a, &late, Some("1985-01-08"), None).await;

    // From 25 December 2026 for 14 days: up to 7 January 2027.
    let reply = app.gql(&cast.rep_a, CARE, json!({"from": "2026-12-25", "days": 14})).await;

    assert_eq!(
        summary(reply.ok()),
        vec![
            ("2026-12-26".to_owned(), 1, "CUSTOMER_ANNIVERSARY".to_owned(), "Acme".to_owned(), 10),
            ("2026-12-28".to_owned(), 3, "BIRTHDAY".to_owned(), "Bo".to_owned(), 51),
            ("2027-01-03".to_owned(), 9, "BIRTHDAY".to_owned(), "Ana".to_owned(), 47),
        ]
    );
    let leader = app.gql(&cast.leader, CARE, json!({"from": "2026-12-25", "days": 14})).await;
    assert!(summary(leader.ok()).iter().any(|c| c.3 == "Other"), "leadership sees every customer");
}

#[tokio::test]
async fn a_leap_day_birthday_falls_on_the_28th_in_other_years() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let leap = app.contact(&cast.rep_a, &acme, "Leap", "PURCHASING").await;
    born(&app, &cast.rep_a, &leap, Some("1992-02-29"), None).await;

    let plain = app.gql(&cast.rep_a, CARE, json!({"from": "2027-02-27", "days": 3})).await;
    let leap_year = app.gql(&cast.rep_a, CARE, json!({"from": "2028-02-27", "days": 3})).await;

    assert_eq!(summary(plain.ok()), vec![("2027-02-28".to_owned(), 1, "BIRTHDAY".to_owned(), "Leap".to_owned(), 35)]);
    assert_eq!(
        summary(leap_year.ok()),
        vec![("2028-02-29".to_owned(), 2, "BIRTHDAY".to_owned(), "Leap".to_owned(), 36)]
    );
}

#[tokio::test]
async fn bad_windows_are_refused_and_others_customers_stay_hidden() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let theirs = app.customer(&cast.rep_b, "Theirs").await;
    since(&app, &cast.rep_b, &theirs, "2020-03-02").await;

    let zero = app.gql(&cast.rep_a, CARE, json!({"from": "2026-03-01", "days": 0})).await;
    let too_long = app.gql(&cast.rep_a, CARE, json!({"from": "2026-03-01", "days": 367})).await;
    let mine = app.gql(&cast.rep_a, CARE, json!({"from": "2026-03-01", "days": 14})).await;
    let owner = app.gql(&cast.rep_b, CARE, json!({"from": "2026-03-01", "days": 14})).await;

    assert_eq!(zero.code(), Some("BAD_USER_INPUT"));
    assert_eq!(too_long.code(), Some("BAD_USER_INPUT"));
    assert_eq!(summary(mine.ok()), vec![]);
    assert_eq!(summary(owner.ok()).len(), 1);
}

#[tokio::test]
async fn key_dates_show_once_or_every_year_until_archived() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let pat = app.contact(&cast.rep_a, &acme, "Pat", "MANAGEMENT").await;
    let record = |kind: &str, date: &str, recurring: bool, contact: Option<&str>| json!({"input": {"customerId": acme, "contactId": contact, "kind": kind, "date": date, "recurring": recurring, "note": "call"}});
    let mutation = "mutation($input: KeyDateInput!) { recordKeyDate(input: $input) { id kind date recurring } }";
    let renewal = app.gql(&cast.rep_a, mutation, record("CONTRACT_RENEWAL", "2025-01-05", true, Some(&pat))).await;
    let renewal = renewal.ok()["recordKeyDate"]["id"].as_str().unwrap().to_owned();
    app.gql(&cast.rep_a, mutation, record("PROJECT_START", "2027-01-02", false, None)).await.ok();
    // Once, and already past: never again.
    app.gql(&cast.rep_a, mutation, record("OTHER", "2025-12-30", false, None)).await.ok();
    let query = "query($from: Date!) { upcomingCareDates(from: $from, days: 14) { date kind contactName years keyDate { kind note } } }";

    let before = app.gql(&cast.rep_a, query, json!({"from": "2026-12-25"})).await;
    let archived = app
        .gql(&cast.rep_a, "mutation($id: ID!) { archiveKeyDate(id: $id) { archivedAt } }", json!({"id": renewal}))
        .await;
    let after = app.gql(&cast.rep_a, query, json!({"from": "2026-12-25"})).await;
    let audited = app.count("audit_log WHERE entity = 'key_date'").await;
    let intruder =
        app.gql(&cast.rep_b, "mutation($id: ID!) { archiveKeyDate(id: $id) { id } }", json!({"id": renewal})).await;

    assert_eq!(
        before.ok()["upcomingCareDates"],
        json!([
            {"date": "2027-01-02", "kind": "KEY_DATE", "contactName": null, "years": 0, "keyDate": {"kind": "PROJECT_START", "note": "call"}},
            {"date": "2027-01-05", "kind": "KEY_DATE", "contactName": "Pat", "years": 2, "keyDate": {"kind": "CONTRACT_RENEWAL", "note": "call"}},
        ])
    );
    assert!(archived.ok()["archiveKeyDate"]["archivedAt"].is_string());
    assert_eq!(after.ok()["upcomingCareDates"].as_array().unwrap().len(), 1);
    assert_eq!(audited, 4, "three recorded, one archived");
    assert_eq!(intruder.code(), Some("NOT_FOUND"));
}
