//! Letting people in over the API: invitations redeemed once, a password
//! change that ends other logins, and the demo's development password.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

const INVITE: &str =
    "mutation($id: ID!, $h: Int) { inviteUser(id: $id, validForHours: $h) { token expiresAt user { email } } }";
const ACCEPT: &str = "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { accessToken refreshToken user { email } } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }";
const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken user { email } } }";
const FIRST: &str = "my first password 1";
const SECOND: &str = "my second password 2";

async fn anonymous(app: &TestApp, query: &str, variables: Value) -> Reply {
    app.gql_as(None, query, variables).await
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")).await
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_once_and_signs_in_with_it() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let created = app
        .gql(
            &cast.admin,
            "mutation { createUser(input: {email: \"new.rep@t.example\", name: \"New Rep\", role: REP}) { id } }",
            json!({}),
        )
        .await;
    let id = created.ok()["createUser"]["id"].as_str().unwrap().to_owned();
    let before = anonymous(&app, LOGIN, json!({"e": "new.rep@t.example", "p": FIRST})).await;
    assert_eq!(before.code(), Some("UNAUTHENTICATED"), "no password yet");

    let invited = app.gql(&cast.admin, INVITE, json!({"id": id, "h": 48})).await;
    let invitation = invited.ok()["inviteUser"].clone();
    let token = invitation["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("inv_") && token.len() > 40, "{token}");
    let expires: chrono::DateTime<chrono::Utc> = invitation["expiresAt"].as_str().unwrap().parse().unwrap();
    let hours = (expires - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((47.9..=48.0).contains(&hours), "{hours}");
    let stored: i64 =
        app.scalar(&format!("SELECT COUNT(*) FROM invitation WHERE token_hash LIKE '%{}%'", &token[4..20])).await;
    assert_eq!(stored, 0, "only the token's hash is stored");

    let weak = anonymous(&app, ACCEPT, json!({"t": token, "p": "short"})).await;
    assert_eq!(weak.code(), Some("BAD_USER_INPUT"), "a weak password spends nothing");
    let accepted = anonymous(&app, ACCEPT, json!({"t": token, "p": FIRST})).await;
    let session = accepted.ok()["acceptInvitation"].clone();
    assert_eq!(session["user"]["email"], "new.rep@t.example");
    let viewer = app.gql_as(session["accessToken"].as_str(), "{ viewer { email role } }", json!({})).await;
    assert_eq!(viewer.ok()["viewer"]["role"], "REP");
    let again = anonymous(&app, ACCEPT, json!({"t": token, "p": SECOND})).await;
    assert_eq!(again.code(), Some("UNAUTHENTICATED"), "an invitation is good once");
    let login = anonymous(&app, LOGIN, json!({"e": "new.rep@t.example", "p": FIRST})).await;
    assert!(login.ok()["login"]["accessToken"].is_string());
    let old_password = anonymous(&app, LOGIN, json!({"e": "new.rep@t.example", "p": SECOND})).await;
    assert_eq!(old_password.code(), Some("UNAUTHENTICATED"), "the refused second redemption set nothing");

    assert_eq!(audited(&app, "invite").await, 1);
    assert_eq!(audited(&app, "accept_invitation").await, 1);
    assert_eq!(audited(&app, "login_refused").await, 3, "the login before, the spent invitation, the wrong password");
}

#[tokio::test]
async fn invitations_expire_are_replaced_and_are_for_people_only() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let first = app.gql(&cast.admin, INVITE, json!({"id": cast.rep_a2.gid})).await.ok()["inviteUser"]["token"].clone();
    let second = app.gql(&cast.admin, INVITE, json!({"id": cast.rep_a2.gid})).await.ok()["inviteUser"]["token"].clone();
    let replaced = anonymous(&app, ACCEPT, json!({"t": first, "p": FIRST})).await;
    assert_eq!(replaced.code(), Some("UNAUTHENTICATED"), "a newer invitation replaces an open one");

    app.set_time("invitation", "expires_at", chrono::Utc::now() - chrono::Duration::minutes(1), "revoked_at IS NULL")
        .await;
    let expired = anonymous(&app, ACCEPT, json!({"t": second, "p": FIRST})).await;
    assert_eq!(expired.code(), Some("UNAUTHENTICATED"));

    let by_leader = app.gql(&cast.leader, INVITE, json!({"id": cast.rep_a2.gid})).await;
    assert_eq!(by_leader.code(), Some("FORBIDDEN"));
    let service_account = app.gql(&cast.admin, INVITE, json!({"id": cast.integration.gid})).await;
    assert_eq!(service_account.code(), Some("BAD_USER_INPUT"));
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", FIRST.into()).await.unwrap();
    let takeover = app.gql(&cast.admin, INVITE, json!({"id": cast.rep_a.gid})).await;
    assert_eq!(takeover.code(), Some("CONFLICT"), "an invitation is for a first password only");
    for hours in [0, 337] {
        let reply = app.gql(&cast.admin, INVITE, json!({"id": cast.rep_a2.gid, "h": hours})).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{hours} hours");
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], "validForHours");
    }
    let invitations: i64 = app.scalar("SELECT COUNT(*) FROM invitation").await;
    assert_eq!(invitations, 2, "refused invitations write nothing");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_every_other_login() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", FIRST.into()).await.unwrap();
    let phone = anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": FIRST})).await.ok()["login"].clone();
    let laptop = anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": FIRST})).await.ok()["login"].clone();
    let on_laptop = |query: &'static str, variables: Value| {
        let token = laptop["accessToken"].as_str().unwrap().to_owned();
        let app = &app;
        async move { app.gql_as(Some(&token), query, variables).await }
    };

    let wrong = on_laptop(CHANGE, json!({"c": "not my password!", "n": SECOND})).await;
    assert_eq!(wrong.code(), Some("BAD_USER_INPUT"));
    assert_eq!(wrong.body["errors"][0]["extensions"]["field"], "currentPassword");
    let weak = on_laptop(CHANGE, json!({"c": FIRST, "n": "short"})).await;
    assert_eq!(weak.code(), Some("BAD_USER_INPUT"));
    let changed = on_laptop(CHANGE, json!({"c": FIRST, "n": SECOND})).await;
    let session = changed.ok()["changePassword"].clone();
    assert_eq!(session["user"]["email"], "rep.a@t.example");

    for (device, login) in [("phone", &phone), ("laptop", &laptop)] {
        let refreshed = anonymous(&app, REFRESH, json!({"t": login["refreshToken"]})).await;
        assert_eq!(refreshed.code(), Some("UNAUTHENTICATED"), "the {device}'s login ended");
    }
    let kept = anonymous(&app, REFRESH, json!({"t": session["refreshToken"]})).await;
    assert!(kept.ok()["refreshToken"]["accessToken"].is_string(), "the new session goes on");
    let old = anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": FIRST})).await;
    assert_eq!(old.code(), Some("UNAUTHENTICATED"));
    let new = anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": SECOND})).await;
    assert!(new.ok()["login"]["accessToken"].is_string());
    let service_account = app.gql(&cast.integration, CHANGE, json!({"c": FIRST, "n": SECOND})).await;
    assert_eq!(service_account.code(), Some("FORBIDDEN"));
    assert_eq!(audited(&app, "change_password").await, 1);
}

