//! Live ticket updates over WebSocket, with the same visibility rules as queries.

use serde_json::{Value, json};

use crate::{
    helpers::{Person, TestApp},
    ws_client::WsClient,
};

const UPDATED: &str =
    "subscription($id: ID!) { ticketUpdated(id: $id) { event { kind body } ticket { id status version } } }";
const EVENTS: &str = "subscription($f: TicketEventFilterInput) { ticketEvents(filter: $f) { event { kind } ticket { title customer { name } } } }";

async fn ticket(app: &TestApp, who: &Person, customer: &str, title: &str) -> String {
    let reply = app
        .gql(who, "mutation($c: ID!, $t: String!) { createTicket(input: {customerId: $c, title: $t, description: \"d\", category: QUALITY}) { id } }", json!({"c": customer, "t": title}))
        .await;
    reply.ok()["createTicket"]["id"].as_str().unwrap().to_owned()
}

async fn comment(app: &TestApp, who: &Person, ticket: &str) -> Value {
    let version = app
        .gql(who, "query($id: ID!) { node(id: $id) { ... on Ticket { version } } }", json!({"id": ticket}))
        .await
        .ok()["node"]["version"]
        .clone();
    app.gql(who, "mutation($id: ID!, $v: Int!) { commentOnTicket(id: $id, expectedVersion: $v, body: \"hello\") { ticket { version } } }", json!({"id": ticket, "v": version}))
        .await
        .ok()
        .clone()
}

#[tokio::test]
async fn a_subscriber_receives_every_change_of_a_ticket() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let id = ticket(&app, &cast.rep_a, &customer, "Broken pallet").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;

    ws.subscribe("1", UPDATED, json!({"id": id})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    comment(&app, &cast.rep_a, &id).await;
    let mut first = ws.next_data("1").await;
    // The ticket's creation committed before the subscription, but on PostgreSQL its announcement may reach
    // this instance after it (a busy listener): it may come first, and is not what this test is about.
    if first["data"]["ticketUpdated"]["event"]["kind"] == "CREATED" {
        first = ws.next_data("1").await;
    }
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!) { changeTicketStatus(id: $id, expectedVersion: 2, status: IN_PROGRESS) { status } }",
        json!({"id": id}),
    )
    .await
    .ok();
    let second = ws.next_data("1").await;

    assert_eq!(first["data"]["ticketUpdated"]["event"], json!({"kind": "COMMENT", "body": "hello"}));
    assert_eq!(first["data"]["ticketUpdated"]["ticket"]["version"], 2);
    assert_eq!(second["data"]["ticketUpdated"]["event"]["kind"], "STATUS_CHANGE");
    assert_eq!(second["data"]["ticketUpdated"]["ticket"]["status"], "IN_PROGRESS");
}

#[tokio::test]
async fn a_rep_never_receives_events_of_another_reps_customer() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let of_a = app.customer(&cast.rep_a, "Customer of A").await;
    let of_b = app.customer(&cast.rep_b, "Customer of B").await;
    let addr = app.listen().await;
    let mut rep_b = WsClient::connect(addr, "graphql-transport-ws").await;
    rep_b.init(&cast.rep_b.token).await;
    let mut leader = WsClient::connect(addr, "graphql-transport-ws").await;
    leader.init(&cast.leader.token).await;
    rep_b.subscribe("all", EVENTS, json!({})).await;
    leader.subscribe("all", EVENTS, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    ticket(&app, &cast.rep_a, &of_a, "Secret ticket").await;
    ticket(&app, &cast.rep_b, &of_b, "Own ticket").await;

    let seen_by_b = rep_b.next_data("all").await;
    assert_eq!(seen_by_b["data"]["ticketEvents"]["ticket"]["title"], "Own ticket", "A's ticket was skipped");
    assert_eq!(seen_by_b["data"]["ticketEvents"]["ticket"]["customer"]["name"], "Customer of B");
    rep_b.expect_silence().await;
    assert_eq!(leader.next_data("all").await["data"]["ticketEvents"]["ticket"]["title"], "Secret ticket");
    assert_eq!(leader.next_data("all").await["data"]["ticketEvents"]["ticket"]["title"], "Own ticket");
}

