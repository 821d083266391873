//! A person's details (e-mail, phone, role, scopes, version) follow one rule
//! on every path that shows a user: leadership reads everyone's, a team lead
//! their team's and their own, anyone else their own. Each path is asked as
//! each principal and compared with the rule.

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp};

const DETAILS: &str = "id email phone role scopes version";

/// Every path that shows the owner rep.a, with the details it shows (null or
/// the value), found in the answer by walking to each user object.
fn users_in(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("phone") && map.contains_key("email") {
                out.push(value.clone());
            }
            map.values().for_each(|v| users_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| users_in(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_path_to_a_user_shows_details_exactly_when_the_rule_allows() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    app.gql(
        &cast.admin,
        "mutation($id: ID!) { updateUser(id: $id, input: {phone: \"+1 555 0100\"}) { id } }",
        json!({"id": cast.rep_a.gid}),
    )
    .await
    .ok();
    let customer = app.customer(&cast.rep_a, "Acme").await;
    app.contact(&cast.rep_a, &customer, "Ann", "EXECUTIVE").await;
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: QUALITY}) { id } }",
        json!({"c": customer, "a": cast.rep_a.gid}),
    )
    .await
    .ok();
    app.gql(
        &cast.rep_a,
        "mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: \"x\"}) { id } }",
        json!({"c": customer}),
    )
    .await
    .ok();
    let integration = app
        .person(
            "all@t.example",
            entity::enums::Role::Integration,
            None,
            &["customers:read", "graph:read", "tickets:read"],
        )
        .await;

    let paths: Vec<(&str, String)> = vec![
        ("customer.owner", format!("query($c: ID!) {{ customer(id: $c) {{ owner {{ {DETAILS} }} }} }}")),
        ("customers.owner", format!("{{ customers {{ edges {{ node {{ owner {{ {DETAILS} }} }} }} }} }}")),
        (
            "ticket.assignee and event actors",
            format!(
                "{{ tickets {{ edges {{ node {{ assignee {{ {DETAILS} }} recentEvents {{ actor {{ {DETAILS} }} }} }} }} }} }}"
            ),
        ),
        ("communication.user", format!("{{ communications {{ edges {{ node {{ user {{ {DETAILS} }} }} }} }} }}")),
        ("node(id:) of the user", format!("query($u: ID!) {{ node(id: $u) {{ ... on User {{ {DETAILS} }} }} }}")),
        (
            "relationshipGraph nodes",
            format!("query($c: ID!) {{ relationshipGraph(rootId: $c) {{ nodes {{ ... on User {{ {DETAILS} }} }} }} }}"),
        ),
        (
            "changes nodes",
            format!("{{ changes {{ changes {{ node {{ ... on Customer {{ owner {{ {DETAILS} }} }} }} }} }} }}"),
        ),
        ("customerAggregates owner", format!("{{ customerAggregates(groupBy: [OWNER]) {{ owner {{ {DETAILS} }} }} }}")),
    ];

    // (who, may see the account, may read the owner's details)
    let principals: Vec<(&str, &Person, bool, bool)> = vec![
        ("ADMIN", &cast.admin, true, true),
        ("LEADER", &cast.leader, true, true),
        ("TEAM_LEAD of the owner's team", &cast.lead_a, true, true),
        ("the owner", &cast.rep_a, true, true),
        ("a rep of the same team", &cast.rep_a2, false, false),
        ("a rep of another team", &cast.rep_b, false, false),
        ("a service account", &integration, true, false),
    ];
    let vars = json!({"c": customer, "u": cast.rep_a.gid});
    for (who, person, sees_account, sees) in &principals {
        let mut seen_paths = 0;
        for (path, query) in &paths {
            let reply = app.gql(person, query, vars.clone()).await;
            let mut users = Vec::new();
            users_in(&reply.body["data"], &mut users);
            let owners: Vec<&Value> = users.iter().filter(|u| u["id"] == cast.rep_a.gid.as_str()).collect();
            for user in &owners {
                if *sees {
                    assert_eq!(user["phone"], "+1 555 0100", "{who} via {path}: {user}");
                    assert_eq!(user["email"], "rep.a@t.example", "{who} via {path}");
                    assert_eq!(user["role"], "REP", "{who} via {path}");
                    assert!(user["version"].is_number(), "{who} via {path}");
                } else {
                    for detail in ["email", "phone", "role", "scopes", "version"] {
                        assert!(user[detail].is_null(), "{who} reads {detail} via {path}: {user}");
                    }
                }
            }
            seen_paths += usize::from(!owners.is_empty());
        }
        // accountStatus names the owner's phone, under the same rule.
        let status = app
            .gql(person, "query($c: ID!) { accountStatus(customerId: $c) { ownerName ownerPhone } }", vars.clone())
            .await;
        if !sees_account {
            assert_eq!(status.code(), Some("NOT_FOUND"), "{who}");
            // Only the user record itself (their own) could show them; nobody else's.
            assert_eq!(seen_paths, 0, "{who} met the owner");
            continue;
        }
        let status = &status.ok()["accountStatus"];
        assert_eq!(status["ownerName"], "rep.a");
        if *sees {
            assert_eq!(status["ownerPhone"], "+1 555 0100", "{who}");
        } else {
            assert!(status["ownerPhone"].is_null(), "{who} reads the owner's phone in accountStatus");
        }
        assert!(seen_paths >= 5, "{who} met the owner on only {seen_paths} paths");
    }
}
