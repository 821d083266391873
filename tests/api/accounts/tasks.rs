//! Tasks: work on a customer with an owner and a due date, by hand or from a
//! communication's follow-up date; open work follows its account.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, raw_id};

const CREATE: &str = r#"mutation($c: ID!, $o: ID, $input: TaskInput!) {
  createTask(customerId: $c, ownerId: $o, input: $input) {
    id title notes dueOn priority status source overdue version customerId closedAt closedById createdById
    owner { id } customer { name } } }"#;

async fn task(app: &TestApp, who: &crate::helpers::Person, customer: &str, title: &str, due: &str) -> String {
    let reply = app.gql(who, CREATE, json!({"c": customer, "input": {"title": title, "dueOn": due}})).await;
    reply.ok()["createTask"]["id"].as_str().expect("task id").to_owned()
}

#[tokio::test]
async fn a_task_is_created_changed_and_closed_with_who_and_when() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let globex = app.customer(&cast.rep_a, "Globex").await;
    let their_contact = app.contact(&cast.rep_a, &globex, "Gina", "PURCHASING").await;
    let contact = app.contact(&cast.rep_a, &acme, "Ann", "EXECUTIVE").await;

    let created = app
        .gql(
            &cast.rep_a,
            CREATE,
            json!({"c": acme, "input": {"title": "  Call Ann about the renewal ", "dueOn": "2099-03-01", "priority": "HIGH", "contactId": contact}}),
        )
        .await;
    let t = &created.ok()["createTask"];
    assert_eq!(t["title"], "Call Ann about the renewal");
    assert_eq!(t["status"], "OPEN");
    assert_eq!(t["source"], "MANUAL");
    assert_eq!(t["priority"], "HIGH");
    assert_eq!(t["overdue"], false);
    assert_eq!(t["owner"]["id"], cast.rep_a.gid.as_str());
    assert_eq!(t["createdById"], cast.rep_a.gid.as_str());
    assert_eq!(t["customer"]["name"], "Acme");
    let id = t["id"].as_str().unwrap().to_owned();

    // Bad input names its field and writes nothing.
    let before = app.count("task").await;
    let empty = app.gql(&cast.rep_a, CREATE, json!({"c": acme, "input": {"title": " ", "dueOn": "2099-01-01"}})).await;
    let no_due = app.gql(&cast.rep_a, CREATE, json!({"c": acme, "input": {"title": "x"}})).await;
    let foreign_contact = app
        .gql(
            &cast.rep_a,
            CREATE,
            json!({"c": acme, "input": {"title": "x", "dueOn": "2099-01-01", "contactId": their_contact}}),
        )
        .await;
    // Rep B does not see Acme: not theirs to be given work on, nor to give.
    let blind_owner = app
        .gql(
            &cast.leader,
            CREATE,
            json!({"c": acme, "o": cast.rep_b.gid, "input": {"title": "x", "dueOn": "2099-01-01"}}),
        )
        .await;
    let not_theirs =
        app.gql(&cast.rep_b, CREATE, json!({"c": acme, "input": {"title": "x", "dueOn": "2099-01-01"}})).await;
    assert_eq!(empty.code(), Some("BAD_USER_INPUT"));
    assert_eq!(empty.body["errors"][0]["extensions"]["field"], "title");
    assert_eq!(no_due.code(), Some("BAD_USER_INPUT"));
    assert_eq!(foreign_contact.code(), Some("BAD_USER_INPUT"));
    assert_eq!(foreign_contact.body["errors"][0]["extensions"]["field"], "contactId");
    assert_eq!(blind_owner.code(), Some("BAD_USER_INPUT"));
    assert_eq!(blind_owner.body["errors"][0]["extensions"]["field"], "ownerId");
    assert_eq!(not_theirs.code(), Some("NOT_FOUND"));
    assert_eq!(app.count("task").await, before);

    let update = r#"mutation($id: ID!, $v: Int, $input: TaskInput!) { updateTask(id: $id, expectedVersion: $v, input: $input) { notes dueOn version contactId } }"#;
    let updated = app
        .gql(&cast.rep_a, update, json!({"id": id, "v": 1, "input": {"notes": "Bring the new price list", "dueOn": "2099-02-01", "contactId": null}}))
        .await;
    assert_eq!(
        updated.ok()["updateTask"],
        json!({"notes": "Bring the new price list", "dueOn": "2099-02-01", "version": 2, "contactId": null})
    );
    let stale = app.gql(&cast.rep_a, update, json!({"id": id, "v": 1, "input": {"title": "y"}})).await;
    assert_eq!(stale.code(), Some("CONFLICT"));
    assert_eq!(stale.body["errors"][0]["extensions"]["currentVersion"], 2);

    // Another rep of the team may not touch it; the team lead may.
    let other = app.gql(&cast.rep_b, "mutation($id: ID!) { completeTask(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(other.code(), Some("NOT_FOUND"));
    let done = app
        .gql(&cast.lead_a, "mutation($id: ID!) { completeTask(id: $id, expectedVersion: 2) { status closedById closedAt version overdue } }", json!({"id": id}))
        .await;
    let done = &done.ok()["completeTask"];
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["closedById"], cast.lead_a.gid.as_str());
    assert!(done["closedAt"].is_string());
    assert_eq!(done["version"], 3);
    let again = app.gql(&cast.rep_a, "mutation($id: ID!) { cancelTask(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(again.code(), Some("CONFLICT"));
    let edit_closed = app.gql(&cast.rep_a, update, json!({"id": id, "input": {"title": "z"}})).await;
    assert_eq!(edit_closed.code(), Some("CONFLICT"));

    let cancelled = task(&app, &cast.rep_a, &acme, "Send samples", "2099-01-01").await;
    let reply = app
        .gql(&cast.rep_a, "mutation($id: ID!) { cancelTask(id: $id) { status closedById } }", json!({"id": cancelled}))
        .await;
    assert_eq!(reply.ok()["cancelTask"], json!({"status": "CANCELLED", "closedById": cast.rep_a.gid}));

    // Every write is audited with what changed, and lands in the change feed.
    let audited = app
        .scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE entity = 'task' AND entity_id = {}", raw_id(&id)))
        .await;
    assert_eq!(audited, 3, "create, update, complete");
    let fed = app
        .scalar(&format!("SELECT COUNT(*) FROM change_log WHERE entity_type = 'TASK' AND entity_id = {}", raw_id(&id)))
        .await;
    assert_eq!(fed, 3);
    let node = app
        .gql(&cast.rep_a, "query($id: ID!) { node(id: $id) { ... on Task { title status } } }", json!({"id": id}))
        .await;
    assert_eq!(node.ok()["node"]["status"], "DONE");
    let hidden = app.gql(&cast.rep_b, "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(hidden.ok()["node"], Value::Null);
}

#[tokio::test]
async fn my_tasks_come_overdue_first_and_the_account_shows_its_open_work() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let globex = app.customer(&cast.rep_a, "Globex").await;
    let later = task(&app, &cast.rep_a, &acme, "Later", "2099-05-01").await;
    let overdue = task(&app, &cast.rep_a, &globex, "Overdue", "2020-01-10").await;
    let soon = task(&app, &cast.rep_a, &acme, "Soon", "2099-01-01").await;
    let done = task(&app, &cast.rep_a, &acme, "Done already", "2020-01-01").await;
    app.gql(&cast.rep_a, "mutation($id: ID!) { completeTask(id: $id) { id } }", json!({"id": done})).await.ok();
    // The team lead's own task on Acme is not rep A's.
    let reply =
        app.gql(&cast.lead_a, CREATE, json!({"c": acme, "input": {"title": "Lead's", "dueOn": "2020-01-01"}})).await;
    reply.ok();

    let mine = app.gql(&cast.rep_a, "{ myTasks { totalCount nodes { id overdue } } }", json!({})).await;
    let nodes = mine.ok()["myTasks"]["nodes"].as_array().unwrap().clone();
    let ids: Vec<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [overdue.as_str(), soon.as_str(), later.as_str()]);
    assert_eq!(mine.ok()["myTasks"]["totalCount"], 3);
    assert_eq!(nodes[0]["overdue"], true);

    let account = app
        .gql(
            &cast.rep_a,
            "query($c: ID!) { customer(id: $c) { openTasks { title owner { id } } } }",
            json!({"c": acme}),
        )
        .await;
    let titles: Vec<&str> = account.ok()["customer"]["openTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Lead's", "Soon", "Later"]);

    let overdue_only =
        app.gql(&cast.lead_a, "{ tasks(filter: {overdueOnly: true}) { nodes { title } } }", json!({})).await;
    let titles: Vec<&str> =
        overdue_only.ok()["tasks"]["nodes"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Lead's", "Overdue"]);
    // Rep B sees none of them, however asked.
    let theirs = app.gql(&cast.rep_b, "{ tasks { totalCount } myTasks { totalCount } }", json!({})).await;
    assert_eq!(theirs.ok(), &json!({"tasks": {"totalCount": 0}, "myTasks": {"totalCount": 0}}));
    let pages = app.gql(&cast.rep_a, "{ tasks(first: 2, orderBy: {field: DUE_ON, direction: DESC}) { nodes { title } pageInfo { hasNextPage endCursor } } }", json!({})).await;
    let page = &pages.ok()["tasks"];
    assert_eq!(page["nodes"], json!([{"title": "Later"}, {"title": "Soon"}]));
    let next = app
        .gql(&cast.rep_a, "query($a: String) { tasks(first: 2, after: $a, orderBy: {field: DUE_ON, direction: DESC}) { nodes { title } } }", json!({"a": page["pageInfo"]["endCursor"]}))
        .await;
    assert_eq!(next.ok()["tasks"]["nodes"], json!([{"title": "Overdue"}, {"title": "Lead's"}]));
}

