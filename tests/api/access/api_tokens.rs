//! API tokens: created once, stored hashed, narrowed, listed, revoked at once.

use sea_orm::ConnectionTrait;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::TestApp;

const CREATE: &str = r#"mutation($u: ID!, $name: String!, $scopes: [String!], $exp: DateTime) {
  createApiToken(userId: $u, name: $name, scopes: $scopes, expiresAt: $exp) {
    token apiToken { id name scopes prefix active expiresAt } } }"#;

#[tokio::test]
async fn a_token_carries_its_scopes_only_is_stored_hashed_and_ends_when_revoked() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let reply = app
        .gql(&cast.admin, CREATE, json!({"u": cast.integration.gid, "name": "warehouse", "scopes": ["customers:read"]}))
        .await;
    let created = &reply.ok()["createApiToken"];
    let token = created["token"].as_str().unwrap().to_owned();
    let token_id = created["apiToken"]["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rpt_"));
    assert_eq!(created["apiToken"]["scopes"], json!(["customers:read"]));
    assert!(token.starts_with(created["apiToken"]["prefix"].as_str().unwrap()));

    // Only the hash is stored.
    let stored = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT token_hash FROM api_token",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = stored.try_get("", "token_hash").unwrap();
    assert_eq!(hash, hex::encode(Sha256::digest(token.as_bytes())));

    // The account holds four scopes; the token carries one.
    let read = app
        .gql_as(Some(&token), "query($id: ID!) { node(id: $id) { ... on Customer { name } } }", json!({"id": customer}))
        .await;
    assert_eq!(read.ok()["node"]["name"], "Acme");
    let tickets = app.gql_as(Some(&token), "{ tickets { totalCount } }", json!({})).await;
    assert_eq!(tickets.code(), Some("FORBIDDEN"));
    let graph = app
        .gql_as(
            Some(&token),
            "query($id: ID!) { relationshipGraph(rootId: $id) { truncated } }",
            json!({"id": customer}),
        )
        .await;
    assert_eq!(graph.code(), Some("FORBIDDEN"));
    // The account's own token (a JWT) still reads tickets.
    assert!(app.gql(&cast.integration, "{ tickets { totalCount } }", json!({})).await.code().is_none());

    // Listed without its value, with its last use.
    let mut listed = serde_json::Value::Null;
    for _ in 0..40 {
        let list = app
            .gql(&cast.admin, "{ apiTokens { totalCount edges { node { id name lastUsedAt active } } } }", json!({}))
            .await;
        listed = list.ok()["apiTokens"].clone();
        if listed["edges"][0]["node"]["lastUsedAt"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(listed["totalCount"], 1);
    assert_eq!(listed["edges"][0]["node"]["name"], "warehouse");
    assert!(listed["edges"][0]["node"]["lastUsedAt"].is_string());
    assert!(!listed.to_string().contains(&token[4..]));
    let audit = app.gql(&cast.admin, "{ auditLog(first: 100) { edges { node { changes } } } }", json!({})).await;
    assert!(!audit.text.contains(&token[4..]));

    // Narrowing the account narrows the token at once.
    app.gql(
        &cast.admin,
        "mutation($id: ID!) { updateUser(id: $id, input: {scopes: [\"tickets:read\"]}) { id } }",
        json!({"id": cast.integration.gid}),
    )
    .await
    .ok();
    let read = app.gql_as(Some(&token), "{ customers { totalCount } }", json!({})).await;
    assert_eq!(read.code(), Some("FORBIDDEN"));

    // Revoked: refused at once.
    let revoked = app
        .gql(
            &cast.admin,
            "mutation($id: ID!) { revokeApiToken(id: $id) { active revokedAt } }",
            json!({"id": token_id}),
        )
        .await;
    assert_eq!(revoked.ok()["revokeApiToken"]["active"], false);
    let refused = app.gql_as(Some(&token), "{ customers { totalCount } }", json!({})).await;
    assert_eq!(refused.status, axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn tokens_are_for_service_accounts_within_their_scopes_and_expire() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let reply = app.gql(&cast.leader, CREATE, json!({"u": cast.integration.gid, "name": "x"})).await;
    assert_eq!(reply.code(), Some("FORBIDDEN"));
    for (user, scopes) in [
        (&cast.integration_unscoped, json!(["customers:read"])),
        (&cast.rep_a, serde_json::Value::Null),
        (&cast.integration, json!(["admin:everything"])),
    ] {
        let reply = app.gql(&cast.admin, CREATE, json!({"u": user.gid, "name": "x", "scopes": scopes})).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{}", reply.text);
    }
    let reply = app
        .gql(&cast.admin, CREATE, json!({"u": cast.integration.gid, "name": "x", "exp": "2020-01-01T00:00:00Z"}))
        .await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    assert_eq!(app.count("api_token").await, 0);

    // Omitted scopes: all of the account's. An expiry in the past ends it.
    let reply = app
        .gql(&cast.admin, CREATE, json!({"u": cast.integration.gid, "name": "erp", "exp": "2099-01-01T00:00:00Z"}))
        .await;
    let token = reply.ok()["createApiToken"]["token"].as_str().unwrap().to_owned();
    assert_eq!(reply.ok()["createApiToken"]["apiToken"]["scopes"].as_array().unwrap().len(), 4);
    assert!(app.gql_as(Some(&token), "{ tickets { totalCount } }", json!({})).await.code().is_none());
    app.set_time("api_token", "expires_at", chrono::Utc::now() - chrono::Duration::seconds(1), "1 = 1").await;
    let refused = app.gql_as(Some(&token), "{ tickets { totalCount } }", json!({})).await;
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));
    // A made-up token is refused like any bad token.
    let refused = app.gql_as(Some("rpt_made-up"), "{ tickets { totalCount } }", json!({})).await;
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn revoking_a_token_closes_its_open_websocket_connections() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let reply = app.gql(&cast.admin, CREATE, json!({"u": cast.integration.gid, "name": "live"})).await;
    let token = reply.ok()["createApiToken"]["token"].as_str().unwrap().to_owned();
    let id = reply.ok()["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned();
    let mut ws = crate::ws_client::WsClient::connect(app.listen().await, "graphql-transport-ws").await;
    ws.init(&token).await;
    ws.subscribe("live", "subscription { ticketEvents { ticket { id } } }", json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.gql(&cast.admin, "mutation($id: ID!) { revokeApiToken(id: $id) { active } }", json!({"id": id})).await.ok();
    let closed = ws.next_within(std::time::Duration::from_secs(2)).await;
    assert_eq!(closed, Some(Err((4403, "Forbidden: the API token was revoked".to_owned()))));
}

#[tokio::test]
async fn a_token_stops_working_when_its_account_stops_being_a_service_account() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let reply = app.gql(&cast.admin, CREATE, json!({"u": cast.integration.gid, "name": "erp"})).await;
    let token = reply.ok()["createApiToken"]["token"].as_str().unwrap().to_owned();
    let addr = app.listen().await;
    let mut ws = crate::ws_client::WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(&token).await;
    assert!(app.gql_as(Some(&token), "{ customers { totalCount } }", json!({})).await.code().is_none());

    // Made a LEADER: the token does not become a LEADER's credential.
    let promoted = app
        .gql(
            &cast.admin,
            "mutation($id: ID!) { updateUser(id: $id, input: {role: LEADER}) { role } }",
            json!({"id": cast.integration.gid}),
        )
        .await;
    assert_eq!(promoted.ok()["updateUser"]["role"], "LEADER");
    for query in ["{ auditLog { totalCount } }", "{ users { edges { node { email phone } } } }", "{ viewer { name } }"]
    {
        let reply = app.gql_as(Some(&token), query, json!({})).await;
        assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "{query}: {}", reply.body);
    }
    // Revoked in the same change, and recorded with it.
    let tokens = app.gql(&cast.admin, "{ apiTokens { edges { node { active revokedAt } } } }", json!({})).await;
    assert_eq!(tokens.ok()["apiTokens"]["edges"][0]["node"]["active"], false);
    let audit =
        app.gql(&cast.admin, "{ auditLog(first: 5) { edges { node { entity action changes } } } }", json!({})).await;
    let update = audit.ok()["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["entity"] == "user" && e["node"]["action"] == "update")
        .cloned()
        .unwrap();
    assert_eq!(update["node"]["changes"]["revokedApiTokens"], 1);
    // Its open socket closes.
    assert_eq!(ws.expect_close().await, 4403);
    // Made a service account again, the old token stays dead.
    app.gql(
        &cast.admin,
        "mutation($id: ID!) { updateUser(id: $id, input: {role: INTEGRATION, scopes: [\"customers:read\"]}) { role } }",
        json!({"id": cast.integration.gid}),
    )
    .await
    .ok();
    let reply = app.gql_as(Some(&token), "{ customers { totalCount } }", json!({})).await;
    assert_eq!(reply.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_token_of_an_account_changed_outside_the_api_authenticates_nobody() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let reply = app.gql(&cast.admin, CREATE, json!({"u": cast.integration.gid, "name": "erp"})).await;
    let token = reply.ok()["createApiToken"]["token"].as_str().unwrap().to_owned();
    // A role changed by SQL, behind the API's back, revokes nothing; the token still may not act as a person.
    app.db
        .execute_unprepared(&format!("UPDATE app_user SET role = 'LEADER' WHERE id = {}", cast.integration.id))
        .await
        .unwrap();
    let reply = app.gql_as(Some(&token), "{ auditLog { totalCount } }", json!({})).await;
    assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "{}", reply.body);
}
