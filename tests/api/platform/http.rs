//! GraphQL over HTTP: status codes, media types, authentication, limits.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;

use crate::helpers::TestApp;

fn post(token: &str) -> axum::http::request::Builder {
    Request::post("/graphql").header(header::AUTHORIZATION, format!("Bearer {token}"))
}

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = TestApp::spawn().await;
    let health = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    let ready = app.send(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(ready.status, StatusCode::OK);
}

#[tokio::test]
async fn graphql_without_a_valid_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (header_b64, _, _) = {
        let mut parts = cast.rep_a.token.split('.');
        (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned())
    };
    let claims = |exp: i64| {
        URL_SAFE_NO_PAD.encode(
            json!({"sub": cast.rep_a.id.to_string(), "iss": "rapport", "aud": "rapport-api", "iat": 0, "exp": exp})
                .to_string(),
        )
    };
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let mut tampered = cast.rep_a.token.clone();
    tampered.push('x');
    let forged_claims =
        format!("{header_b64}.{}.{}", claims(4_102_444_800), cast.rep_a.token.rsplit('.').next().unwrap());
    let expired = {
        let key = jsonwebtoken::EncodingKey::from_secret(rapport::config::DEV_JWT_SECRET.as_bytes());
        let claims =
            json!({"sub": cast.rep_a.id.to_string(), "iss": "rapport", "aud": "rapport-api", "iat": 0, "exp": 1000});
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    };
    let wrong_secret = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"another-secret-that-is-long-enough-to-use");
        let claims = json!({"sub": cast.rep_a.id.to_string(), "iss": "rapport", "aud": "rapport-api", "iat": 0, "exp": 4_102_444_800_i64});
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    };

    let none = app.gql_as(None, "{ viewer { name } }", json!({})).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), Some("UNAUTHENTICATED"));
    for token in [
        tampered,
        forged_claims,
        format!("{none_header}.{}.", claims(4_102_444_800)),
        expired,
        wrong_secret,
        "not-a-jwt".to_owned(),
    ] {
        let reply = app.gql_as(Some(&token), "{ viewer { name } }", json!({})).await;
        assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "token {token} must be refused");
        assert!(reply.body.get("data").is_none());
    }
    let valid = app.gql(&cast.rep_a, "{ viewer { email role } }", json!({})).await;
    assert_eq!(valid.ok()["viewer"]["role"], "REP");
}