#[tokio::test]
async fn events_stop_after_the_account_is_reassigned_away() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let moving = app.customer(&cast.rep_a, "Moving").await;
    let staying = app.customer(&cast.rep_a, "Staying").await;
    let moving_ticket = ticket(&app, &cast.rep_a, &moving, "Moving ticket").await;
    let staying_ticket = ticket(&app, &cast.rep_a, &staying, "Staying ticket").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;
    ws.subscribe("mine", EVENTS, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    comment(&app, &cast.rep_a, &moving_ticket).await;
    let before = ws.next_data("mine").await;
    app.gql(
        &cast.leader,
        "mutation($id: ID!, $o: ID!) { updateCustomer(id: $id, input: {ownerId: $o}) { id } }",
        json!({"id": moving, "o": cast.rep_b.gid}),
    )
    .await
    .ok();
    comment(&app, &cast.leader, &moving_ticket).await;
    comment(&app, &cast.rep_a, &staying_ticket).await;
    let after = ws.next_data("mine").await;

    assert_eq!(before["data"]["ticketEvents"]["ticket"]["title"], "Moving ticket");
    assert_eq!(
        after["data"]["ticketEvents"]["ticket"]["title"], "Staying ticket",
        "the reassigned ticket's event was not delivered"
    );
}

#[tokio::test]
async fn filters_narrow_the_event_stream() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let acme = app.customer(&cast.leader, "Acme").await;
    let beta = app.customer(&cast.leader, "Beta").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.leader.token).await;
    ws.subscribe("acme", EVENTS, json!({"f": {"customerId": acme}})).await;
    ws.subscribe("mine", EVENTS, json!({"f": {"assignedToMe": true, "categories": ["DELIVERY"]}})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    ticket(&app, &cast.leader, &beta, "Beta quality").await;
    app.gql(&cast.leader, "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"Beta delivery\", description: \"d\", category: DELIVERY}) { id } }", json!({"c": beta, "a": cast.leader.gid}))
        .await
        .ok();
    ticket(&app, &cast.leader, &acme, "Acme quality").await;

    let mut received = Vec::new();
    for _ in 0..2 {
        let message = ws.next_json().await;
        let title =
            message["payload"]["data"]["ticketEvents"]["ticket"]["title"].as_str().unwrap_or_default().to_owned();
        received.push((message["id"].as_str().unwrap_or_default().to_owned(), title));
    }
    ws.expect_silence().await;
    // Two subscriptions on one connection: their messages may interleave either way.
    received.sort();
    let expected = [("acme".to_owned(), "Acme quality".to_owned()), ("mine".to_owned(), "Beta delivery".to_owned())];
    assert_eq!(received, expected);
}

