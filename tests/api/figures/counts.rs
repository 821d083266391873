//! The customer list's `totalCount`, read from the counts kept per owner and
//! status: equal to the rows the list returns, whichever writer changed them
//! (mutations, upserts, reassignment, deactivation, archiving, plain SQL),
//! for every viewer and filter, and equal to `COUNT(*)` after concurrent writers.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Cast, Person, TestApp, gid, raw_id};

const LIST: &str =
    "query($f: CustomerFilterInput) { customers(first: 100, filter: $f) { totalCount edges { node { id } } } }";

/// `totalCount` and the number of rows of the same list (every list here fits one page).
async fn counted(app: &TestApp, viewer: &Person, filter: Value) -> (u64, usize) {
    let reply = app.gql(viewer, LIST, json!({"f": filter})).await;
    let list = &reply.ok()["customers"];
    (list["totalCount"].as_u64().expect("totalCount"), list["edges"].as_array().expect("edges").len())
}

async fn create(app: &TestApp, who: &Person, owner: &Person, name: &str, status: &str) -> String {
    let reply = app
        .gql(
            who,
            "mutation($n: String!, $o: ID!, $s: CustomerStatus) { createCustomer(input: {name: $n, ownerId: $o, status: $s}) { id } }",
            json!({"n": name, "o": owner.gid, "s": status}),
        )
        .await;
    reply.ok()["createCustomer"]["id"].as_str().expect("id").to_owned()
}

/// Every viewer and filter: the count is the number of rows listed.
async fn assert_counts_match_the_lists(app: &TestApp, cast: &Cast) {
    let team_a: i64 = app.scalar(&format!("SELECT team_id FROM app_user WHERE id = {}", cast.lead_a.id)).await;
    let filters = [
        json!({}),
        json!({"statuses": ["ACTIVE"]}),
        json!({"statuses": ["LOST", "PROSPECT"]}),
        json!({"ownerId": cast.rep_a.gid}),
        json!({"ownerId": cast.rep_b.gid, "statuses": ["ACTIVE"]}),
        json!({"teamId": gid("Team", team_a)}),
        json!({"teamId": gid("Team", cast.team_b), "statuses": ["ACTIVE", "LOST"]}),
        // Not served by the kept counts: counted over the rows.
        json!({"includeArchived": true}),
        json!({"search": "co"}),
    ];
    for viewer in [&cast.leader, &cast.lead_a, &cast.rep_a, &cast.rep_b] {
        for filter in &filters {
            let (total, rows) = counted(app, viewer, filter.clone()).await;
            assert_eq!(total, rows as u64, "viewer {} with filter {filter}", viewer.id);
        }
    }
}

#[tokio::test]
async fn total_count_follows_every_writer() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let mut ids = Vec::new();
    for (i, owner) in [&cast.rep_a, &cast.rep_a2, &cast.rep_b, &cast.rep_a, &cast.rep_b].into_iter().enumerate() {
        ids.push(create(&app, &cast.leader, owner, &format!("Acme {i}"), "ACTIVE").await);
    }
    ids.push(create(&app, &cast.leader, &cast.rep_b, "Cobalt prospect", "PROSPECT").await);
    let (total, _) = counted(&app, &cast.leader, json!({"statuses": ["ACTIVE"]})).await;
    assert_eq!(total, 5, "five active customers were created");

    // Bulk upsert by external id: 12 new, then the same 12 again (no change in the counts).
    let rows: Vec<Value> = (0..12)
        .map(|i| json!({"externalId": format!("erp-{i}"), "name": format!("Erp {i}"), "ownerId": cast.rep_b.gid}))
        .collect();
    let upsert =
        "mutation($c: [CustomerUpsertInput!]!) { upsertCustomers(source: \"erp\", customers: $c) { created } }";
    app.gql(&cast.leader, upsert, json!({"c": rows})).await.ok();
    app.gql(&cast.leader, upsert, json!({"c": rows})).await.ok();
    let (total, _) = counted(&app, &cast.rep_b, json!({"statuses": ["ACTIVE"]})).await;
    assert_eq!(total, 2 + 12, "rep B's own two and the twelve upserted");

    // Status, archiving, reassignment, deactivation.
    let lost = "mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { status } } }";
    app.gql(&cast.leader, lost, json!({"id": ids[0]})).await.ok();
    app.gql(&cast.leader, "mutation($id: ID!) { archiveCustomer(id: $id) { archivedAt } }", json!({"id": ids[2]}))
        .await
        .ok();
    app.gql(
        &cast.leader,
        "mutation($f: ID!, $t: ID!, $c: [ID!]) { reassignCustomers(fromUserId: $f, toUserId: $t, customerIds: $c) }",
        json!({"f": cast.rep_a.gid, "t": cast.rep_b.gid, "c": [ids[3]]}),
    )
    .await
    .ok();
    app.gql(
        &cast.leader,
        "mutation($u: ID!, $t: ID!) { deactivateUser(id: $u, reassignTo: $t) { active } }",
        json!({"u": cast.rep_a2.gid, "t": cast.rep_a.gid}),
    )
    .await
    .ok();

    // Rows loaded by plain SQL, as an integration may: counted without a refresh.
    for (name, status) in [("Loaded one", "ACTIVE"), ("Loaded two", "LOST")] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO customer (name, status, owner_id, strategic_importance, version, created_at, updated_at) \
                 SELECT '{name}', '{status}', {a}, strategic_importance, 1, created_at, updated_at FROM customer \
                 WHERE id = {from}",
                a = cast.rep_a.id,
                from = raw_id(&ids[0])
            ))
            .await
            .unwrap();
    }
    app.db
        .execute_unprepared(&format!("UPDATE customer SET status = 'LOST' WHERE id = {}", raw_id(&ids[5])))
        .await
        .unwrap();

    assert_counts_match_the_lists(&app, &cast).await;
    // By hand: A0 lost, A1 moved from rep A2 to rep A, A2 archived, A3 moved to rep B, A4 rep B's,
    // Cobalt (a prospect) lost by SQL, twelve upserted for rep B, and two loaded for rep A.
    let (active, _) = counted(&app, &cast.rep_a, json!({"statuses": ["ACTIVE"]})).await;
    assert_eq!(active, 2, "A1 and Loaded one");
    let (active, _) = counted(&app, &cast.rep_b, json!({"statuses": ["ACTIVE"]})).await;
    assert_eq!(active, 14, "A3, A4 and the twelve");
    let (lost, _) = counted(&app, &cast.leader, json!({"statuses": ["LOST"]})).await;
    assert_eq!(lost, 3, "A0, Cobalt and Loaded two");

    // Folding the rows of differences changes no count; a check finds no drift.
    rapport::service::customer_counts::fold(&app.db).await.unwrap();
    assert_counts_match_the_lists(&app, &cast).await;
    assert!(rapport::service::rollups::check(&app.db).await.unwrap().is_none());

    // A drift (rows written around the triggers) is found and repaired by a rebuild.
    app.db.execute_unprepared("DELETE FROM customer_count").await.unwrap();
    assert!(rapport::service::rollups::check(&app.db).await.unwrap().customer_counts > 0);
    rapport::service::rollups::rebuild(&app.db).await.unwrap();
    assert!(rapport::service::rollups::check(&app.db).await.unwrap().is_none());
    assert_counts_match_the_lists(&app, &cast).await;
}