#[tokio::test]
async fn a_deactivated_users_token_stops_working() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let user = entity::user::Entity::find_by_id(cast.rep_a.id).one(&app.db).await.unwrap().unwrap();
    let mut row: entity::user::ActiveModel = user.into();
    row.active = Set(false);
    row.update(&app.db).await.unwrap();

    let reply = app.gql(&cast.rep_a, "{ viewer { name } }", json!({})).await;

    assert_eq!(reply.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn responses_follow_the_accept_header() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let request = |accept: Option<&str>, query: &str| {
        let mut builder = post(&cast.rep_a.token).header(header::CONTENT_TYPE, "application/json");
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        builder.body(Body::from(json!({"query": query}).to_string())).unwrap()
    };

    let json_reply = app.send(request(None, "{ viewer { name } }")).await;
    let gql_reply = app.send(request(Some("application/graphql-response+json"), "{ viewer { name } }")).await;
    let parse_error = app.send(request(Some("application/graphql-response+json"), "{ viewer { ")).await;
    let invalid = app.send(request(Some("application/graphql-response+json"), "{ nope }")).await;
    let invalid_json = app.send(request(Some("application/json"), "{ nope }")).await;
    let refused = app.send(request(Some("text/html"), "{ viewer { name } }")).await;

    assert_eq!(json_reply.status, StatusCode::OK);
    assert!(json_reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    assert!(gql_reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/graphql-response+json"));
    assert_eq!(parse_error.status, StatusCode::BAD_REQUEST);
    assert_eq!(parse_error.code(), Some("GRAPHQL_PARSE_FAILED"));
    assert!(parse_error.body.get("data").is_none());
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(invalid.body.get("data").is_none());
    assert_eq!(invalid_json.status, StatusCode::OK);
    assert_eq!(invalid_json.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn malformed_requests_get_clear_http_errors() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let token = &cast.rep_a.token;
    let raw = |content_type: &str, body: &str| {
        post(token).header(header::CONTENT_TYPE, content_type).body(Body::from(body.to_owned())).unwrap()
    };

    let wrong_type = app.send(raw("text/plain", r#"{"query":"{ viewer { name } }"}"#)).await;
    let bad_json = app.send(raw("application/json", "{not json")).await;
    let no_query = app.send(raw("application/json", r#"{"variables":{}}"#)).await;
    let batch = app.send(raw("application/json", r#"[{"query":"{ viewer { name } }"}]"#)).await;
    let huge = app.send(raw("application/json", &format!(r#"{{"query":"{}"}}"#, " ".repeat(2 * 1024 * 1024)))).await;
    let with_charset = app.send(raw("application/json; charset=utf-8", r#"{"query":"{ viewer { name } }"}"#)).await;

    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_query.status, StatusCode::BAD_REQUEST);
    assert_eq!(batch.status, StatusCode::BAD_REQUEST);
    assert_eq!(batch.code(), Some("BAD_REQUEST"));
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(with_charset.status, StatusCode::OK);
}

#[tokio::test]
async fn get_runs_queries_but_not_mutations() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let get = |query: &str| {
        let encoded: String = serde_urlencoded::to_string([("query", query)]).unwrap();
        Request::get(format!("/graphql?{encoded}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", cast.rep_a.token))
            .body(Body::empty())
            .unwrap()
    };

    let query = app.send(get("{ viewer { role } }")).await;
    let mutation = app.send(get("mutation { createCustomer(input: {name: \"x\"}) { id } }")).await;

    assert_eq!(query.status, StatusCode::OK);
    assert_eq!(query.body["data"]["viewer"]["role"], "REP");
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.headers[header::ALLOW], "POST");
    assert_eq!(app.count("customer").await, 0);
}

#[tokio::test]
async fn too_deep_queries_are_refused_before_running() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let deep = "{ customers { edges { node { parent { parent { parent { parent { parent { parent { parent { parent { parent { name } } } } } } } } } } } } }";

    let reply = app.gql(&cast.rep_a, deep, json!({})).await;

    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"));
}

const IDP_PRIVATE: &str = include_str!("../../fixtures/idp-private.pem");
const IDP_PUBLIC: &str = include_str!("../../fixtures/idp-public.pem");
const OTHER_PRIVATE: &str = include_str!("../../fixtures/other-private.pem");

fn signed(alg: jsonwebtoken::Algorithm, key: &jsonwebtoken::EncodingKey, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, key).unwrap()
}

#[tokio::test]
async fn identity_provider_tokens_are_checked_for_signature_issuer_audience_and_time() {
    use jsonwebtoken::{Algorithm, EncodingKey};
    let app = TestApp::spawn_with(|config| {
        config.identity_provider =
            Some(rapport::auth::jwt::IdentityProvider::from_pem(IDP_PUBLIC, "https://idp.example", "rapport").unwrap());
    })
    .await;
    let cast = app.cast().await;
    let idp = EncodingKey::from_rsa_pem(IDP_PRIVATE.as_bytes()).unwrap();
    let other = EncodingKey::from_rsa_pem(OTHER_PRIVATE.as_bytes()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, nbf: i64| json!({"sub": "idp-123", "email": "REP.A@t.example", "iss": iss, "aud": aud, "iat": now, "nbf": nbf, "exp": now + 600});
    let ask = |token: String| {
        let app = &app;
        async move { app.gql_as(Some(&token), "{ viewer { email } }", json!({})).await }
    };

    let good = ask(signed(Algorithm::RS256, &idp, claims("https://idp.example", "rapport", now))).await;
    assert_eq!(good.ok()["viewer"]["email"], "rep.a@t.example");
    let refused = [
        signed(Algorithm::RS256, &other, claims("https://idp.example", "rapport", now)),
        signed(Algorithm::RS256, &idp, claims("https://evil.example", "rapport", now)),
        signed(Algorithm::RS256, &idp, claims("https://idp.example", "someone-else", now)),
        signed(Algorithm::RS256, &idp, claims("https://idp.example", "rapport", now + 3600)),
        // HS/RS confusion: an HMAC keyed with the provider's public key.
        signed(
            Algorithm::HS256,
            &EncodingKey::from_secret(IDP_PUBLIC.as_bytes()),
            claims("https://idp.example", "rapport", now),
        ),
        // Our own secret with the provider's algorithm name does not make a valid token either.
        signed(
            Algorithm::HS512,
            &EncodingKey::from_secret(rapport::config::DEV_JWT_SECRET.as_bytes()),
            claims("rapport", "rapport-api", now),
        ),
    ];
    for token in refused {
        assert_eq!(ask(token).await.code(), Some("UNAUTHENTICATED"));
    }
    let _ = cast;
}

#[tokio::test]
async fn provider_tokens_are_refused_when_no_provider_is_configured() {
    use jsonwebtoken::{Algorithm, EncodingKey};
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let idp = EncodingKey::from_rsa_pem(IDP_PRIVATE.as_bytes()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token = signed(
        Algorithm::RS256,
        &idp,
        json!({"sub": cast.rep_a.id.to_string(), "email": "rep.a@t.example", "iss": "rapport", "aud": "rapport-api", "iat": now, "exp": now + 600}),
    );

    let reply = app.gql_as(Some(&token), "{ viewer { email } }", json!({})).await;

    assert_eq!(reply.code(), Some("UNAUTHENTICATED"));
}