#[tokio::test]
async fn subscribing_to_an_invisible_ticket_is_an_error_message() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let of_b = app.customer(&cast.rep_b, "Customer of B").await;
    let id = ticket(&app, &cast.rep_b, &of_b, "Secret").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;

    ws.subscribe("1", UPDATED, json!({"id": id})).await;
    let not_found = ws.next_json().await;
    let completed = ws.next_json().await;
    ws.subscribe("2", "subscription { nope }", json!({})).await;
    let invalid = ws.next_json().await;

    assert_eq!(not_found["type"], "next");
    assert_eq!(not_found["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(completed, json!({"id": "1", "type": "complete"}));
    assert_eq!(invalid["type"], "error", "a validation error is an `error` message: {invalid}");
    assert_eq!(invalid["id"], "2");
}

#[tokio::test]
async fn the_protocol_is_enforced_with_its_close_codes() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let addr = app.listen().await;
    let protocol = "graphql-transport-ws";

    let mut silent = WsClient::connect(addr, protocol).await;
    assert_eq!(silent.expect_close().await, 4408, "no connection_init in time");

    let mut forged = WsClient::connect(addr, protocol).await;
    forged.send(json!({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})).await;
    assert_eq!(forged.expect_close().await, 4403);

    let mut anonymous = WsClient::connect(addr, protocol).await;
    anonymous.send(json!({"type": "connection_init"})).await;
    assert_eq!(anonymous.expect_close().await, 4403);

    let mut eager = WsClient::connect(addr, protocol).await;
    eager.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(eager.expect_close().await, 4401);

    let mut garbage = WsClient::connect(addr, protocol).await;
    garbage.init(&cast.rep_a.token).await;
    garbage.send_raw("{not json").await;
    assert_eq!(garbage.expect_close().await, 4400);

    let mut twice = WsClient::connect(addr, protocol).await;
    twice.init(&cast.rep_a.token).await;
    twice.subscribe("same", EVENTS, json!({})).await;
    twice.subscribe("same", EVENTS, json!({})).await;
    assert_eq!(twice.expect_close().await, 4409);

    let mut pinger = WsClient::connect(addr, protocol).await;
    pinger.init(&cast.rep_a.token).await;
    pinger.send(json!({"type": "ping"})).await;
    assert_eq!(pinger.next_json().await["type"], "pong");
    pinger.subscribe("x", EVENTS, json!({})).await;
    pinger.send(json!({"id": "x", "type": "complete"})).await;
    pinger.subscribe("x", EVENTS, json!({})).await;
    pinger.send(json!({"type": "ping"})).await;
    assert_eq!(pinger.next_json().await["type"], "pong", "an id can be reused after complete, with no echo");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_is_served() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let mut ws = WsClient::connect(app.listen().await, "graphql-ws").await;

    ws.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", cast.rep_a.token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "1", "type": "start", "payload": {"query": EVENTS}})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    ticket(&app, &cast.rep_a, &customer, "Legacy").await;
    let data = ws.next_json().await;

    assert_eq!(data["type"], "data");
    assert_eq!(data["payload"]["data"]["ticketEvents"]["ticket"]["title"], "Legacy");
}

/// The shared-execution document: the ticket's customer and owner come from the database.
const WATCH: &str = "subscription($id: ID!) { ticketUpdated(id: $id) { event { kind } ticket { status customer { name owner { name } } } } }";

async fn watchers(app: &TestApp, who: &Person, ticket: &str, count: usize) -> Vec<WsClient> {
    let mut sockets = Vec::new();
    for n in 0..count {
        let mut ws = WsClient::connect(app.listen().await, "graphql-transport-ws").await;
        ws.init(&who.token).await;
        ws.subscribe(&n.to_string(), WATCH, json!({"id": ticket})).await;
        sockets.push(ws);
    }
    sockets
}

