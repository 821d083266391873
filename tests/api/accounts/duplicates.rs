//! Duplicates: candidate pairs found by their keys and scored with reasons,
//! scoped by the viewer and current with every write path; merges that move
//! everything onto the survivor and leave the merged rows as aliases.

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, raw_id};

const CANDIDATES: &str = "query($e: DuplicateEntity!, $first: Int, $after: String) {
    duplicateCandidates(entity: $e, first: $first, after: $after) {
        totalCount nodes { score reasons ids } pageInfo { hasNextPage endCursor } } }";

async fn candidates(app: &TestApp, who: &Person, entity: &str) -> Value {
    let reply = app.gql(who, CANDIDATES, json!({"e": entity, "first": 100})).await;
    reply.ok()["duplicateCandidates"].clone()
}

/// The pairs as (score, sorted names, reasons), best first.
async fn named_pairs(app: &TestApp, who: &Person, names: &[(String, &str)]) -> Vec<(f64, String, Vec<String>)> {
    let list = candidates(app, who, "CUSTOMER").await;
    list["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let name = |i: usize| {
                let id = n["ids"][i].as_str().unwrap();
                names.iter().find(|(gid, _)| gid == id).map_or("?", |(_, name)| *name).to_owned()
            };
            let mut pair = [name(0), name(1)];
            pair.sort();
            let reasons = n["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
            (n["score"].as_f64().unwrap(), pair.join(" / "), reasons)
        })
        .collect()
}

#[tokio::test]
async fn candidates_are_scored_with_reasons_scoped_by_the_viewer_and_current_with_every_write() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let mut names: Vec<(String, &str)> = Vec::new();
    for name in
        ["Acme Industrial GmbH", "ACME Industrial, Inc.", "Hartmann Logistics", "Hartman Logistics", "Berger Metals"]
    {
        names.push((app.customer(&cast.rep_a, name).await, name));
    }
    // Two customers whose only link is a buyer's e-mail address.
    let north = app.customer(&cast.rep_a, "North Star").await;
    let polaris = app.customer(&cast.rep_a, "Polaris Trading").await;
    names.push((north.clone(), "North Star"));
    names.push((polaris.clone(), "Polaris Trading"));
    for customer in [&north, &polaris] {
        app.gql(
            &cast.rep_a,
            "mutation($c: ID!) { createContact(customerId: $c, input: {name: \"Jane Roe\", orgLevel: PURCHASING,
                email: \"jane@northstar.io\"}) { id } }",
            json!({"c": customer}),
        )
        .await
        .ok();
    }
    // Rep B's customer of the same name: rep A must not see pairs with it.
    names.push((app.customer(&cast.rep_b, "Acme Industrial").await, "Acme Industrial (B)"));

    let as_a = named_pairs(&app, &cast.rep_a, &names).await;
    assert_eq!(
        as_a,
        vec![
            (
                0.85,
                "ACME Industrial, Inc. / Acme Industrial GmbH".to_owned(),
                vec!["same normalised name (acme industrial)".to_owned()]
            ),
            (0.8, "North Star / Polaris Trading".to_owned(), vec!["same e-mail (jane@northstar.io)".to_owned()]),
            (
                0.75,
                "Hartman Logistics / Hartmann Logistics".to_owned(),
                // 17 of 20 padded trigrams shared: "hartman" lacks "ann" and "nn ", "hartmann" lacks "an ".
                vec!["similar name (trigram 0.85, edit distance 1)".to_owned()]
            ),
        ]
    );
    let as_b = named_pairs(&app, &cast.rep_b, &names).await;
    assert!(as_b.is_empty(), "rep B sees no pair: each has one row of rep A's: {as_b:?}");
    let as_leader = candidates(&app, &cast.leader, "CUSTOMER").await;
    assert_eq!(as_leader["totalCount"], 5, "the leader sees rep B's customer paired with both of rep A's");

    // Paging: two at a time, in the same order.
    let first = app.gql(&cast.leader, CANDIDATES, json!({"e": "CUSTOMER", "first": 2})).await;
    let page = &first.ok()["duplicateCandidates"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let rest = app
        .gql(&cast.leader, CANDIDATES, json!({"e": "CUSTOMER", "first": 10, "after": page["pageInfo"]["endCursor"]}))
        .await;
    let mut paged: Vec<Value> = page["nodes"].as_array().unwrap().clone();
    paged.extend(rest.ok()["duplicateCandidates"]["nodes"].as_array().unwrap().iter().cloned());
    assert_eq!(Value::Array(paged), as_leader["nodes"]);
    let forged = app.gql(&cast.leader, CANDIDATES, json!({"e": "CUSTOMER", "after": "bm9wZQ"})).await;
    assert_eq!(forged.code(), Some("BAD_USER_INPUT"));

    // A rename is taken in at the next read; so is an archive.
    let berger = &names[4].0;
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Hartmann Logistic\"}) { id } }",
        json!({"id": berger}),
    )
    .await
    .ok();
    let renamed = named_pairs(&app, &cast.rep_a, &names).await;
    // Two edits from "Hartman Logistics", and no other evidence: it pairs with "Hartmann Logistics" only.
    assert_eq!(renamed.len(), 4, "{renamed:?}");
    assert_eq!(renamed[3].1, "Berger Metals / Hartmann Logistics", "listed by its old name here: {renamed:?}");
    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": berger})).await.ok();
    assert_eq!(named_pairs(&app, &cast.rep_a, &names).await, as_a);

    // A row loaded by SQL is taken in by a rebuild (what `rapport rollups rebuild` runs).
    let owner = raw_id(&cast.rep_a.gid);
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO customer (name, status, owner_id, strategic_importance, segment_rank, revenue_t12m_cents, \
             gross_profit_t12m_cents, version, created_at, updated_at) \
             VALUES ('Acme Industrial Ltd', 'ACTIVE', {owner}, 'MEDIUM', 0, 0, 0, 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
        ))
        .await
        .unwrap();
    assert_eq!(candidates(&app, &cast.rep_a, "CUSTOMER").await["totalCount"], 3);
    rapport::service::duplicates::rebuild(&app.db).await.unwrap();
    assert_eq!(candidates(&app, &cast.rep_a, "CUSTOMER").await["totalCount"], 5, "the loaded Acme pairs with both");
}