#[tokio::test]
async fn open_tasks_follow_an_account_to_its_new_owner() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let open = task(&app, &cast.rep_a, &acme, "Open", "2099-01-01").await;
    let closed = task(&app, &cast.rep_a, &acme, "Closed", "2099-01-01").await;
    app.gql(&cast.rep_a, "mutation($id: ID!) { completeTask(id: $id) { id } }", json!({"id": closed})).await.ok();
    let leads =
        app.gql(&cast.lead_a, CREATE, json!({"c": acme, "input": {"title": "Lead's", "dueOn": "2099-01-01"}})).await;
    let leads = leads.ok()["createTask"]["id"].as_str().unwrap().to_owned();

    let moved = app
        .gql(
            &cast.leader,
            "mutation($f: ID!, $t: ID!) { reassignCustomers(fromUserId: $f, toUserId: $t) }",
            json!({"f": cast.rep_a.gid, "t": cast.rep_a2.gid}),
        )
        .await;
    moved.ok();
    let owner_of = |id: &str| format!("SELECT owner_id FROM task WHERE id = {}", raw_id(id));
    assert_eq!(app.scalar(&owner_of(&open)).await, cast.rep_a2.id);
    assert_eq!(app.scalar(&owner_of(&closed)).await, cast.rep_a.id, "done work stays with who did it");
    assert_eq!(app.scalar(&owner_of(&leads)).await, cast.lead_a.id, "someone else's task is theirs still");
    let version = app.scalar(&format!("SELECT CAST(version AS BIGINT) FROM task WHERE id = {}", raw_id(&open))).await;
    assert_eq!(version, 2);
    let mine = app.gql(&cast.rep_a2, "{ myTasks { nodes { id } } }", json!({})).await;
    assert_eq!(mine.ok()["myTasks"]["nodes"], json!([{"id": open}]));

    // Deactivating the new owner hands the work on again.
    let reply = app
        .gql(
            &cast.admin,
            "mutation($id: ID!, $to: ID!) { deactivateUser(id: $id, reassignTo: $to) { active } }",
            json!({"id": cast.rep_a2.gid, "to": cast.lead_a.gid}),
        )
        .await;
    reply.ok();
    assert_eq!(app.scalar(&owner_of(&open)).await, cast.lead_a.id);
    let fed = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM change_log WHERE entity_type = 'TASK' AND entity_id = {}",
            raw_id(&open)
        ))
        .await;
    assert_eq!(fed, 3, "created, then moved twice");
}