async fn settle(app: &TestApp, groups: usize) {
    for _ in 0..100 {
        if app.state.fanout.groups() == groups {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("expected {groups} groups, found {}", app.state.fanout.groups());
}

#[tokio::test]
async fn each_event_is_executed_once_per_distinct_subscription_whatever_the_subscribers() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let second_leader = app.person("leader.two@t.example", entity::enums::Role::Leader, None, &[]).await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let id = ticket(&app, &cast.rep_a, &customer, "Broken pallet").await;

    // Two leaders share one execution, the team lead has another: two groups.
    let mut sockets = watchers(&app, &cast.leader, &id, 12).await;
    sockets.extend(watchers(&app, &second_leader, &id, 12).await);
    sockets.extend(watchers(&app, &cast.lead_a, &id, 6).await);
    settle(&app, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A first event warms what is kept in memory (the owner's record).
    comment(&app, &cast.rep_a, &id).await;
    for (n, ws) in sockets.iter_mut().enumerate() {
        ws.next_data(&(n % 12).to_string()).await;
    }

    let executions = app.state.fanout.executions();
    app.reset_statements();
    comment(&app, &cast.rep_a, &id).await;
    let mut payloads = Vec::new();
    for (n, ws) in sockets.iter_mut().enumerate() {
        payloads.push(ws.next_data(&(n % 12).to_string()).await);
    }
    let with_thirty = app.statements();
    let executed = app.state.fanout.executions() - executions;

    // The same event with one subscriber per group costs the same statements.
    let mut kept = Vec::new();
    for (n, ws) in sockets.into_iter().enumerate() {
        if n == 0 || n == 24 {
            kept.push(ws);
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    settle(&app, 2).await;
    app.reset_statements();
    comment(&app, &cast.rep_a, &id).await;
    for ws in &mut kept {
        ws.next_data("0").await;
    }
    let with_two = app.statements();

    assert_eq!(executed, 2, "one execution per group for one event");
    assert_eq!(with_thirty, with_two, "statements with 30 subscribers: {with_thirty}, with 2: {with_two}");
    let expected = json!({"kind": "COMMENT"});
    assert!(payloads.iter().all(|p| p["data"]["ticketUpdated"]["event"] == expected));
    assert!(payloads.iter().all(|p| p["data"]["ticketUpdated"]["ticket"]["customer"]["owner"]["name"] == "rep.a"));
}

#[tokio::test]
async fn a_shared_subscription_follows_each_members_own_access() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let id = ticket(&app, &cast.rep_a, &customer, "Broken pallet").await;
    let mut leaders = watchers(&app, &cast.leader, &id, 2).await;
    let mut lead = watchers(&app, &cast.lead_a, &id, 1).await;
    settle(&app, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // The team lead moves to team B: the ticket is no longer theirs to see.
    // The leaders' shared execution goes on; the lead's next result comes
    // from their new class, which does not see the ticket.
    app.gql(
        &cast.admin,
        "mutation($id: ID!, $t: ID!) { updateUser(id: $id, input: {teamId: $t}) { id } }",
        json!({"id": cast.lead_a.gid, "t": crate::helpers::gid("Team", cast.team_b)}),
    )
    .await
    .ok();
    comment(&app, &cast.rep_a, &id).await;

    assert_eq!(leaders[0].next_data("0").await["data"]["ticketUpdated"]["event"]["kind"], "COMMENT");
    assert_eq!(leaders[1].next_data("1").await["data"]["ticketUpdated"]["event"]["kind"], "COMMENT");
    lead[0].expect_silence().await;
}

#[tokio::test]
async fn two_leaders_filtering_by_assigned_to_me_through_a_variable_each_get_only_their_own_tickets() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let leader2 = app.person("leader2@t.example", entity::enums::Role::Leader, None, &[]).await;
    let acme = app.customer(&cast.leader, "Acme").await;
    let addr = app.listen().await;
    let mut first = WsClient::connect(addr, "graphql-transport-ws").await;
    first.init(&cast.leader.token).await;
    let mut second = WsClient::connect(addr, "graphql-transport-ws").await;
    second.init(&leader2.token).await;
    // The same document and variables, and the same visibility class: only the resolved argument tells.
    let mine = json!({"f": {"assignedToMe": true}});
    first.subscribe("mine", EVENTS, mine.clone()).await;
    second.subscribe("mine", EVENTS, mine).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let create = "mutation($c: ID!, $a: ID!, $t: String!) { createTicket(input: {customerId: $c, assigneeId: $a, title: $t, description: \"d\", category: DELIVERY}) { id } }";
    app.gql(&cast.leader, create, json!({"c": acme, "a": cast.leader.gid, "t": "for the first"})).await.ok();
    let got = first.next_data("mine").await;
    assert_eq!(got["data"]["ticketEvents"]["ticket"]["title"], "for the first");
    second.expect_silence().await;

    app.gql(&cast.leader, create, json!({"c": acme, "a": leader2.gid, "t": "for the second"})).await.ok();
    let got = second.next_data("mine").await;
    assert_eq!(got["data"]["ticketEvents"]["ticket"]["title"], "for the second");
    first.expect_silence().await;

    // The same through a variable's default, with no variables sent.
    let by_default = "subscription($f: TicketEventFilterInput = {assignedToMe: true}) { ticketEvents(filter: $f) { event { kind } ticket { title customer { name } } } }";
    first.subscribe("default", by_default, json!({})).await;
    second.subscribe("default", by_default, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.gql(&cast.leader, create, json!({"c": acme, "a": cast.leader.gid, "t": "again the first"})).await.ok();
    // The first leader gets it on both subscriptions; the second on neither.
    for _ in 0..2 {
        let message = first.next_json().await;
        assert_eq!(message["payload"]["data"]["ticketEvents"]["ticket"]["title"], "again the first");
    }
    second.expect_silence().await;
}