use sea_orm::ConnectionTrait;

#[tokio::test]
async fn contacts_pair_by_name_at_one_customer_or_by_e_mail_anywhere() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let other = app.customer(&cast.rep_a, "Other").await;
    let create = "mutation($c: ID!, $n: String!, $e: String) {
        createContact(customerId: $c, input: {name: $n, orgLevel: TECHNICAL, email: $e}) { id } }";
    let mut ids = Vec::new();
    for (customer, name, email) in [
        (&acme, "Jane Doe", None),
        (&acme, "Dr. Jane Doe", None),
        (&other, "Jane Doe", None),
        (&other, "J. Roe", Some("jr@acme-corp.io")),
        (&acme, "Jim Roe", Some("JR@acme-corp.io")),
    ] {
        let reply = app.gql(&cast.rep_a, create, json!({"c": customer, "n": name, "e": email})).await;
        ids.push(reply.ok()["createContact"]["id"].as_str().unwrap().to_owned());
    }
    let list = candidates(&app, &cast.rep_a, "CONTACT").await;
    let pairs: Vec<(Value, Value, Value)> = list["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["score"].clone(), n["ids"].clone(), n["reasons"].clone()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (json!(0.9), json!([ids[3], ids[4]]), json!(["same e-mail (jr@acme-corp.io)"])),
            (json!(0.85), json!([ids[0], ids[1]]), json!(["same normalised name (doe jane)"])),
        ],
        "a namesake at another customer is not a candidate"
    );
}

const MERGE: &str = "mutation($s: ID!, $m: [ID!]!, $v: [Int!]!) {
    mergeCustomers(survivorId: $s, mergedIds: $m, expectedVersions: $v) { id name version contacts { name } } }";