#[tokio::test]
async fn eight_concurrent_writers_leave_the_kept_counts_equal_to_count_star() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let owners = [&cast.rep_a, &cast.rep_a2, &cast.rep_b];
    let mut shared = Vec::new();
    for i in 0..6 {
        shared.push(create(&app, &cast.leader, owners[i % 3], &format!("Shared {i}"), "ACTIVE").await);
    }
    // Eight writers at once, each creating, upserting, losing, archiving and reassigning, over the
    // same owners and partly the same customers, while the counts are folded.
    let writers = (0..8).map(|w| {
        let (app, cast, shared) = (&app, &cast, &shared);
        async move {
            let mut replies = Vec::new();
            for i in 0..3 {
                let owner = [&cast.rep_a, &cast.rep_a2, &cast.rep_b][(w + i) % 3];
                let id = create(app, &cast.leader, owner, &format!("W{w} {i}"), "ACTIVE").await;
                if i == 1 {
                    let lost =
                        "mutation($id: ID!) { markCustomerLost(id: $id, reason: PRICE) { customer { status } } }";
                    replies.push(app.gql(&cast.leader, lost, json!({"id": id})).await);
                }
            }
            let bulk_owner = if w % 2 == 0 { &cast.rep_a.gid } else { &cast.rep_b.gid };
            let rows: Vec<Value> = (0..5)
                .map(|i| {
                    json!({"externalId": format!("w{}-{i}", w % 4), "name": format!("Bulk {w} {i}"),
                           "ownerId": bulk_owner})
                })
                .collect();
            let upsert =
                "mutation($c: [CustomerUpsertInput!]!) { upsertCustomers(source: \"erp\", customers: $c) { created } }";
            replies.push(app.gql(&cast.leader, upsert, json!({"c": rows})).await);
            let archive = "mutation($id: ID!) { archiveCustomer(id: $id) { archivedAt } }";
            replies.push(app.gql(&cast.leader, archive, json!({"id": shared[w % 6]})).await);
            let (from, to) = if w % 2 == 0 { (&cast.rep_a, &cast.rep_b) } else { (&cast.rep_b, &cast.rep_a) };
            let reassign = "mutation($f: ID!, $t: ID!) { reassignCustomers(fromUserId: $f, toUserId: $t) }";
            replies.push(app.gql(&cast.leader, reassign, json!({"f": from.gid, "t": to.gid})).await);
            if w == 4 {
                rapport::service::customer_counts::fold(&app.db).await.unwrap();
            }
            replies
        }
    });
    for reply in futures_util::future::join_all(writers).await.into_iter().flatten() {
        // Two writers may meet on the same row: a conflict is an answer, a wrong count is not.
        assert!(
            reply.code().is_none() || matches!(reply.code(), Some("SERVICE_UNAVAILABLE" | "CONFLICT" | "NOT_FOUND")),
            "{}",
            reply.body
        );
    }
    let drift = rapport::service::rollups::check(&app.db).await.unwrap();
    assert_eq!(drift.customer_counts, 0, "the kept counts drifted: {drift:?}");
    let live = app.scalar("SELECT COUNT(*) FROM customer WHERE archived_at IS NULL").await;
    let kept = app.scalar("SELECT CAST(COALESCE(SUM(customers), 0) AS BIGINT) FROM customer_count").await;
    assert_eq!(kept, live);
    assert_counts_match_the_lists(&app, &cast).await;
}
