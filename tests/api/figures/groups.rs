//! Group roll-ups: a parent and its subsidiaries as one account, as far as
//! each viewer sees them, against figures worked out by hand.

use chrono::{Datelike, Duration, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, raw_id};

const GROUP: &str = r#"query($c: ID!) { customer(id: $c) { group { top { name } customers revenueLast12Months
  grossProfitLast12Months openTickets slaBreachedTickets overdueCommitments worstHealthScore worstHealthLevel
  revenueWeightedHealthScore membersAtRisk { name } } } }"#;

async fn group(app: &TestApp, who: &Person, customer: &str) -> Value {
    app.gql(who, GROUP, json!({"c": customer})).await.ok()["customer"]["group"].clone()
}

#[tokio::test]
async fn a_group_adds_up_what_each_viewer_sees_of_it() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let create = |name: &'static str, owner: &Person, parent: Option<String>| {
        let (app, leader, owner) = (&app, &cast.leader, owner.gid.clone());
        async move {
            let reply = app
                .gql(leader, "mutation($n: String!, $o: ID!, $p: ID) { createCustomer(input: {name: $n, ownerId: $o, parentId: $p, status: ACTIVE}) { id } }", json!({"n": name, "o": owner, "p": parent}))
                .await;
            reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned()
        }
    };
    // Parent (rep A) > Sub One (rep A) > Sub One A (rep A); Parent > Sub Two (rep A2); Other stands alone.
    let parent = create("Parent", &cast.rep_a, None).await;
    let one = create("Sub One", &cast.rep_a, Some(parent.clone())).await;
    let two = create("Sub Two", &cast.rep_a2, Some(parent.clone())).await;
    let one_a = create("Sub One A", &cast.rep_a, Some(one.clone())).await;
    let other = create("Other", &cast.rep_a, None).await;
    let last_month = {
        let today = Utc::now().date_naive();
        let first = today.with_day(1).unwrap();
        (first - Duration::days(1)).with_day(1).unwrap()
    };
    let entries: Vec<Value> = [
        (&parent, "1000.00", "300.00"),
        (&one, "500.00", "100.00"),
        (&two, "2000.00", "500.00"),
        (&one_a, "250.00", "50.00"),
        (&other, "9999.00", "999.00"),
    ]
    .iter()
    .map(|(c, r, g)| json!({"customerId": c, "month": last_month.to_string(), "revenue": r, "grossProfit": g}))
    .collect();
    app.gql(
        &cast.leader,
        "mutation($e: [RevenueEntryInput!]!) { upsertRevenueEntries(entries: $e) { upserted } }",
        json!({"e": entries}),
    )
    .await
    .ok();
    let ticket = |customer: String| {
        let (app, leader) = (&app, &cast.leader);
        async move {
            let reply = app
                .gql(leader, r#"mutation($c: ID!) { createTicket(input: {customerId: $c, title: "t", description: "d", category: QUALITY}) { id } }"#, json!({"c": customer}))
                .await;
            reply.ok()["createTicket"]["id"].as_str().unwrap().to_owned()
        }
    };
    ticket(one.clone()).await;
    let late = ticket(two.clone()).await;
    app.set_time(
        "ticket",
        "first_response_due_at",
        Utc::now() - Duration::hours(2),
        &format!("id = {}", raw_id(&late)),
    )
    .await;
    ticket(other.clone()).await;
    app.gql(&cast.leader, r#"mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: "r", dueOn: "2026-01-01"}) { id } }"#, json!({"c": one_a}))
        .await
        .ok();
    // Scores set by hand once the snapshot has caught up with the writes above.
    app.gql(&cast.leader, "{ atRiskCustomers { totalCount } }", json!({})).await.ok();
    for (customer, score, level) in [
        (&parent, 80, "HEALTHY"),
        (&one, 50, "AT_RISK"),
        (&two, 30, "CRITICAL"),
        (&one_a, 70, "WATCH"),
        (&other, 10, "CRITICAL"),
    ] {
        app.db
            .execute_unprepared(&format!(
                "UPDATE customer_health SET score = {score}, level = '{level}' WHERE customer_id = {}",
                raw_id(customer)
            ))
            .await
            .unwrap();
    }

    // Leadership sees the whole group from any member. Weighted: (80*1000 + 50*500 + 30*2000 + 70*250) / 3750 = 48.67.
    let whole = json!({
        "top": {"name": "Parent"}, "customers": 4, "revenueLast12Months": "3750.00", "grossProfitLast12Months": "950.00",
        "openTickets": 2, "slaBreachedTickets": 1, "overdueCommitments": 1, "worstHealthScore": 30,
        "worstHealthLevel": "CRITICAL", "revenueWeightedHealthScore": 48.7,
        "membersAtRisk": [{"name": "Sub One"}, {"name": "Sub Two"}]
    });
    assert_eq!(group(&app, &cast.leader, &one_a).await, whole);
    assert_eq!(group(&app, &cast.leader, &parent).await, whole);
    // Rep A does not see Sub Two: (80*1000 + 50*500 + 70*250) / 1750 = 70.
    assert_eq!(
        group(&app, &cast.rep_a, &one).await,
        json!({
            "top": {"name": "Parent"}, "customers": 3, "revenueLast12Months": "1750.00", "grossProfitLast12Months": "450.00",
            "openTickets": 1, "slaBreachedTickets": 0, "overdueCommitments": 1, "worstHealthScore": 50,
            "worstHealthLevel": "AT_RISK", "revenueWeightedHealthScore": 70.0, "membersAtRisk": [{"name": "Sub One"}]
        })
    );
    // Rep A2 sees Sub Two alone: its parent is out of view, so it heads its own group.
    assert_eq!(
        group(&app, &cast.rep_a2, &two).await,
        json!({
            "top": {"name": "Sub Two"}, "customers": 1, "revenueLast12Months": "2000.00", "grossProfitLast12Months": "500.00",
            "openTickets": 1, "slaBreachedTickets": 1, "overdueCommitments": 0, "worstHealthScore": 30,
            "worstHealthLevel": "CRITICAL", "revenueWeightedHealthScore": 30.0, "membersAtRisk": [{"name": "Sub Two"}]
        })
    );
    // A customer alone is a group of one; a page of customers asks once.
    assert_eq!(group(&app, &cast.rep_a, &other).await["customers"], 1);
    app.reset_statements();
    let page = app
        .gql(&cast.leader, "{ customers(first: 10) { nodes { name group { customers top { name } } } } }", json!({}))
        .await;
    let statements = app.statements();
    let tops: Vec<(String, i64)> = page.ok()["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_owned(), n["group"]["customers"].as_i64().unwrap()))
        .collect();
    assert_eq!(tops.len(), 5);
    assert!(tops.iter().all(|(name, n)| if name == "Other" { *n == 1 } else { *n == 4 }), "{tops:?}");
    assert!(statements <= 6, "{statements} statements for a page of groups");
}

/// Reports split by group: each customer counts under its top visible
/// ancestor, by the hierarchy as it is now.
#[tokio::test]
async fn reports_split_by_group_under_the_top_visible_ancestor() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let create = |name: &'static str, owner: &Person, parent: Option<String>| {
        let (app, leader, owner) = (&app, &cast.leader, owner.gid.clone());
        async move {
            let reply = app
                .gql(leader, "mutation($n: String!, $o: ID!, $p: ID) { createCustomer(input: {name: $n, ownerId: $o, parentId: $p, status: ACTIVE, customerSince: \"2020-01-01\"}) { id } }", json!({"n": name, "o": owner, "p": parent}))
                .await;
            reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned()
        }
    };
    let parent = create("Parent", &cast.rep_a, None).await;
    let one = create("Sub One", &cast.rep_a, Some(parent.clone())).await;
    let two = create("Sub Two", &cast.rep_a2, Some(parent.clone())).await;
    create("Sub One A", &cast.rep_a, Some(one.clone())).await;
    create("Other", &cast.rep_a, None).await;
    app.gql(
        &cast.leader,
        "mutation($c: ID!) { markCustomerLost(id: $c, reason: PRICE) { customer { id } } }",
        json!({"c": two}),
    )
    .await
    .ok();

    let report = "query($to: Date!) { retentionReport(from: \"2025-01-01\", to: $to, groupBy: GROUP) { groups { key label figures { customersAtStart lost customersAtEnd } } } }";
    let to = json!({"to": Utc::now().date_naive().to_string()});
    let leader = app.gql(&cast.leader, report, to.clone()).await;
    assert_eq!(
        leader.ok()["retentionReport"]["groups"],
        json!([
            {"key": format!("Customer:{}", raw_id(&app_other(&app).await)), "label": "Other", "figures": {"customersAtStart": 1, "lost": 0, "customersAtEnd": 1}},
            {"key": format!("Customer:{}", raw_id(&parent)), "label": "Parent", "figures": {"customersAtStart": 4, "lost": 1, "customersAtEnd": 3}},
        ])
    );
    // Rep A2 sees Sub Two alone: it heads its own group.
    let rep = app.gql(&cast.rep_a2, report, to).await;
    assert_eq!(
        rep.ok()["retentionReport"]["groups"],
        json!([{"key": format!("Customer:{}", raw_id(&two)), "label": "Sub Two", "figures": {"customersAtStart": 1, "lost": 1, "customersAtEnd": 0}}])
    );

    let aggregates = "{ customerAggregates(groupBy: [GROUP]) { group { name } customers } }";
    let by_group = app.gql(&cast.leader, aggregates, json!({})).await;
    let mut rows: Vec<(String, i64)> = by_group.ok()["customerAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["group"]["name"].as_str().unwrap().to_owned(), r["customers"].as_i64().unwrap()))
        .collect();
    rows.sort();
    assert_eq!(rows, [("Other".to_owned(), 1), ("Parent".to_owned(), 4)]);
    let of_rep_a = app.gql(&cast.rep_a, aggregates, json!({})).await;
    let mut rows: Vec<(String, i64)> = of_rep_a.ok()["customerAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["group"]["name"].as_str().unwrap().to_owned(), r["customers"].as_i64().unwrap()))
        .collect();
    rows.sort();
    assert_eq!(rows, [("Other".to_owned(), 1), ("Parent".to_owned(), 3)]);
}

async fn app_other(app: &TestApp) -> String {
    let id = app.scalar("SELECT id FROM customer WHERE name = 'Other'").await;
    crate::helpers::gid("Customer", id)
}