#[tokio::test]
async fn merging_customers_moves_what_they_hold_adds_shared_months_and_leaves_aliases() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.gql(
        &cast.admin,
        "mutation { createWebhookEndpoint(url: \"https://93.184.216.34/hook\", eventTypes: [CUSTOMER_MERGED]) { secret } }",
        json!({}),
    )
    .await
    .ok();
    app.gql(
        &cast.admin,
        "mutation { defineCustomField(input: {entity: CUSTOMER, key: \"tax_id\", label: \"Tax number\", type: STRING,
            identifier: true}) { id } }",
        json!({}),
    )
    .await
    .ok();
    // Two records of one company, pushed by two systems, each with its own history.
    let push = "mutation($s: String!, $k: String!, $n: String!, $o: ID!, $f: [CustomFieldInput!]) {
        upsertCustomers(source: $s, customers: [{externalId: $k, name: $n, ownerId: $o, status: ACTIVE, customFields: $f}]) {
            created } }";
    for (source, key, name, tax) in
        [("erp", "C-1", "Acme Industrial", "DE-1"), ("shop", "S-9", "ACME Industrial GmbH", "DE-1")]
    {
        let fields = json!([{"key": "tax_id", "value": tax}]);
        app.gql(&cast.leader, push, json!({"s": source, "k": key, "n": name, "o": cast.rep_a.gid, "f": fields}))
            .await
            .ok();
    }
    let find = |name: &'static str| {
        let app = &app;
        let rep = &cast.rep_a;
        async move {
            let reply = app
                .gql(
                    rep,
                    "query($n: String!) { customers(filter: {search: $n}) { nodes { id name version } } }",
                    json!({"n": name}),
                )
                .await;
            let nodes = reply.ok()["customers"]["nodes"].as_array().unwrap().clone();
            nodes.into_iter().find(|n| n["name"] == name).unwrap()
        }
    };
    let (survivor, merged) = (find("Acme Industrial").await, find("ACME Industrial GmbH").await);
    let (s, m) = (survivor["id"].as_str().unwrap().to_owned(), merged["id"].as_str().unwrap().to_owned());
    let pair = candidates(&app, &cast.rep_a, "CUSTOMER").await;
    assert_eq!(pair["nodes"][0]["reasons"], json!(["same normalised name (acme industrial)", "same tax_id (de-1)"]));

    app.contact(&cast.rep_a, &s, "Sam Survivor", "EXECUTIVE").await;
    app.contact(&cast.rep_a, &m, "Mo Merged", "PURCHASING").await;
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"Late\", description: \"d\",
        category: DELIVERY}) { id } }",
        json!({"c": m}),
    )
    .await
    .ok();
    let revenue = "mutation($c: ID!, $m: Date!, $r: Money!, $g: Money!) {
        upsertRevenueEntries(entries: [{customerId: $c, month: $m, revenue: $r, grossProfit: $g}]) { upserted } }";
    for (customer, month, rev, gp) in [
        (&s, "2026-09-01", "1000.00", "100.00"),
        (&m, "2026-09-01", "500.00", "50.00"),
        (&m, "2026-10-01", "200.00", "20.00"),
    ] {
        app.gql(&cast.rep_a, revenue, json!({"c": customer, "m": month, "r": rev, "g": gp})).await.ok();
    }
    // A link between the two becomes a link of the survivor to itself: it is archived.
    app.gql(
        &cast.rep_a,
        "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: REFERRED_BY) { id } }",
        json!({"a": s, "b": m}),
    )
    .await
    .ok();
    let totals = "{ customerAggregates(groupBy: []) { customers revenue grossProfit } }";
    let before = app.gql(&cast.leader, totals, json!({})).await.ok()["customerAggregates"][0].clone();
    let position = app.scalar("SELECT MAX(position) FROM change_log").await;

    let (sv, mv) = (survivor["version"].as_i64().unwrap(), merged["version"].as_i64().unwrap());
    let stale = app.gql(&cast.rep_a, MERGE, json!({"s": s, "m": [m], "v": [sv, mv - 1]})).await;
    assert_eq!(stale.code(), Some("CONFLICT"));
    let hidden = app.gql(&cast.rep_b, MERGE, json!({"s": s, "m": [m], "v": [sv, mv]})).await;
    assert_eq!(hidden.code(), Some("NOT_FOUND"));
    let itself = app.gql(&cast.rep_a, MERGE, json!({"s": s, "m": [s], "v": [sv, sv]})).await;
    assert_eq!(itself.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM customer WHERE merged_into_id IS NOT NULL").await, 0);

    let done = app.gql(&cast.rep_a, MERGE, json!({"s": s, "m": [m], "v": [sv, mv]})).await;
    let survivor_now = &done.ok()["mergeCustomers"];
    let mut contacts: Vec<&str> =
        survivor_now["contacts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    contacts.sort();
    assert_eq!(contacts, ["Mo Merged", "Sam Survivor"]);
    assert_eq!(survivor_now["version"], sv + 1);

    let (sid, mid) = (raw_id(&s), raw_id(&m));
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM ticket WHERE customer_id = {sid}")).await, 1);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM revenue_entry WHERE customer_id = {mid}")).await, 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT revenue_cents FROM revenue_entry WHERE customer_id = {sid} AND month = '2026-09-01'"
        ))
        .await,
        150_000,
        "September is the two records' sum"
    );
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM revenue_entry WHERE customer_id = {sid}")).await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM customer_link WHERE archived_at IS NULL").await,
        0,
        "the link between the two is archived"
    );
    // Nothing is lost: the audit keeps the merged record and its original months.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'merge' AND entity_id = {mid} \
             AND changes LIKE '%\"revenue\":\"500.00\"%' AND changes LIKE '%ACME Industrial GmbH%'"
        ))
        .await,
        1
    );
    // The company's totals are those of before: revenue moved, none counted twice or lost.
    let after = app.gql(&cast.leader, totals, json!({})).await.ok()["customerAggregates"][0].clone();
    assert_eq!(after["revenue"], before["revenue"]);
    assert_eq!(after["grossProfit"], before["grossProfit"]);
    assert_eq!(after["customers"], before["customers"].as_i64().unwrap() - 1);

    // The merged customer answers by its id, archived, with where it went.
    let read = app
        .gql(&cast.rep_a, "query($id: ID!) { customer(id: $id) { archivedAt mergedInto { id } } }", json!({"id": m}))
        .await;
    assert!(read.ok()["customer"]["archivedAt"].is_string());
    assert_eq!(read.ok()["customer"]["mergedInto"]["id"], s.as_str());
    // The feed carries a MERGED tombstone; the webhook announces the merge.
    let feed = app
        .gql(
            &cast.leader,
            "query($since: String!) { changes(since: $since, first: 100) { changes { id operation tombstone { mergedInto } } } }",
            json!({"since": base64_position(position)}),
        )
        .await;
    let merged_change =
        feed.ok()["changes"]["changes"].as_array().unwrap().iter().find(|c| c["id"] == m.as_str()).cloned().unwrap();
    assert_eq!(merged_change["operation"], "MERGED");
    assert_eq!(merged_change["tombstone"]["mergedInto"], s.as_str());
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM webhook_event WHERE event_type = 'customer.merged' AND subject_id = {sid} \
             AND payload LIKE '%{m}%'"
        ))
        .await,
        1
    );
    // The pair is gone; a second merge of the merged one is refused.
    assert_eq!(candidates(&app, &cast.rep_a, "CUSTOMER").await["totalCount"], 0);
    let again = app.gql(&cast.rep_a, MERGE, json!({"s": s, "m": [m], "v": [sv + 1, mv + 1]})).await;
    assert_eq!(again.code(), Some("BAD_USER_INPUT"));

    // The shop's id now names the survivor: its next push updates it and creates nothing.
    let customers = app.count("customer").await;
    let pushed = app
        .gql(
            &cast.leader,
            "mutation($o: ID!) { upsertCustomers(source: \"shop\", customers: [{externalId: \"S-9\", name: \"Acme Industrial AG\", ownerId: $o}]) { created updated } }",
            json!({"o": cast.rep_a.gid}),
        )
        .await;
    assert_eq!(pushed.ok()["upsertCustomers"]["created"], 0);
    assert_eq!(app.count("customer").await, customers);
    let renamed = app.gql(&cast.rep_a, "query($id: ID!) { customer(id: $id) { name } }", json!({"id": s})).await;
    assert_eq!(renamed.ok()["customer"]["name"], "Acme Industrial AG");
}