#[tokio::test]
async fn a_follow_up_date_becomes_one_task_whichever_way_the_communication_arrived() {
    let app = TestApp::spawn_with(|c| c.task_sweep = Duration::from_millis(100)).await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let logged = app
        .gql(&cast.lead_a, r#"mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: CALL, direction: OUTBOUND, summary: "Price talk", occurredAt: "2026-01-01T10:00:00Z", followUpOn: "2099-06-01"}) { id } }"#, json!({"c": acme}))
        .await;
    let logged = logged.ok()["logCommunication"]["id"].as_str().expect("logged").to_owned();
    // Loaded by SQL the way an integration would, and an old follow-up from imported history.
    let customer = raw_id(&acme);
    let today = chrono::Utc::now().date_naive();
    for (id, follow_up) in [(9001, today + chrono::Duration::days(3)), (9002, today - chrono::Duration::days(90))] {
        app.db.execute_unprepared(&format!(
            "INSERT INTO communication (id, customer_id, user_id, channel, direction, occurred_at, summary, follow_up_on, created_at, updated_at) \
             VALUES ({id}, {customer}, {user}, 'EMAIL', 'INBOUND', '2026-01-02T00:00:00+00:00', 'Loaded', '{follow_up}', '2026-01-02T00:00:00+00:00', '2026-01-02T00:00:00+00:00')",
            user = cast.rep_a.id,
        ))
        .await
        .expect("loaded");
    }
    let mut found = 0;
    for _ in 0..100 {
        found = app.scalar("SELECT COUNT(*) FROM task WHERE source = 'FOLLOW_UP'").await;
        if found == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found, 2);
    // More sweeps change nothing.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task WHERE source = 'FOLLOW_UP'").await, 2);

    let tasks = app
        .gql(&cast.rep_a, "{ tasks(filter: {sources: [FOLLOW_UP]}) { nodes { title dueOn communicationId createdById owner { id } } } }", json!({}))
        .await;
    let nodes = tasks.ok()["tasks"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 2);
    // Sorted by due date: the loaded one (in 3 days) first.
    assert_eq!(nodes[0]["title"], "Follow up: Loaded");
    assert_eq!(nodes[0]["dueOn"], (today + chrono::Duration::days(3)).to_string());
    assert_eq!(nodes[1]["communicationId"], logged.as_str());
    assert_eq!(nodes[1]["title"], "Follow up: Price talk");
    // The account's owner gets it, whoever logged the communication.
    assert_eq!(nodes[1]["owner"]["id"], cast.rep_a.gid.as_str());
    assert_eq!(nodes[1]["createdById"], Value::Null);
}

#[tokio::test]
async fn overdue_tasks_take_points_off_the_health_score_with_their_reason() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let health =
        "query($c: ID!) { customer(id: $c) { health { score signals { kind weight value impact explanation } } } }";
    let signal = |reply: &crate::helpers::Reply| {
        reply.ok()["customer"]["health"]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "OVERDUE_TASKS")
            .cloned()
            .unwrap()
    };
    let before = app.gql(&cast.rep_a, health, json!({"c": acme})).await;
    assert_eq!(
        signal(&before),
        json!({"kind": "OVERDUE_TASKS", "weight": 10.0, "value": 0.0, "impact": 0.0, "explanation": "No overdue task"})
    );
    task(&app, &cast.rep_a, &acme, "Late one", "2020-01-01").await;
    task(&app, &cast.rep_a, &acme, "Late two", "2020-02-01").await;
    task(&app, &cast.rep_a, &acme, "On time", "2099-02-01").await;
    let after = app.gql(&cast.rep_a, health, json!({"c": acme})).await;
    // Two overdue: two thirds of 10 points.
    assert_eq!(
        signal(&after),
        json!({"kind": "OVERDUE_TASKS", "weight": 10.0, "value": 2.0, "impact": -6.7, "explanation": "2 tasks overdue"})
    );
    let (b, a) = (
        before.ok()["customer"]["health"]["score"].as_i64().unwrap(),
        after.ok()["customer"]["health"]["score"].as_i64().unwrap(),
    );
    assert!(b - a == 6 || b - a == 7, "{b} -> {a}");
}

