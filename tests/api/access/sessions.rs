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

#[tokio::test]
async fn signing_in_ignores_a_stale_or_invalid_authorization_header() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", PASSWORD.into()).await.unwrap();
    let refresh = login_refresh(&app).await;
    // Signed by another key, so it can never be valid here: what a tab left open overnight sends.
    let stale = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": cast.rep_a.id.to_string(), "iss": "rapport", "aud": "rapport-api", "iat": 0, "exp": 1}),
        &jsonwebtoken::EncodingKey::from_secret(b"another server's secret"),
    )
    .unwrap();

    for header in [stale.as_str(), "not-a-token", ""] {
        let login = app.gql_as(Some(header), LOGIN, json!({"e": "rep.a@t.example", "p": PASSWORD})).await;
        assert_eq!(login.ok()["login"]["user"]["email"], "rep.a@t.example", "login with header {header:?}");
    }
    let refreshed = app.gql_as(Some(&stale), REFRESH, json!({"t": refresh})).await;
    let next = refreshed.ok()["refreshToken"]["refreshToken"].as_str().unwrap().to_owned();
    let logout =
        app.gql_as(Some(&stale), "mutation($t: String!) { logout(refreshToken: $t) }", json!({"t": next})).await;
    let signs_in_by_name = app
        .send(
            axum::http::Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {stale}"))
                .body(axum::body::Body::from(
                    json!({
                        "query": format!("query Me {{ viewer {{ email }} }} {}", LOGIN.replacen("mutation", "mutation In", 1)),
                        "operationName": "In",
                        "variables": {"e": "rep.a@t.example", "p": PASSWORD}
                    })
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    // Anything else still needs a valid token.
    let query = app.gql_as(Some(&stale), "{ viewer { email } }", json!({})).await;
    let mixed = app
        .gql_as(
            Some(&stale),
            "mutation($t: String!) { logout(refreshToken: $t) createTeam(name: \"t\") { id } }",
            json!({"t": "x"}),
        )
        .await;

    assert_eq!(logout.ok()["logout"], true);
    assert_eq!(signs_in_by_name.ok()["login"]["user"]["email"], "rep.a@t.example");
    assert_eq!(query.status, axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(query.code(), Some("UNAUTHENTICATED"));
    assert_eq!(mixed.status, axum::http::StatusCode::UNAUTHORIZED);
}

/// A login over a real connection from 127.0.0.1, with an `X-Forwarded-For`.
async fn login_from(addr: std::net::SocketAddr, email: &str, forwarded_for: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json!({"query": LOGIN, "variables": {"e": email, "p": "wrong password"}}).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Forwarded-For: {forwarded_for}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}

fn code(reply: &Value) -> &str {
    reply["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn forwarded_for_counts_only_when_a_trusted_proxy_sends_it() {
    let direct = TestApp::spawn().await;
    let behind_proxy = TestApp::spawn_with(|config| config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let (direct_addr, proxied_addr) = (direct.listen().await, behind_proxy.listen().await);

    // 20 failures per address are allowed; each attempt names another account and claims another address.
    let mut direct_codes = Vec::new();
    let mut proxied_codes = Vec::new();
    for n in 0..21 {
        let (email, spoofed) = (format!("nobody{n}@t.example"), format!("203.0.113.{n}"));
        direct_codes.push(code(&login_from(direct_addr, &email, &spoofed).await).to_owned());
        proxied_codes.push(code(&login_from(proxied_addr, &email, &spoofed).await).to_owned());
    }

    assert_eq!(direct_codes[19], "UNAUTHENTICATED");
    assert_eq!(direct_codes[20], "RATE_LIMITED", "a spoofed header does not dodge the per-address limit");
    assert!(proxied_codes.iter().all(|c| c == "UNAUTHENTICATED"), "a trusted proxy's header names the client");
    let audit = behind_proxy.db.clone();
    let rows = <entity::audit_log::Entity as sea_orm::EntityTrait>::find().all(&audit).await.unwrap();
    let refused: Vec<_> = rows.iter().filter(|r| r.action == "login_refused").collect();
    assert_eq!(refused.len(), 21);
    assert!(refused[3].changes.contains("203.0.113.3"), "{}", refused[3].changes);
    let direct_rows = <entity::audit_log::Entity as sea_orm::EntityTrait>::find().all(&direct.db).await.unwrap();
    assert!(direct_rows.iter().all(|r| !r.changes.contains("203.0.113.")), "an untrusted header is not recorded");
}

#[tokio::test]
async fn sign_ins_sign_outs_and_refusals_are_audited() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", PASSWORD.into()).await.unwrap();

    let refresh = login_refresh(&app).await;
    anonymous(&app, "mutation($t: String!) { logout(refreshToken: $t) }", json!({"t": refresh})).await.ok();
    anonymous(&app, LOGIN, json!({"e": "rep.a@t.example", "p": "not it at all"})).await;
    anonymous(&app, LOGIN, json!({"e": "ghost@t.example", "p": "not it at all"})).await;
    let log = app
        .gql(&cast.admin, "{ auditLog(filter: {entity: \"session\"}, orderBy: {field: CREATED_AT, direction: ASC}) { edges { node { action actorId changes client } } } }", json!({}))
        .await;

    let entries = log.ok()["auditLog"]["edges"].as_array().unwrap().clone();
    let actions: Vec<&str> = entries.iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["login", "logout", "login_refused", "login_refused"]);
    assert_eq!(entries[0]["node"]["actorId"], cast.rep_a.gid.as_str());
    assert_eq!(entries[0]["node"]["client"], "rapport-tests");
    assert_eq!(entries[3]["node"]["actorId"], json!(null));
    assert_eq!(entries[3]["node"]["changes"]["email"], "ghost@t.example");
}

#[tokio::test]
async fn an_unknown_email_takes_as_long_as_a_wrong_password() {
    let app = TestApp::spawn().await;
    app.cast().await;
    rapport::service::sessions::set_password(&app.db, "rep.a@t.example", PASSWORD.into()).await.unwrap();
    let time = |email: &'static str| {
        let app = &app;
        async move {
            let mut runs = Vec::new();
            for _ in 0..3 {
                let started = std::time::Instant::now();
                anonymous(app, LOGIN, json!({"e": email, "p": "not it at all"})).await;
                runs.push(started.elapsed());
            }
            runs.sort();
            runs[1]
        }
    };
    anonymous(&app, LOGIN, json!({"e": "warm@t.example", "p": "not it at all"})).await;

    let wrong_password = time("rep.a@t.example").await;
    let unknown_email = time("ghost@t.example").await;

    // Without the dummy hash an unknown e-mail answers in a few percent of the time.
    assert!(
        unknown_email * 2 > wrong_password,
        "unknown e-mail {unknown_email:?} against wrong password {wrong_password:?}"
    );
}
