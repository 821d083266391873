//! The change feed: commit order, tombstones, visibility, scopes and concurrent writers.

use std::collections::{BTreeSet, HashMap};

use entity::enums::Role;
use rapport::service::changes::{Change, Operation};
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, raw_id};

const FEED: &str = r#"query($since: String, $first: Int, $types: [ChangeEntity!]) {
  changes(since: $since, first: $first, entityTypes: $types) {
    changes { position entityType id operation occurredAt
      node { id ... on Customer { name owner { id } } ... on Contact { name customer { id } } }
      tombstone { id type archivedAt } }
    nextPosition hasMore } }"#;

/// The position of the feed's very beginning: the changes recorded since the
/// feed began, without the copy of every row that `since: null` starts with.
const BEGINNING: &str = "Y2hhbmdlczow";

/// Reads the feed from `since` to its end, a page of `first` at a time.
async fn drain(app: &TestApp, who: &Person, since: Value, first: i32) -> (Vec<Value>, Value) {
    let (mut all, mut since) = (Vec::new(), since);
    loop {
        let reply = app.gql(who, FEED, json!({ "since": since, "first": first })).await;
        let feed = reply.ok()["changes"].clone();
        all.extend(feed["changes"].as_array().unwrap().iter().cloned());
        since = feed["nextPosition"].clone();
        if !feed["hasMore"].as_bool().unwrap() {
            return (all, since);
        }
    }
}