#[tokio::test]
async fn seed_demo_prints_one_development_password_that_signs_every_demo_user_in_but_not_in_production() {
    let mut development_password = None;
    for (environment, signs_in) in [("development", true), ("production", false)] {
        let app = TestApp::spawn().await;
        let mut seed = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"));
        seed.arg("seed-demo").envs(app.process_env()).env("RAPPORT_ENV", environment).env("RUST_LOG", "error");
        let seeded = crate::helpers::output(seed).await;
        let printed = String::from_utf8_lossy(&seeded.stdout).into_owned();
        assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
        let line = printed.lines().find_map(|line| line.strip_prefix("demo password: ")).map(str::to_owned);
        assert_eq!(line.is_some(), signs_in, "{environment}:\n{printed}");
        if let Some(password) = line {
            development_password = Some(password);
        }
        let password = development_password.clone().unwrap();
        for email in ["admin@rapport.demo", "leader@rapport.demo", "lead.south@rapport.demo", "rep1.north@rapport.demo"]
        {
            let login = anonymous(&app, LOGIN, json!({"e": email, "p": password})).await;
            assert_eq!(login.body["errors"].is_null(), signs_in, "{environment} {email}: {}", login.body);
        }
        let service_account = anonymous(&app, LOGIN, json!({"e": "integration@rapport.demo", "p": password})).await;
        assert_eq!(service_account.code(), Some("UNAUTHENTICATED"));
    }
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_without_locking_the_user_out_of_login() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", FIRST.into()).await.unwrap();
    let mut codes = Vec::new();
    for _ in 0..6 {
        let reply = app.gql(&cast.rep_a, CHANGE, json!({"c": "a wrong guess!!", "n": SECOND})).await;
        codes.push(reply.code().map(str::to_owned));
    }
    let login = anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": FIRST})).await;

    assert!(codes[..5].iter().all(|c| c.as_deref() == Some("BAD_USER_INPUT")), "{codes:?}");
    assert_eq!(codes[5].as_deref(), Some("RATE_LIMITED"));
    assert!(login.ok()["login"]["accessToken"].is_string(), "the real user still signs in");
}