/// Nobody keeps open work on an account they can no longer see, and no open
/// work is left with an inactive user.
#[tokio::test]
async fn open_tasks_never_stay_with_someone_who_cannot_open_them() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let globex = app.customer(&cast.rep_a2, "Globex").await;
    let leads = |customer: &str| {
        let (app, lead, customer) = (&app, &cast.lead_a, customer.to_owned());
        async move {
            let reply = app
                .gql(lead, CREATE, json!({"c": customer, "input": {"title": "Lead's", "dueOn": "2099-01-01"}}))
                .await;
            reply.ok()["createTask"]["id"].as_str().unwrap().to_owned()
        }
    };
    let on_acme = leads(&acme).await;
    let on_globex = leads(&globex).await;
    let owner_of = |id: &str| format!("SELECT owner_id FROM task WHERE id = {}", raw_id(id));

    // Acme moves to team B: team A's lead no longer sees it, so the task follows the account.
    let moved = app
        .gql(
            &cast.leader,
            "mutation($c: ID!, $o: ID!) { updateCustomer(id: $c, input: {ownerId: $o}) { id } }",
            json!({"c": acme, "o": cast.rep_b.gid}),
        )
        .await;
    moved.ok();
    assert_eq!(app.scalar(&owner_of(&on_acme)).await, cast.rep_b.id);
    assert_eq!(app.scalar(&owner_of(&on_globex)).await, cast.lead_a.id, "still in the lead's view");

    // The lead leaves: their open task on Globex goes to Globex's owner.
    let reply = app
        .gql(
            &cast.admin,
            "mutation($id: ID!, $to: ID!) { deactivateUser(id: $id, reassignTo: $to) { active } }",
            json!({"id": cast.lead_a.gid, "to": cast.leader.gid}),
        )
        .await;
    reply.ok();
    assert_eq!(app.scalar(&owner_of(&on_globex)).await, cast.rep_a2.id);
    let mine = app.gql(&cast.rep_a2, "{ myTasks { nodes { id } } }", json!({})).await;
    assert_eq!(mine.ok()["myTasks"]["nodes"], json!([{"id": on_globex}]));
}