fn summary(changes: &[Value]) -> Vec<(String, String, String)> {
    changes
        .iter()
        .map(|c| {
            (
                c["entityType"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
                c["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(entity: &str, id: &str, operation: &str) -> (String, String, String) {
    (entity.to_owned(), id.to_owned(), operation.to_owned())
}

#[tokio::test]
async fn a_client_gets_everything_then_only_what_changed_with_tombstones_for_archived_rows() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let erp = &cast.integration;

    let (nothing, start) = drain(&app, erp, Value::Null, 100).await;
    assert!(nothing.is_empty());

    let acme = app.customer(&cast.rep_a, "Acme").await;
    let other = app.customer(&cast.rep_a, "Other").await;
    let ann = app.contact(&cast.rep_a, &acme, "Ann", "EXECUTIVE").await;
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { updateContact(id: $id, input: {title: \"CEO\"}) { id } }",
        json!({"id": ann}),
    )
    .await
    .ok();
    let link = app
        .gql(&cast.rep_a, "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: REFERRED_BY) { id } }", json!({"a": acme, "b": other}))
        .await;
    let link = link.ok()["linkCustomers"]["id"].as_str().unwrap().to_owned();
    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomerLink(id: $id) { id } }", json!({"id": link})).await.ok();
    app.gql(&cast.rep_a, "mutation($id: ID!) { archiveContact(id: $id) { id } }", json!({"id": ann})).await.ok();
    let ticket = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": acme}))
        .await;
    let ticket = ticket.ok()["createTicket"]["id"].as_str().unwrap().to_owned();

    // From the start, two at a time: everything, in commit order, once.
    let (changes, next) = drain(&app, erp, start.clone(), 2).await;
    assert_eq!(
        summary(&changes),
        vec![
            row("CUSTOMER", &acme, "CREATED"),
            row("CUSTOMER", &other, "CREATED"),
            row("CONTACT", &ann, "CREATED"),
            row("CONTACT", &ann, "UPDATED"),
            row("CUSTOMER_LINK", &link, "CREATED"),
            row("CUSTOMER_LINK", &link, "ARCHIVED"),
            row("CONTACT", &ann, "ARCHIVED"),
            row("TICKET", &ticket, "CREATED"),
        ]
    );
    let positions: Vec<&str> = changes.iter().map(|c| c["position"].as_str().unwrap()).collect();
    assert_eq!(positions.iter().collect::<BTreeSet<_>>().len(), positions.len());
    // A live row carries its current state; a tombstone carries no row.
    assert_eq!(changes[0]["node"]["name"], "Acme");
    assert!(changes[0]["tombstone"].is_null());
    for archived in [&changes[5], &changes[6]] {
        assert!(archived["node"].is_null());
        assert_eq!(archived["tombstone"]["id"], archived["id"]);
        assert!(archived["tombstone"]["archivedAt"].is_string());
    }
    assert_eq!(changes[6]["tombstone"]["type"], "CONTACT");

    // Nothing new: nothing returned, the position stays.
    let (again, same) = drain(&app, erp, next.clone(), 100).await;
    assert!(again.is_empty());
    assert_eq!(same, next);
    // Then only what changed; a filter on the type.
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { updateCustomer(id: $id, input: {region: \"North\"}) { id } }",
        json!({"id": acme}),
    )
    .await
    .ok();
    let (fresh, _) = drain(&app, erp, next.clone(), 100).await;
    assert_eq!(summary(&fresh), vec![row("CUSTOMER", &acme, "UPDATED")]);
    let only = app.gql(erp, FEED, json!({ "since": start, "types": ["TICKET"] })).await;
    assert_eq!(summary(only.ok()["changes"]["changes"].as_array().unwrap()), vec![row("TICKET", &ticket, "CREATED")]);

    // Bad positions are refused.
    for since in ["nonsense", "Y2hhbmdlczotMQ"] {
        let reply = app.gql(erp, FEED, json!({ "since": since })).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    }
}

#[tokio::test]
async fn the_feed_shows_only_what_the_reader_sees_and_a_customer_reassigned_away_as_a_tombstone() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    app.contact(&cast.rep_a, &acme, "Ann", "EXECUTIVE").await;
    let beta = app.customer(&cast.rep_b, "Beta").await;
    app.gql(&cast.rep_b, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": beta}))
        .await
        .ok();

    let (a_first, a_pos) = drain(&app, &cast.rep_a, Value::Null, 100).await;
    assert_eq!(a_first.len(), 2);
    assert!(a_first.iter().all(|c| c["id"] != beta.as_str()));
    let (b_first, b_pos) = drain(&app, &cast.rep_b, Value::Null, 100).await;
    assert_eq!(b_first.len(), 2);

    // Leadership hands Acme to rep B.
    app.gql(
        &cast.leader,
        "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }",
        json!({"id": acme, "o": cast.rep_b.gid}),
    )
    .await
    .ok();
    let (a_next, _) = drain(&app, &cast.rep_a, a_pos, 100).await;
    assert_eq!(summary(&a_next), vec![row("CUSTOMER", &acme, "DELETED")]);
    assert!(a_next[0]["node"].is_null());
    assert_eq!(a_next[0]["tombstone"]["type"], "CUSTOMER");
    let (b_next, _) = drain(&app, &cast.rep_b, b_pos, 100).await;
    assert_eq!(summary(&b_next), vec![row("CUSTOMER", &acme, "UPDATED")]);
    assert_eq!(b_next[0]["node"]["owner"]["id"], cast.rep_b.gid.as_str());
    // Rep A reading the feed from its beginning no longer sees Acme's history, only its tombstone.
    let (a_all, _) = drain(&app, &cast.rep_a, json!(BEGINNING), 100).await;
    assert_eq!(summary(&a_all), vec![row("CUSTOMER", &acme, "DELETED")]);

    // Service accounts: by scope.
    let customers_only = app.person("crm@t.example", Role::Integration, None, &["customers:read"]).await;
    let (seen, _) = drain(&app, &customers_only, json!(BEGINNING), 100).await;
    assert!(seen.iter().all(|c| c["entityType"] != "TICKET"));
    assert_eq!(seen.len(), 4);
    let reply = app.gql(&customers_only, FEED, json!({ "types": ["TICKET"] })).await;
    assert_eq!(reply.code(), Some("FORBIDDEN"));
    let reply = app.gql(&cast.integration_unscoped, FEED, json!({})).await;
    assert_eq!(reply.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_change_committing_late_is_never_skipped_by_a_reader_that_read_past_it() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let (_, pos) = drain(&app, &cast.integration, Value::Null, 100).await;

    // A writer takes its position and has not committed yet...
    let slow = rapport::db::write(&app.db).await.unwrap();
    let change = Change::customer(raw_id(&acme), Operation::Updated, None);
    rapport::service::changes::record(&slow, &[change]).await.unwrap();
    // ...while another one commits a new customer.
    let fast = {
        let (router_app, rep) = (app.router.clone(), cast.rep_a.token.clone());
        tokio::spawn(async move {
            let body = json!({"query": "mutation { createCustomer(input: {name: \"Late\", status: ACTIVE}) { id } }"});
            let request = axum::http::Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {rep}"))
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            tower::ServiceExt::oneshot(router_app, request).await.unwrap().status()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Whatever a reader sees now, it is handed no position past the slow writer's.
    let (meanwhile, pos_meanwhile) = drain(&app, &cast.integration, pos.clone(), 100).await;
    assert!(meanwhile.is_empty(), "{meanwhile:?}");
    assert_eq!(pos_meanwhile, pos);
    slow.commit().await.unwrap();
    assert!(fast.await.unwrap().is_success());
    let (after, _) = drain(&app, &cast.integration, pos, 100).await;
    let entities: Vec<(String, String)> = summary(&after).into_iter().map(|(e, _, op)| (e, op)).collect();
    assert_eq!(
        entities,
        vec![("CUSTOMER".to_owned(), "UPDATED".to_owned()), ("CUSTOMER".to_owned(), "CREATED".to_owned())]
    );
    assert_eq!(after[0]["id"], acme.as_str());
}

#[tokio::test]
async fn concurrent_writers_and_a_polling_reader_see_every_change_once() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let reader = async {
        let (mut seen, mut since) = (Vec::new(), json!(BEGINNING));
        for _ in 0..40 {
            let (page, next) = drain(&app, &cast.integration, since, 7).await;
            seen.extend(page);
            since = next;
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        }
        (seen, since)
    };
    let writers = futures_util::future::join_all((0..6).map(|w| {
        let app = &app;
        let rep = if w % 2 == 0 { &cast.rep_a } else { &cast.rep_b };
        async move {
            let mut made = Vec::new();
            for i in 0..8 {
                let customer = app.customer(rep, &format!("W{w} C{i}")).await;
                if i % 4 == 3 {
                    app.gql(rep, "mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": customer}))
                        .await
                        .ok();
                }
                made.push(customer);
            }
            made
        }
    }));
    let ((mut seen, since), made) = tokio::join!(reader, writers);
    let (rest, _) = drain(&app, &cast.integration, since, 100).await;
    seen.extend(rest);
    let made: Vec<String> = made.into_iter().flatten().collect();
    assert_eq!(made.len(), 48);

    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for c in &seen {
        *count
            .entry((c["id"].as_str().unwrap().to_owned(), c["operation"].as_str().unwrap().to_owned()))
            .or_default() += 1;
    }
    for id in &made {
        assert_eq!(count.get(&(id.clone(), "CREATED".to_owned())), Some(&1), "{id} created seen once");
    }
    let archived = count.keys().filter(|(_, op)| op == "ARCHIVED").count();
    assert_eq!(archived, 12, "tombstones present");
    assert_eq!(seen.len(), 48 + 12, "nothing duplicated");
    let positions: Vec<String> = seen.iter().map(|c| c["position"].as_str().unwrap().to_owned()).collect();
    assert_eq!(positions.iter().collect::<BTreeSet<_>>().len(), positions.len());
}

const MOVE_TEAM: &str = "mutation($id: ID!, $t: ID) { updateUser(id: $id, input: {teamId: $t}) { id } }";
const REASSIGN: &str = "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }";

fn team_gid(id: i64) -> String {
    crate::helpers::gid("Team", id)
}

/// The CUSTOMER entries of a feed, as (id, operation).
fn customer_ops(changes: &[Value]) -> Vec<(String, String)> {
    summary(changes).into_iter().filter(|(e, _, _)| e == "CUSTOMER").map(|(_, id, op)| (id, op)).collect()
}

#[tokio::test]
async fn a_lead_gets_no_tombstone_for_a_customer_their_team_never_had_when_its_former_owner_joins_them() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let lead_b = app.person("lead.b@t.example", Role::TeamLead, Some(cast.team_b), &[]).await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    // Acme moves within team A; its former owner later joins team B.
    app.gql(&cast.leader, REASSIGN, json!({"id": acme, "o": cast.rep_a2.gid})).await.ok();
    app.gql(&cast.admin, MOVE_TEAM, json!({"id": cast.rep_a.gid, "t": team_gid(cast.team_b)})).await.ok();
    let (seen, _) = drain(&app, &lead_b, Value::Null, 100).await;
    assert!(
        seen.iter().all(|c| c["id"] != acme.as_str()),
        "team B never had Acme, yet its lead reads {:?}",
        summary(&seen)
    );
}

#[tokio::test]
async fn a_lead_reading_on_keeps_the_tombstone_of_a_customer_moved_away_after_its_former_owner_left_the_team() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let (first, position) = drain(&app, &cast.lead_a, Value::Null, 100).await;
    assert_eq!(customer_ops(&first), vec![(acme.clone(), "CREATED".to_owned())]);
    // Acme goes to team B; its former owner then leaves team A too.
    app.gql(&cast.leader, REASSIGN, json!({"id": acme, "o": cast.rep_b.gid})).await.ok();
    app.gql(&cast.admin, MOVE_TEAM, json!({"id": cast.rep_a.gid, "t": team_gid(cast.team_b)})).await.ok();
    let (next, _) = drain(&app, &cast.lead_a, position, 100).await;
    assert_eq!(customer_ops(&next), vec![(acme.clone(), "DELETED".to_owned())]);
    assert!(next[0]["node"].is_null());
}

#[tokio::test]
async fn a_rep_moved_between_teams_takes_their_customers_out_of_one_leads_copy_and_into_the_others() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let lead_b = app.person("lead.b@t.example", Role::TeamLead, Some(cast.team_b), &[]).await;
    let mut mine = BTreeSet::new();
    for name in ["One", "Two", "Three"] {
        mine.insert(app.customer(&cast.rep_a, name).await);
    }
    let team_a = {
        let reply = app.gql(&cast.rep_a, "{ viewer { team { id } } }", json!({})).await;
        reply.ok()["viewer"]["team"]["id"].as_str().unwrap().to_owned()
    };
    let (_, mut pos_a) = drain(&app, &cast.lead_a, Value::Null, 100).await;
    let (_, mut pos_b) = drain(&app, &lead_b, Value::Null, 100).await;
    for (to, leaving, joining) in [(team_gid(cast.team_b), "A", "B"), (team_a.clone(), "B", "A")] {
        app.gql(&cast.admin, MOVE_TEAM, json!({"id": cast.rep_a.gid, "t": to})).await.ok();
        let (a, next_a) = drain(&app, &cast.lead_a, pos_a.clone(), 2).await;
        let (b, next_b) = drain(&app, &lead_b, pos_b.clone(), 2).await;
        pos_a = next_a;
        pos_b = next_b;
        let (left, joined) = if leaving == "A" { (&a, &b) } else { (&b, &a) };
        let deleted: BTreeSet<String> =
            customer_ops(left).into_iter().filter(|(_, op)| op == "DELETED").map(|(id, _)| id).collect();
        let updated: BTreeSet<String> =
            customer_ops(joined).into_iter().filter(|(_, op)| op == "UPDATED").map(|(id, _)| id).collect();
        assert_eq!(deleted, mine, "team {leaving}'s lead reads a tombstone for each customer");
        assert_eq!(left.len(), 3, "and nothing else: {:?}", summary(left));
        assert_eq!(updated, mine, "team {joining}'s lead reads each customer");
        assert_eq!(joined.len(), 3);
        assert!(joined.iter().all(|c| c["node"]["owner"]["id"] == cast.rep_a.gid.as_str()));
    }
    // Reading from the start, each lead's copy ends as the teams are now.
    let last_op = |changes: &[Value]| -> HashMap<String, String> { customer_ops(changes).into_iter().collect() };
    let (all_a, _) = drain(&app, &cast.lead_a, Value::Null, 100).await;
    let (all_b, _) = drain(&app, &lead_b, Value::Null, 100).await;
    assert!(last_op(&all_a).iter().all(|(id, op)| mine.contains(id) && op != "DELETED"), "{:?}", summary(&all_a));
    assert_eq!(last_op(&all_a).len(), 3);
    assert!(last_op(&all_b).values().all(|op| op == "DELETED"), "{:?}", summary(&all_b));
}

/// The (table, id) of every row a viewer may copy, counted in the database.
async fn copyable(app: &TestApp) -> BTreeSet<(String, i64)> {
    use sea_orm::ConnectionTrait;
    let mut rows = BTreeSet::new();
    for (entity, table, archived) in [
        ("CUSTOMER", "customer", true),
        ("CONTACT", "contact", true),
        ("COMMUNICATION", "communication", true),
        ("TICKET", "ticket", true),
        ("COMMITMENT", "commitment", true),
        ("REVENUE_ENTRY", "revenue_entry", false),
        ("CUSTOMER_LINK", "customer_link", true),
        ("TASK", "task", false),
    ] {
        let filter = if archived { "WHERE archived_at IS NULL" } else { "" };
        let sql = format!("SELECT id FROM {table} {filter}");
        let found =
            app.db.query_all_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
        rows.extend(found.iter().map(|r| (entity.to_owned(), r.try_get::<i64>("", "id").unwrap())));
    }
    rows
}

fn received(changes: &[Value]) -> Vec<(String, i64)> {
    changes.iter().map(|c| (c["entityType"].as_str().unwrap().to_owned(), raw_id(c["id"].as_str().unwrap()))).collect()
}

#[tokio::test]
async fn a_reader_without_a_position_first_gets_every_row_it_may_see_once_then_the_changes() {
    let app = TestApp::spawn().await;
    rapport::seed::seed_demo(&app.db, None).await.unwrap();
    let admin = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let admin = entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq("admin@rapport.demo"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        Person { id: admin.id, gid: crate::helpers::gid("User", admin.id), token: app.token(admin.id) }
    };
    // The demo was loaded behind the API's back: the feed itself has nothing of it.
    let (feed, _) = drain(&app, &admin, json!(BEGINNING), 1000).await;
    assert!(feed.is_empty());
    let (copy, position) = drain(&app, &admin, Value::Null, 500).await;
    let got = received(&copy);
    let unique: BTreeSet<(String, i64)> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "each row once");
    assert_eq!(unique, copyable(&app).await, "every row, and only those");
    assert!(copy.iter().all(|c| c["operation"] == "CREATED" && !c["node"].is_null()));
    // Then the feed: a change made now arrives, once.
    let some = copy.iter().find(|c| c["entityType"] == "CUSTOMER").unwrap()["id"].as_str().unwrap().to_owned();
    app.gql(
        &admin,
        "mutation($id: ID!) { updateCustomer(id: $id, input: {region: \"Far\"}) { id } }",
        json!({"id": some}),
    )
    .await
    .ok();
    let (after, _) = drain(&app, &admin, position, 500).await;
    assert_eq!(summary(&after), vec![row("CUSTOMER", &some, "UPDATED")]);

    // A rep copies exactly the rows of their own customers.
    let rep = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let rep = entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq("rep1.north@rapport.demo"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        Person { id: rep.id, gid: crate::helpers::gid("User", rep.id), token: app.token(rep.id) }
    };
    let (mine, _) = drain(&app, &rep, Value::Null, 500).await;
    let customers: BTreeSet<i64> =
        received(&mine).into_iter().filter(|(e, _)| e == "CUSTOMER").map(|(_, id)| id).collect();
    let owned: BTreeSet<i64> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        entity::customer::Entity::find()
            .select_only()
            .column(entity::customer::Column::Id)
            .filter(entity::customer::Column::OwnerId.eq(rep.id))
            .filter(entity::customer::Column::ArchivedAt.is_null())
            .into_tuple::<i64>()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .collect()
    };
    assert!(!owned.is_empty());
    assert_eq!(customers, owned);
    let contacts_of_others = mine
        .iter()
        .filter(|c| c["entityType"] == "CONTACT")
        .filter(|c| !owned.contains(&raw_id(c["node"]["customer"]["id"].as_str().unwrap())))
        .count();
    assert_eq!(contacts_of_others, 0);
}

#[tokio::test]
async fn writes_made_while_a_reader_pages_its_copy_are_never_missed() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let erp = app.person("bulk@t.example", Role::Integration, None, &["customers:write", "customers:read"]).await;
    for batch in 0..3 {
        let rows: Vec<Value> = (0..1000)
            .map(|i| json!({"externalId": format!("C{batch}-{i}"), "name": format!("Customer {batch}-{i}"), "ownerEmail": "rep.a@t.example"}))
            .collect();
        app.gql(
            &cast.leader,
            "mutation($rows: [CustomerUpsertInput!]!) { upsertCustomers(source: \"erp\", customers: $rows) { created } }",
            json!({"rows": rows}),
        )
        .await
        .ok();
    }
    let all = app.gql(&cast.leader, "{ customers(first: 2) { edges { node { id } } } }", json!({})).await;
    let first_customer = all.ok()["customers"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();

    let (mut seen, mut since, mut writes) = (Vec::new(), Value::Null, Vec::new());
    let mut page = 0;
    loop {
        let reply = app.gql(&erp, FEED, json!({ "since": since, "first": 250 })).await;
        let feed = reply.ok()["changes"].clone();
        let offset = seen.len();
        seen.extend(feed["changes"].as_array().unwrap().iter().cloned());
        since = feed["nextPosition"].clone();
        // Between pages: a new customer, a change to one already copied, an archive.
        if page < 8 {
            let made = app.customer(&cast.rep_a, &format!("Late {page}")).await;
            app.gql(
                &cast.rep_a,
                "mutation($id: ID!, $r: String!) { updateCustomer(id: $id, input: {region: $r}) { id } }",
                json!({"id": first_customer, "r": format!("R{page}")}),
            )
            .await
            .ok();
            writes.push((seen.len(), made, offset));
        }
        if page == 3 {
            app.gql(&cast.rep_a, "mutation($id: ID!) { archiveCustomer(id: $id) { id } }", json!({"id": writes[0].1}))
                .await
                .ok();
        }
        page += 1;
        if !feed["hasMore"].as_bool().unwrap() {
            break;
        }
    }
    // Every row there is now was received; the archived one last as a tombstone.
    let got: BTreeSet<(String, i64)> = received(&seen).into_iter().collect();
    assert!(copyable(&app).await.is_subset(&got));
    // Each write arrives after it was made; the last region is what the copy ends with.
    for (after, made, _) in &writes {
        assert!(seen[*after..].iter().any(|c| c["id"] == made.as_str()), "{made} arrives after its creation");
    }
    let last_of_first = seen.iter().rev().find(|c| c["id"] == first_customer.as_str()).unwrap();
    assert_eq!(last_of_first["operation"], "UPDATED");
    let last_of_archived = seen.iter().rev().find(|c| c["id"] == writes[0].1.as_str()).unwrap();
    assert_eq!(last_of_archived["operation"], "ARCHIVED");
    assert!(seen.len() < 3000 + 3 * 8 + 10, "at most the changed rows twice: {}", seen.len());
}

#[tokio::test]
async fn a_reader_whose_access_changed_is_told_to_start_a_new_copy() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.customer(&cast.rep_a, "Acme").await;
    let (copy, position) = drain(&app, &cast.lead_a, Value::Null, 100).await;
    assert_eq!(copy.len(), 1);
    // The lead now leads team B: the copy of team A's customers is not theirs any more.
    app.gql(&cast.admin, MOVE_TEAM, json!({"id": cast.lead_a.gid, "t": team_gid(cast.team_b)})).await.ok();
    let reply = app.gql(&cast.lead_a, FEED, json!({ "since": position })).await;
    assert_eq!(reply.code(), Some("CONFLICT"), "{}", reply.body);
    let (fresh, _) = drain(&app, &cast.lead_a, Value::Null, 100).await;
    assert!(fresh.is_empty(), "team B has no customers: {fresh:?}");
}
