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
