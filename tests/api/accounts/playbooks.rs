//! Playbooks: a trigger occurrence becomes one task for the right person,
//! however often the playbooks run, and reaches its owner live.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Cast, TestApp, raw_id};
use crate::ws_client::WsClient;

const DEFINE: &str = r#"mutation($input: PlaybookInput!) { definePlaybook(input: $input) { id name trigger level days assignee paused version } }"#;
const RUN: &str = "mutation { runPlaybooks { title occurrenceKey source owner { id } customer { name } } }";

async fn define(app: &TestApp, cast: &Cast, input: Value) -> String {
    let reply = app.gql(&cast.leader, DEFINE, json!({"input": input})).await;
    reply.ok()["definePlaybook"]["id"].as_str().expect("playbook id").to_owned()
}

async fn sql(app: &TestApp, statement: &str) {
    app.db.execute_unprepared(statement).await.expect(statement);
}

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

#[tokio::test]
async fn playbooks_are_defined_by_leadership_and_checked_against_their_trigger() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let rule = |extra: Value| {
        let mut input =
            json!({"name": "Rescue", "trigger": "HEALTH_DROPPED", "level": "AT_RISK", "taskTitle": "Call the buyer"});
        input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        input
    };
    for who in [&cast.rep_a, &cast.lead_a, &cast.integration] {
        let reply = app.gql(who, DEFINE, json!({"input": rule(json!({}))})).await;
        assert_eq!(reply.code(), Some("FORBIDDEN"));
    }
    for (extra, field) in [
        (json!({"level": null}), "level"),
        (json!({"level": "HEALTHY"}), "level"),
        (json!({"trigger": "KEY_DATE_APPROACHING"}), "days"),
        (json!({"trigger": "NO_EXECUTIVE_CONTACT", "days": 0}), "days"),
        (json!({"assignee": "USER"}), "assigneeUserId"),
        (json!({"assignee": "USER", "assigneeUserId": cast.integration.gid}), "assigneeUserId"),
        (json!({"taskTitle": " "}), "taskTitle"),
        (json!({"taskDueInDays": 400}), "taskDueInDays"),
    ] {
        let reply = app.gql(&cast.leader, DEFINE, json!({"input": rule(extra.clone())})).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{extra}");
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], field, "{extra}");
    }
    assert_eq!(app.count("playbook").await, 0);

    let defined = app.gql(&cast.admin, DEFINE, json!({"input": rule(json!({"days": 12}))})).await;
    // A parameter the trigger does not take is dropped, not kept to mislead.
    assert_eq!(
        defined.ok()["definePlaybook"],
        json!({"id": defined.ok()["definePlaybook"]["id"], "name": "Rescue", "trigger": "HEALTH_DROPPED", "level": "AT_RISK", "days": null, "assignee": "OWNER", "paused": false, "version": 1})
    );
    let id = defined.ok()["definePlaybook"]["id"].clone();
    let paused = app
        .gql(&cast.leader, "mutation($id: ID!) { pausePlaybook(id: $id) { paused version } }", json!({"id": id}))
        .await;
    assert_eq!(paused.ok()["pausePlaybook"], json!({"paused": true, "version": 2}));
    let stale = app
        .gql(&cast.leader, "mutation($id: ID!, $input: PlaybookInput!) { updatePlaybook(id: $id, expectedVersion: 1, input: $input) { id } }", json!({"id": id, "input": rule(json!({}))}))
        .await;
    assert_eq!(stale.code(), Some("CONFLICT"));
    let listed = app.gql(&cast.rep_a, "{ playbooks { name paused } }", json!({})).await;
    assert_eq!(listed.ok()["playbooks"], json!([{"name": "Rescue", "paused": true}]));
    let machine = app.gql(&cast.integration, "{ playbooks { name } }", json!({})).await;
    assert_eq!(machine.code(), Some("FORBIDDEN"));
}

