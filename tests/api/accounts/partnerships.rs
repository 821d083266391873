//! Partnership tiers with their history, and supply priorities.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn tier_changes_are_kept_in_history_and_mirrored_on_the_customer() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;

    let first = app
        .gql(&cast.rep_a, "mutation($c: ID!) { setPartnership(customerId: $c, input: {tier: PRICE, discountPercent: 7.5, creditTermsDays: 30}) { tier discountPercent version } }", json!({"c": customer}))
        .await;
    let upgraded = app
        .gql(&cast.rep_a, "mutation($c: ID!) { setPartnership(customerId: $c, expectedVersion: 1, input: {tier: STRATEGIC, lockIns: [SHARED_SYSTEMS, EQUITY], reason: \"joint development\"}) { tier lockIns version } }", json!({"c": customer}))
        .await;
    let bad_lock_in = app
        .gql(
            &cast.rep_a,
            "mutation($c: ID!) { setPartnership(customerId: $c, input: {tier: PRICE, lockIns: [EQUITY]}) { tier } }",
            json!({"c": customer}),
        )
        .await;
    let bad_discount = app
        .gql(
            &cast.rep_a,
            "mutation($c: ID!) { setPartnership(customerId: $c, input: {tier: PRICE, discountPercent: 120}) { tier } }",
            json!({"c": customer}),
        )
        .await;
    let history = app
        .gql(&cast.rep_a, "query($c: ID!) { partnershipChanges(customerId: $c) { totalCount edges { node { fromTier toTier reason } } } }", json!({"c": customer}))
        .await;
    let tiered = app
        .gql(
            &cast.rep_a,
            "{ customers(filter: {tiers: [STRATEGIC]}) { edges { node { tier partnership { tier } } } } }",
            json!({}),
        )
        .await;

    assert_eq!(first.ok()["setPartnership"]["discountPercent"], 7.5);
    assert_eq!(upgraded.ok()["setPartnership"]["lockIns"], json!(["EQUITY", "SHARED_SYSTEMS"]));
    assert_eq!(upgraded.ok()["setPartnership"]["version"], 2);
    assert_eq!(bad_lock_in.code(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_discount.code(), Some("BAD_USER_INPUT"));
    assert_eq!(history.ok()["partnershipChanges"]["totalCount"], 2);
    assert_eq!(
        history.ok()["partnershipChanges"]["edges"][0]["node"],
        json!({"fromTier": "PRICE", "toTier": "STRATEGIC", "reason": "joint development"})
    );
    assert_eq!(
        tiered.ok()["customers"]["edges"][0]["node"],
        json!({"tier": "STRATEGIC", "partnership": {"tier": "STRATEGIC"}})
    );
}

