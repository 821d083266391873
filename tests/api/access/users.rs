//! Users: who sees which details of whom, and `updateUser`.

use serde_json::json;

use crate::helpers::{TestApp, gid};

const DETAILS: &str = "{ name active email phone role scopes }";

#[tokio::test]
async fn colleagues_see_each_others_names_but_details_only_along_the_hierarchy() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    // Leadership assigns a ticket of rep A's customer to rep B (another team).
    app.gql(&cast.leader, "mutation($c: ID!, $a: ID!) { createTicket(input: {customerId: $c, assigneeId: $a, title: \"t\", description: \"d\", category: PRICE}) { id } }", json!({"c": customer, "a": cast.rep_b.gid}))
        .await
        .ok();
    let query = format!("{{ tickets {{ edges {{ node {{ assignee {DETAILS} customer {{ owner {DETAILS} }} }} }} }} }}");

    let as_rep = app.gql(&cast.rep_a, &query, json!({})).await;
    let as_lead = app.gql(&cast.lead_a, &query, json!({})).await;
    let as_leader = app.gql(&cast.leader, &query, json!({})).await;
    let rep_b_by_node =
        app.gql(&cast.rep_a, "query($id: ID!) { node(id: $id) { id } }", json!({"id": cast.rep_b.gid})).await;
    let users_as_rep = app.gql(&cast.rep_a, "{ users { totalCount } }", json!({})).await;

    let node = &as_rep.ok()["tickets"]["edges"][0]["node"];
    assert_eq!(
        node["assignee"],
        json!({"name": "rep.b", "active": true, "email": null, "phone": null, "role": null, "scopes": null}),
        "a rep sees a colleague's name, not their details"
    );
    assert_eq!(node["customer"]["owner"]["email"], "rep.a@t.example", "their own details");
    let lead_view = &as_lead.ok()["tickets"]["edges"][0]["node"];
    assert_eq!(lead_view["customer"]["owner"]["role"], "REP", "a team lead sees their team's details");
    assert_eq!(lead_view["assignee"]["email"], json!(null), "but not another team's");
    assert_eq!(as_leader.ok()["tickets"]["edges"][0]["node"]["assignee"]["email"], "rep.b@t.example");
    assert_eq!(rep_b_by_node.ok()["node"], json!(null));
    assert_eq!(users_as_rep.ok()["users"]["totalCount"], 1);
}

#[tokio::test]
async fn only_an_admin_updates_users_and_bad_changes_write_nothing() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let update = "mutation($id: ID!, $v: Int, $input: UpdateUserInput!) { updateUser(id: $id, expectedVersion: $v, input: $input) { name phone role scopes version team { name } } }";

    let by_leader = app.gql(&cast.leader, update, json!({"id": cast.rep_a.gid, "input": {"name": "X"}})).await;
    let unknown_scope =
        app.gql(&cast.admin, update, json!({"id": cast.integration.gid, "input": {"scopes": ["everything"]}})).await;
    let scopes_on_a_person =
        app.gql(&cast.admin, update, json!({"id": cast.rep_a.gid, "input": {"scopes": ["tickets:read"]}})).await;
    let moved = app
        .gql(
            &cast.admin,
            update,
            json!({"id": cast.rep_a.gid, "v": 1, "input": {"name": "Ana", "phone": "+44 1", "teamId": gid("Team", cast.team_b)}}),
        )
        .await;
    let stale = app.gql(&cast.admin, update, json!({"id": cast.rep_a.gid, "v": 1, "input": {"name": "Late"}})).await;
    let narrowed =
        app.gql(&cast.admin, update, json!({"id": cast.integration.gid, "input": {"scopes": ["tickets:read"]}})).await;

    assert_eq!(by_leader.code(), Some("FORBIDDEN"));
    assert_eq!(unknown_scope.code(), Some("BAD_USER_INPUT"));
    assert_eq!(scopes_on_a_person.code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        moved.ok()["updateUser"],
        json!({"name": "Ana", "phone": "+44 1", "role": "REP", "scopes": [], "version": 2, "team": {"name": "Team B"}})
    );
    assert_eq!(stale.code(), Some("CONFLICT"));
    assert_eq!(stale.body["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(narrowed.ok()["updateUser"]["scopes"], json!(["tickets:read"]));
    let customers = app.gql(&cast.integration, "{ customers { totalCount } }", json!({})).await;
    assert_eq!(customers.code(), Some("FORBIDDEN"), "the narrowed scopes apply to the next request");
}