/// Each trigger on one account, each occurrence worked out by hand; the
/// playbooks run twice (and once more after a pause) and every occurrence is
/// one task.
#[tokio::test]
async fn every_trigger_fires_once_per_occurrence_however_often_the_playbooks_run() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let (acme_id, today) = (raw_id(&acme), Utc::now().date_naive());
    let backend = app.db.get_database_backend();
    let ts = |at: chrono::DateTime<Utc>| {
        let text = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        if backend == sea_orm::DatabaseBackend::Postgres {
            format!("'{text}'::timestamptz")
        } else {
            format!("'{text}'")
        }
    };

    // HEALTH_DROPPED: healthy three days ago, at risk yesterday; a drop 40 days ago is outside the window.
    for (offset, score, level) in [
        (-45, 80, "HEALTHY"),
        (-40, 50, "AT_RISK"),
        (-20, 80, "HEALTHY"),
        (-3, 78, "HEALTHY"),
        (-1, 50, "AT_RISK"),
        (0, 30, "CRITICAL"),
    ] {
        sql(&app, &format!("INSERT INTO customer_health_history (customer_id, day, score, level) VALUES ({acme_id}, '{}', {score}, '{level}')", day(offset))).await;
    }
    // CHAMPION_LEFT: an executive who left two days ago, a technician who left too (not a champion).
    let champion = app.contact(&cast.rep_a, &acme, "Ann Exec", "EXECUTIVE").await;
    let tech = app.contact(&cast.rep_a, &acme, "Tom Tech", "TECHNICAL").await;
    for contact in [&champion, &tech] {
        sql(&app, &format!("UPDATE contact SET ended_on = '{}' WHERE id = {}", day(-2), raw_id(contact))).await;
    }
    // SLA_BREACHED: the first response is an hour late.
    let ticket = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"Late\", description: \"d\", category: QUALITY}) { id } }", json!({"c": acme}))
        .await;
    let ticket = ticket.ok()["createTicket"]["id"].as_str().unwrap().to_owned();
    sql(
        &app,
        &format!(
            "UPDATE ticket SET first_response_due_at = {} WHERE id = {}",
            ts(Utc::now() - Duration::hours(1)),
            raw_id(&ticket)
        ),
    )
    .await;
    // COMMITMENT_OVERDUE: five days late; one two months late is outside the window.
    let promise = |due: String| {
        let app = &app;
        let (rep, acme) = (&cast.rep_a, acme.clone());
        async move {
            let reply = app
                .gql(rep, "mutation($c: ID!, $d: Date!) { createCommitment(customerId: $c, input: {kind: DELIVERY, description: \"Ship\", dueOn: $d}) { id } }", json!({"c": acme, "d": due}))
                .await;
            reply.ok()["createCommitment"]["id"].as_str().unwrap().to_owned()
        }
    };
    let overdue = promise(day(-5)).await;
    promise(day(-60)).await;
    // KEY_DATE_APPROACHING: a renewal in 5 days; another in 40 is too far.
    for (offset, recurring) in [(5, false), (40, false)] {
        let reply = app
            .gql(&cast.rep_a, "mutation($c: ID!, $d: Date!, $r: Boolean!) { recordKeyDate(input: {customerId: $c, kind: CONTRACT_RENEWAL, date: $d, recurring: $r}) { id } }", json!({"c": acme, "d": day(offset), "r": recurring}))
            .await;
        reply.ok();
    }
    let renewal = app.scalar(&format!("SELECT MIN(id) FROM key_date WHERE customer_id = {acme_id}")).await;
    // FOLLOW_UP_DUE: a follow-up due yesterday.
    let call = app
        .gql(&cast.rep_a, "mutation($c: ID!, $f: Date!) { logCommunication(input: {customerId: $c, channel: CALL, summary: \"Price\", followUpOn: $f}) { id } }", json!({"c": acme, "f": day(-1)}))
        .await;
    let call = call.ok()["logCommunication"]["id"].as_str().unwrap().to_owned();
    // NO_EXECUTIVE_CONTACT: Acme's last executive contact is 100 days old; a lost customer is not live.
    sql(&app, &format!(
        "INSERT INTO communication (customer_id, user_id, channel, direction, occurred_at, summary, created_at, updated_at) \
         VALUES ({acme_id}, {}, 'EXECUTIVE_MEETING', 'OUTBOUND', {at}, 'Board', {at}, {at})",
        cast.rep_a.id,
        at = ts(Utc::now() - Duration::days(100)),
    ))
    .await;
    let lost = app.customer(&cast.rep_a, "Gone").await;
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!) { markCustomerLost(id: $c, reason: PRICE) { customer { id } } }",
        json!({"c": lost}),
    )
    .await
    .ok();

    let assign = |assignee: &str, user: Option<&str>| {
        let mut extra = json!({"assignee": assignee});
        if let Some(user) = user {
            extra["assigneeUserId"] = json!(user);
        }
        extra
    };
    let playbooks = [
        ("HEALTH_DROPPED", json!({"level": "AT_RISK"}), assign("OWNER", None)),
        ("CHAMPION_LEFT", json!({}), assign("TEAM_LEAD", None)),
        ("SLA_BREACHED", json!({}), assign("USER", Some(&cast.leader.gid))),
        // Rep B does not see Acme: the owner gets it.
        ("COMMITMENT_OVERDUE", json!({}), assign("USER", Some(&cast.rep_b.gid))),
        ("KEY_DATE_APPROACHING", json!({"days": 10}), assign("OWNER", None)),
        ("NO_EXECUTIVE_CONTACT", json!({"days": 90}), assign("OWNER", None)),
        ("FOLLOW_UP_DUE", json!({}), assign("OWNER", None)),
    ];
    let mut ids = Vec::new();
    for (trigger, params, who) in &playbooks {
        let mut input = json!({"name": trigger, "trigger": trigger, "taskTitle": format!("Act on {trigger}"), "taskDueInDays": 2, "taskPriority": "HIGH"});
        for extra in [params, who] {
            input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        }
        ids.push(define(&app, &cast, input).await);
    }
    // The key-date playbook waits, paused.
    app.gql(&cast.leader, "mutation($id: ID!) { pausePlaybook(id: $id) { id } }", json!({"id": ids[4]})).await.ok();

    let first = app.gql(&cast.leader, RUN, json!({})).await;
    let second = app.gql(&cast.admin, RUN, json!({})).await;
    assert_eq!(second.ok()["runPlaybooks"], json!([]), "a second run finds nothing new");
    let resumed =
        app.gql(&cast.leader, "mutation($id: ID!) { resumePlaybook(id: $id) { paused } }", json!({"id": ids[4]})).await;
    assert_eq!(resumed.ok()["resumePlaybook"]["paused"], false);
    let third = app.gql(&cast.leader, RUN, json!({})).await;
    assert_eq!(app.gql(&cast.leader, RUN, json!({})).await.ok()["runPlaybooks"], json!([]));

    let created: BTreeSet<(String, String, String)> = first.ok()["runPlaybooks"]
        .as_array()
        .unwrap()
        .iter()
        .chain(third.ok()["runPlaybooks"].as_array().unwrap())
        .map(|t| {
            assert_eq!(t["source"], "PLAYBOOK");
            assert_eq!(t["customer"]["name"], "Acme", "only the live account: {t}");
            (
                t["title"].as_str().unwrap().to_owned(),
                t["occurrenceKey"].as_str().unwrap().to_owned(),
                t["owner"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        ("HEALTH_DROPPED", format!("{acme_id}:AT_RISK:{}", day(-1)), &cast.rep_a.gid),
        ("CHAMPION_LEFT", raw_id(&champion).to_string(), &cast.lead_a.gid),
        ("SLA_BREACHED", format!("{}:first_response", raw_id(&ticket)), &cast.leader.gid),
        ("COMMITMENT_OVERDUE", format!("{}:{}", raw_id(&overdue), day(-5)), &cast.rep_a.gid),
        ("KEY_DATE_APPROACHING", format!("{renewal}:{}", (today + Duration::days(5)).format("%Y")), &cast.rep_a.gid),
        ("NO_EXECUTIVE_CONTACT", format!("{acme_id}:{}", day(-100)), &cast.rep_a.gid),
        ("FOLLOW_UP_DUE", raw_id(&call).to_string(), &cast.rep_a.gid),
    ]
    .into_iter()
    .map(|(trigger, key, owner)| (format!("Act on {trigger}"), key, owner.clone()))
    .collect();
    assert_eq!(created, expected);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task WHERE source = 'PLAYBOOK'").await, 7);
    // The third run created the key-date task alone, after the resume.
    assert_eq!(third.ok()["runPlaybooks"].as_array().unwrap().len(), 1);
    // Due in the template's days, with its priority, named after the playbook; the owner sees it as theirs.
    let mine = app
        .gql(
            &cast.rep_a,
            "query($p: ID) { tasks(filter: {playbookId: $p}) { nodes { dueOn priority playbookId createdById } } }",
            json!({"p": ids[0]}),
        )
        .await;
    assert_eq!(
        mine.ok()["tasks"]["nodes"],
        json!([{"dueOn": day(2), "priority": "HIGH", "playbookId": ids[0], "createdById": null}])
    );
    // A new drop on a later day is a new occurrence.
    sql(&app, &format!("UPDATE customer_health_history SET level = 'HEALTHY', score = 90 WHERE customer_id = {acme_id} AND day = '{}'", day(0))).await;
    sql(&app, &format!("INSERT INTO customer_health_history (customer_id, day, score, level) VALUES ({acme_id}, '{}', 40, 'AT_RISK')", day(1))).await;
    let again = app.gql(&cast.leader, RUN, json!({})).await;
    let keys: Vec<&str> =
        again.ok()["runPlaybooks"].as_array().unwrap().iter().map(|t| t["occurrenceKey"].as_str().unwrap()).collect();
    assert_eq!(keys, [format!("{acme_id}:AT_RISK:{}", day(1))]);
}

#[tokio::test]
async fn a_playbook_task_reaches_its_owner_live_and_nobody_else() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let addr = app.listen().await;
    let mut clients = Vec::new();
    for person in [&cast.rep_a, &cast.rep_a2, &cast.lead_a, &cast.leader] {
        let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
        ws.init(&person.token).await;
        ws.subscribe(
            "mine",
            "subscription { taskAssigned { title source owner { id } customer { name } } }",
            json!({}),
        )
        .await;
        clients.push(ws);
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let input =
        json!({"name": "Broken promise", "trigger": "COMMITMENT_OVERDUE", "taskTitle": "Call about the late delivery"});
    define(&app, &cast, input).await;
    app.gql(&cast.rep_a, "mutation($c: ID!, $d: Date!) { createCommitment(customerId: $c, input: {kind: DELIVERY, description: \"Ship\", dueOn: $d}) { id } }", json!({"c": acme, "d": day(-1)}))
        .await
        .ok();
    // An endpoint listens (the delivery worker is idle in tests: the outbox row is what counts).
    app.gql(&cast.admin, "mutation { createWebhookEndpoint(url: \"https://93.184.216.34/hook\", eventTypes: [TASK_CREATED]) { endpoint { id } } }", json!({}))
        .await
        .ok();
    app.gql(&cast.leader, RUN, json!({})).await.ok();

    let got = clients[0].next_data("mine").await;
    assert_eq!(
        got["data"]["taskAssigned"],
        json!({"title": "Call about the late delivery", "source": "PLAYBOOK", "owner": {"id": cast.rep_a.gid}, "customer": {"name": "Acme"}})
    );
    for other in &mut clients[1..] {
        other.expect_silence().await;
    }
    // Given to the team lead by hand (rep A2 would not see Acme): it reaches them, not the previous owner.
    let task = app.scalar("SELECT MIN(id) FROM task").await;
    let reply = app
        .gql(
            &cast.lead_a,
            "mutation($id: ID!, $o: ID!) { reassignTask(id: $id, ownerId: $o) { id } }",
            json!({"id": crate::helpers::gid("Task", task), "o": cast.lead_a.gid}),
        )
        .await;
    reply.ok();
    assert_eq!(clients[2].next_data("mine").await["data"]["taskAssigned"]["owner"]["id"], cast.lead_a.gid.as_str());
    clients[0].expect_silence().await;
    // A webhook announced it too, once.
    let announced = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM webhook_event WHERE event_type = 'task.created' AND subject_id = {task}"
        ))
        .await;
    assert_eq!(announced, 1);
}