/// The feed position `at`, as the API writes positions one makes by hand.
fn base64_position(at: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("changes:{at}"))
}

#[tokio::test]
async fn merging_contacts_moves_their_communications_and_tickets() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let jane = app.contact(&cast.rep_a, &acme, "Jane Doe", "PURCHASING").await;
    let dup = app.contact(&cast.rep_a, &acme, "Dr. Jane Doe", "PURCHASING").await;
    // One call with both records of Jane, one with the duplicate only.
    for people in [json!([jane, dup]), json!([dup])] {
        app.gql(
            &cast.rep_a,
            "mutation($c: ID!, $p: [ID!]) { logCommunication(input: {customerId: $c, channel: CALL, summary: \"s\", contactIds: $p}) { id } }",
            json!({"c": acme, "p": people}),
        )
        .await
        .ok();
    }
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!, $p: ID!) { createTicket(input: {customerId: $c, contactId: $p, title: \"t\", description: \"d\", category: QUALITY}) { id } }",
        json!({"c": acme, "p": dup}),
    )
    .await
    .ok();
    let merge = "mutation($s: ID!, $m: [ID!]!, $v: [Int!]!) {
        mergeContacts(survivorId: $s, mergedIds: $m, expectedVersions: $v) { id version } }";
    let done = app.gql(&cast.rep_a, merge, json!({"s": jane, "m": [dup], "v": [1, 1]})).await;
    assert_eq!(done.ok()["mergeContacts"]["version"], 2);
    let (j, d) = (raw_id(&jane), raw_id(&dup));
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM communication_contact WHERE contact_id = {j}")).await, 2);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM communication_contact WHERE contact_id = {d}")).await, 0);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM ticket WHERE contact_id = {j}")).await, 1);
    let read = app
        .gql(
            &cast.rep_a,
            "query($id: ID!) { node(id: $id) { ... on Contact { archivedAt mergedInto { id } } } }",
            json!({"id": dup}),
        )
        .await;
    assert_eq!(read.ok()["node"]["mergedInto"]["id"], jane.as_str());
    assert_eq!(candidates(&app, &cast.rep_a, "CONTACT").await["totalCount"], 0);
}

