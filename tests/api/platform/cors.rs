//! Browsers on another origin: the allow-list answers preflights and actual
//! requests for the origins it names, and nothing for the others.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use serde_json::json;

use crate::helpers::{Reply, TestApp};

async fn preflight(app: &TestApp, origin: &str) -> Reply {
    app.send(
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/graphql")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,authorization,x-request-id")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn actual(app: &TestApp, origin: &str, token: &str) -> Reply {
    app.send(
        Request::post("/graphql")
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(json!({"query": "{ viewer { email } }"}).to_string()))
            .unwrap(),
    )
    .await
}

fn allowed_origin(reply: &Reply) -> Option<&str> {
    reply.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn an_allowed_origin_gets_its_preflight_and_its_answer_and_another_does_not() {
    let app = TestApp::spawn_with(|config| {
        config.cors_origins =
            rapport::config::CorsOrigins::parse("https://app.example.com, http://localhost:5173").unwrap();
    })
    .await;
    let cast = app.cast().await;

    let allowed = preflight(&app, "https://app.example.com").await;
    assert!(allowed.status.is_success(), "{}", allowed.status);
    assert_eq!(allowed_origin(&allowed), Some("https://app.example.com"));
    let methods = allowed.headers[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
    let headers = allowed.headers[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_ascii_lowercase();
    for wanted in ["content-type", "authorization", "x-request-id"] {
        assert!(headers.contains(wanted), "{headers}");
    }
    assert_eq!(allowed.headers[header::ACCESS_CONTROL_MAX_AGE], "600");
    assert!(allowed.headers.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none(), "credentials stay off");

    let answer = actual(&app, "https://app.example.com", &cast.rep_a.token).await;
    assert_eq!(answer.ok()["viewer"]["email"], "rep.a@t.example");
    assert_eq!(allowed_origin(&answer), Some("https://app.example.com"));
    let exposed = answer.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    for refused in ["https://evil.example", "https://app.example.com.evil.example", "http://app.example.com"] {
        let refused_preflight = preflight(&app, refused).await;
        assert_eq!(allowed_origin(&refused_preflight), None, "{refused}");
        let refused_answer = actual(&app, refused, &cast.rep_a.token).await;
        assert_eq!(allowed_origin(&refused_answer), None, "{refused}: the browser keeps the answer from the page");
    }
}

#[tokio::test]
async fn development_allows_the_local_dev_servers_and_production_allows_none_by_default() {
    let development = rapport::config::Config::default();
    let app = TestApp::spawn_with(|config| config.cors_origins = development.cors_origins.clone()).await;
    for origin in ["http://localhost:3000", "http://localhost:5173", "http://127.0.0.1:8080"] {
        let reply = preflight(&app, origin).await;
        assert_eq!(reply.status, StatusCode::OK, "{origin}");
        assert_eq!(allowed_origin(&reply), Some(origin));
    }

    let production = rapport::config::CorsOrigins::parse("none").unwrap();
    let app = TestApp::spawn_with(|config| config.cors_origins = production).await;
    assert_eq!(allowed_origin(&preflight(&app, "http://localhost:3000").await), None);

    for bad in ["localhost:3000", "https://app.example.com/", "ftp://x.example", "https://a@b.example"] {
        let err = rapport::config::CorsOrigins::parse(bad).unwrap_err().to_string();
        assert!(err.contains("is not an origin"), "{bad}: {err}");
    }
}