#[tokio::test]
async fn supply_priorities_are_one_per_customer_and_product_line() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let first = app.customer(&cast.rep_a, "First").await;
    let second = app.customer(&cast.rep_a, "Second").await;
    let set = |customer: &str, rank: i32| {
        let app = &app;
        let rep = cast.rep_a.clone();
        let customer = customer.to_owned();
        async move {
            app.gql(&rep, "mutation($c: ID!, $r: Int!) { setSupplyPriority(input: {customerId: $c, productLine: \"Tyres\", priorityRank: $r, guaranteedQuantity: 100}) { id priorityRank version } }", json!({"c": customer, "r": rank}))
                .await
        }
    };

    set(&second, 2).await.ok();
    set(&first, 5).await.ok();
    let replaced = set(&first, 1).await;
    let ranked = app
        .gql(
            &cast.rep_a,
            "{ supplyPriorities(productLine: \"Tyres\") { edges { node { customerId priorityRank } } } }",
            json!({}),
        )
        .await;
    let bad = app
        .gql(&cast.rep_a, "mutation($c: ID!) { setSupplyPriority(input: {customerId: $c, productLine: \"Tyres\", priorityRank: 0}) { id } }", json!({"c": first}))
        .await;

    assert_eq!(replaced.ok()["setSupplyPriority"]["version"], 2);
    assert_eq!(app.count("supply_priority").await, 2);
    let order: Vec<&str> = ranked.ok()["supplyPriorities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["customerId"].as_str().unwrap())
        .collect();
    assert_eq!(order, [first.as_str(), second.as_str()]);
    assert_eq!(bad.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn concurrent_partnership_writers_with_the_same_version_cannot_both_win() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let set = "mutation($c: ID!, $v: Int, $d: Float) { setPartnership(customerId: $c, expectedVersion: $v, input: {tier: PRICE, discountPercent: $d}) { version discountPercent } }";
    app.gql(&cast.rep_a, set, json!({"c": customer, "d": 1.0})).await.ok();

    let writers = (0..8).map(|i| app.gql(&cast.rep_a, set, json!({"c": customer, "v": 1, "d": f64::from(i) + 2.0})));
    let replies = futures_util::future::join_all(writers).await;

    let won: Vec<_> = replies.iter().filter(|r| r.code().is_none()).collect();
    assert_eq!(won.len(), 1, "exactly one writer wins");
    assert!(replies.iter().filter(|r| r.code().is_some()).all(|r| r.code() == Some("CONFLICT")));
    assert_eq!(won[0].ok()["setPartnership"]["version"], 2);
    let current = app
        .gql(
            &cast.rep_a,
            "query($id: ID!) { customer(id: $id) { partnership { version discountPercent } } }",
            json!({"id": customer}),
        )
        .await;
    assert_eq!(current.ok()["customer"]["partnership"], won[0].ok()["setPartnership"]);
}

#[tokio::test]
async fn the_audit_trail_keeps_old_and_new_terms_priorities_and_revenue() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let set = "mutation($c: ID!, $d: Float, $t: PartnershipTier!) { setPartnership(customerId: $c, input: {tier: $t, discountPercent: $d, serviceLevel: \"gold\"}) { id } }";
    app.gql(&cast.rep_a, set, json!({"c": customer, "t": "PRICE", "d": 5.0})).await.ok();
    app.gql(&cast.rep_a, set, json!({"c": customer, "t": "SERVICE", "d": 2.5})).await.ok();
    let supply = "mutation($c: ID!, $r: Int!) { setSupplyPriority(input: {customerId: $c, productLine: \"Tyres\", priorityRank: $r}) { id } }";
    app.gql(&cast.rep_a, supply, json!({"c": customer, "r": 3})).await.ok();
    app.gql(&cast.rep_a, supply, json!({"c": customer, "r": 1})).await.ok();
    let revenue = "mutation($c: ID!, $r: Money!) { upsertRevenueEntries(entries: [{customerId: $c, month: \"2026-03-01\", revenue: $r, grossProfit: \"1\"}]) { upserted } }";
    app.gql(&cast.rep_a, revenue, json!({"c": customer, "r": "100"})).await.ok();
    app.gql(&cast.rep_a, revenue, json!({"c": customer, "r": "120.50"})).await.ok();
    let log = "query($e: String!) { auditLog(filter: {entity: $e}) { edges { node { changes } } } }";

    let terms = app.gql(&cast.leader, log, json!({"e": "partnership"})).await;
    let priorities = app.gql(&cast.leader, log, json!({"e": "supply_priority"})).await;
    let rows = app.gql(&cast.leader, log, json!({"e": "revenue_entry"})).await;

    let latest = |reply: &crate::helpers::Reply| reply.ok()["auditLog"]["edges"][0]["node"]["changes"].clone();
    assert_eq!(latest(&terms)["discount_bps"], json!([500, 250]));
    assert_eq!(latest(&terms)["tier"], json!(["PRICE", "SERVICE"]));
    assert_eq!(latest(&priorities)["priority_rank"], json!([3, 1]));
    assert_eq!(latest(&rows)["changed"][0]["revenueCents"], json!([10000, 12050]));
    let first_push = &rows.ok()["auditLog"]["edges"][1]["node"]["changes"]["changed"][0];
    assert_eq!(first_push["revenueCents"], json!([null, 10000]));
}