/// A customer's first history row is where its history begins, not a drop:
/// new and imported accounts do not all fire the health playbook.
#[tokio::test]
async fn a_first_history_row_is_not_a_drop() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    // The snapshot scores the bare account 50 (AT_RISK) and starts its history there.
    app.gql(&cast.leader, "{ atRiskCustomers { totalCount } }", json!({})).await.ok();
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM customer_health_history WHERE customer_id = {}", raw_id(&acme)))
            .await,
        1
    );
    define(&app, &cast, json!({"name": "Rescue", "trigger": "HEALTH_DROPPED", "level": "WATCH", "taskTitle": "Call"}))
        .await;
    let run = app.gql(&cast.leader, RUN, json!({})).await;
    assert_eq!(run.ok()["runPlaybooks"], json!([]));
    // A playbook keeps its trigger.
    let id = app.gql(&cast.leader, "{ playbooks { id } }", json!({})).await.ok()["playbooks"][0]["id"].clone();
    let changed = app
        .gql(&cast.leader, "mutation($id: ID!) { updatePlaybook(id: $id, input: {name: \"x\", trigger: CHAMPION_LEFT, taskTitle: \"t\"}) { id } }", json!({"id": id}))
        .await;
    assert_eq!(changed.code(), Some("BAD_USER_INPUT"));
    assert_eq!(changed.body["errors"][0]["extensions"]["field"], "trigger");
}