#[tokio::test]
async fn merges_keep_the_book_whole_groups_without_loops_revenue_once_and_rows_of_others_untouched() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let version = |id: String| {
        let app = &app;
        let leader = &cast.leader;
        async move {
            let reply = app
                .gql(
                    leader,
                    "query($id: ID!) { node(id: $id) { ... on Customer { version } ... on Contact { version } } }",
                    json!({"id": id}),
                )
                .await;
            reply.ok()["node"]["version"].as_i64().unwrap()
        }
    };
    // S's parent is P, whose parent is M: merging M into S would put S above its own parent.
    let (s, p, m) = (
        app.customer(&cast.rep_a, "Survivor").await,
        app.customer(&cast.rep_a, "Parent").await,
        app.customer(&cast.rep_a, "Merged").await,
    );
    let parent = "mutation($id: ID!, $p: ID!) { updateCustomer(id: $id, input: {parentId: $p}) { id } }";
    app.gql(&cast.rep_a, parent, json!({"id": p, "p": m})).await.ok();
    app.gql(&cast.rep_a, parent, json!({"id": s, "p": p})).await.ok();
    let done = app
        .gql(&cast.rep_a, MERGE, json!({"s": s, "m": [m], "v": [version(s.clone()).await, version(m.clone()).await]}))
        .await;
    done.ok();
    let group = "query($id: ID!) { customer(id: $id) { parent { id } } }";
    assert_eq!(app.gql(&cast.rep_a, group, json!({"id": p})).await.ok()["customer"]["parent"]["id"], s.as_str());
    assert_eq!(app.gql(&cast.rep_a, group, json!({"id": s})).await.ok()["customer"]["parent"], Value::Null);

    // A merged customer linked to one of rep B's: rep A may not re-point rep B's link.
    let (a1, a2) = (app.customer(&cast.rep_a, "A one").await, app.customer(&cast.rep_a, "A two").await);
    let b = app.customer(&cast.rep_b, "B's").await;
    app.gql(
        &cast.leader,
        "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: REFERRED_BY) { id } }",
        json!({"a": b, "b": a2}),
    )
    .await
    .ok();
    let versions = json!([version(a1.clone()).await, version(a2.clone()).await]);
    let refused = app.gql(&cast.rep_a, MERGE, json!({"s": a1, "m": [a2], "v": versions})).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));
    let by_leader = app.gql(&cast.leader, MERGE, json!({"s": a1, "m": [a2], "v": versions})).await;
    by_leader.ok();

    // Revenue by a merged customer's id is refused; two ids of one push naming one row fail their rows.
    let push =
        "mutation($rows: [CustomerUpsertInput!]!) { upsertCustomers(source: \"erp\", customers: $rows) { created } }";
    let rows = json!([{"externalId": "E-1", "name": "One", "ownerId": cast.rep_a.gid}, {"externalId": "E-2", "name": "Two", "ownerId": cast.rep_a.gid}]);
    app.gql(&cast.leader, push, json!({"rows": rows})).await.ok();
    let ids =
        app.gql(&cast.rep_a, "{ customers(filter: {search: \"O\"}) { nodes { id name version } } }", json!({})).await;
    let find = |name: &str| {
        ids.ok()["customers"]["nodes"].as_array().unwrap().iter().find(|n| n["name"] == name).cloned().unwrap()
    };
    let (one, two) = (find("One"), find("Two"));
    app.gql(&cast.rep_a, MERGE, json!({"s": one["id"], "m": [two["id"]], "v": [one["version"], two["version"]]}))
        .await
        .ok();
    let revenue = app
        .gql(
            &cast.leader,
            "mutation { upsertRevenueEntries(source: \"erp\", entries: [{customerExternalId: \"E-2\", month: \"2026-01-01\", revenue: \"5\", grossProfit: \"1\"}]) { upserted } }",
            json!({}),
        )
        .await;
    assert_eq!(revenue.code(), Some("BAD_USER_INPUT"));
    let both = app.gql(&cast.leader, push, json!({"rows": rows})).await;
    assert_eq!(both.code(), Some("BAD_USER_INPUT"));
    assert_eq!(both.body["errors"][0]["extensions"]["rows"][0]["index"], 1);

    // Contacts merge within one customer; the merged one leaves the feed as a MERGED tombstone.
    let (c1, c2) = (
        app.contact(&cast.rep_a, &a1, "Ann", "EXECUTIVE").await,
        app.contact(&cast.rep_a, &a1, "Ann", "EXECUTIVE").await,
    );
    let elsewhere = app.contact(&cast.rep_a, &s, "Ann", "EXECUTIVE").await;
    let merge = "mutation($s: ID!, $m: [ID!]!, $v: [Int!]!) { mergeContacts(survivorId: $s, mergedIds: $m, expectedVersions: $v) { id } }";
    let across = app.gql(&cast.rep_a, merge, json!({"s": c1, "m": [elsewhere], "v": [1, 1]})).await;
    assert_eq!(across.code(), Some("BAD_USER_INPUT"));
    let position = app.scalar("SELECT MAX(position) FROM change_log").await;
    app.gql(&cast.rep_a, merge, json!({"s": c1, "m": [c2], "v": [1, 1]})).await.ok();
    let feed = app
        .gql(
            &cast.rep_a,
            "query($since: String!) { changes(since: $since) { changes { id operation tombstone { mergedInto } } } }",
            json!({"since": base64_position(position)}),
        )
        .await;
    let changes = feed.ok()["changes"]["changes"].as_array().unwrap().clone();
    let tombstone = changes.iter().find(|c| c["id"] == c2.as_str()).cloned().unwrap();
    assert_eq!(tombstone["operation"], "MERGED");
    assert_eq!(tombstone["tombstone"]["mergedInto"], c1.as_str());
}
