//! Password logins, rotating refresh tokens, logout and throttling.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken accessTokenExpiresAt user { email } } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const PASSWORD: &str = "correct horse battery staple";

async fn anonymous(app: &TestApp, query: &str, variables: Value) -> Reply {
    app.gql_as(None, query, variables).await
}

#[tokio::test]
async fn a_login_gives_tokens_that_rotate_and_a_reused_refresh_token_revokes_the_login() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", PASSWORD.into()).await.unwrap();

    let login = anonymous(&app, LOGIN, json!({"e": "Rep.A@t.example", "p": PASSWORD})).await;
    let session = login.ok()["login"].clone();
    let access = session["accessToken"].as_str().unwrap();
    let viewer = app.gql_as(Some(access), "{ viewer { email } }", json!({})).await;
    let first_refresh = session["refreshToken"].as_str().unwrap().to_owned();
    let rotated = anonymous(&app, REFRESH, json!({"t": first_refresh})).await;
    let second_refresh = rotated.ok()["refreshToken"]["refreshToken"].as_str().unwrap().to_owned();
    let reused = anonymous(&app, REFRESH, json!({"t": first_refresh})).await;
    let after_reuse = anonymous(&app, REFRESH, json!({"t": second_refresh})).await;

    assert_eq!(session["user"]["email"], "rep.a@t.example");
    assert_eq!(viewer.ok()["viewer"]["email"], "rep.a@t.example");
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(reused.code(), Some("UNAUTHENTICATED"));
    assert_eq!(after_reuse.code(), Some("UNAUTHENTICATED"), "reuse revoked the whole login");
    let _ = cast;
}

async fn login_refresh(app: &TestApp) -> String {
    let reply = anonymous(app, LOGIN, json!({"e": "rep.a@t.example", "p": PASSWORD})).await;
    reply.ok()["login"]["refreshToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn logout_and_deactivation_end_refresh_tokens() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", PASSWORD.into()).await.unwrap();
    let first = login_refresh(&app).await;
    let logged_out = anonymous(&app, "mutation($t: String!) { logout(refreshToken: $t) }", json!({"t": first})).await;
    let after_logout = anonymous(&app, REFRESH, json!({"t": first})).await;
    let second = login_refresh(&app).await;
    app.gql(
        &cast.leader,
        "mutation($id: ID!, $to: ID!) { deactivateUser(id: $id, reassignTo: $to) { active } }",
        json!({"id": cast.rep_a.gid, "to": cast.rep_a2.gid}),
    )
    .await
    .ok();
    let after_deactivation = anonymous(&app, REFRESH, json!({"t": second})).await;
    let login_inactive = anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": PASSWORD})).await;

    assert_eq!(logged_out.ok()["logout"], true);
    assert_eq!(after_logout.code(), Some("UNAUTHENTICATED"));
    assert_eq!(after_deactivation.code(), Some("UNAUTHENTICATED"));
    assert_eq!(login_inactive.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let app = TestApp::spawn().await;
    app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.b@t.example", PASSWORD.into()).await.unwrap();

    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(
            anonymous(&app, LOGIN, json!({"e": "rep.b@t.example", "p": "wrong password!"}))
                .await
                .code()
                .map(str::to_owned),
        );
    }
    let then_correct = anonymous(&app, LOGIN, json!({"e": "rep.b@t.example", "p": PASSWORD})).await;
    let short = rapport::service::sessions::set_password(&app.db, "rep.b@t.example", "short".into()).await;

    assert!(codes.iter().all(|c| c.as_deref() == Some("UNAUTHENTICATED")));
    assert_eq!(then_correct.code(), Some("RATE_LIMITED"));
    assert!(short.is_err(), "passwords have a minimum length");
}

#[tokio::test]
async fn only_signing_in_works_without_a_token() {
    let app = TestApp::spawn().await;
    app.cast().await;

    let mixed = anonymous(
        &app,
        "mutation { login(email: \"a@b.example\", password: \"x\") { accessToken } createTeam(name: \"t\") { id } }",
        json!({}),
    )
    .await;
    let query = anonymous(&app, "{ viewer { email } }", json!({})).await;
    let service_account = anonymous(&app, LOGIN, json!({"e": "erp@t.example", "p": PASSWORD})).await;

    assert_eq!(mixed.code(), Some("UNAUTHENTICATED"));
    assert_eq!(mixed.status, axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(query.code(), Some("UNAUTHENTICATED"));
    assert_eq!(service_account.code(), Some("UNAUTHENTICATED"), "service accounts use tokens, not passwords");
}