/// Two leads of one team see the same data, so most subscriptions share one
/// execution between them; `taskAssigned` is each one's own and never shared.
#[tokio::test]
async fn task_assigned_is_never_shared_between_viewers_who_see_the_same_data() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let team = app.scalar(&format!("SELECT team_id FROM app_user WHERE id = {}", cast.lead_a.id)).await;
    let lead_a2 = app.person("lead.a2@t.example", entity::enums::Role::TeamLead, Some(team), &[]).await;
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let addr = app.listen().await;
    let document = "subscription { taskAssigned { title owner { id } } }";
    let mut first = WsClient::connect(addr, "graphql-transport-ws").await;
    first.init(&cast.lead_a.token).await;
    first.subscribe("t", document, json!({})).await;
    let mut second = WsClient::connect(addr, "graphql-transport-ws").await;
    second.init(&lead_a2.token).await;
    second.subscribe("t", document, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let create = "mutation($c: ID!, $o: ID!) { createTask(customerId: $c, ownerId: $o, input: {title: \"For the first lead\", dueOn: \"2099-01-01\"}) { id } }";
    app.gql(&cast.leader, create, json!({"c": acme, "o": cast.lead_a.gid})).await.ok();
    let got = first.next_data("t").await;
    assert_eq!(got["data"]["taskAssigned"]["title"], "For the first lead");
    second.expect_silence().await;
}
