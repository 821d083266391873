//! Documents and requests built to hurt: fragment bombs, missing variables,
//! huge arguments, oversized transports. Each is refused with a code, quickly,
//! on every path, and the server keeps serving.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    ws_client::{ARRIVES, WsClient},
};

/// Fragments that each spread the next twice, `levels` deep: the last one
/// selects one field of `on`, and written out the document selects
/// 2^levels fields.
fn fragment_bomb(operation: &str, on: &str, leaf: &str, levels: usize) -> String {
    let mut doc = format!("{operation} {{ ...D0 }}\n");
    for level in 0..levels {
        doc.push_str(&format!("fragment D{level} on {on} {{ ...D{} ...D{} }}\n", level + 1, level + 1));
    }
    doc.push_str(&format!("fragment D{levels} on {on} {{ {leaf} }}\n"));
    doc
}

/// Generous bound for "answered at once": a bomb that is walked never answers.
const AT_ONCE: Duration = Duration::from_secs(5);

async fn still_serving(app: &TestApp) {
    let health = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_at_once_signed_in_or_not() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    // Anonymous: a sign-in document, which runs without a token.
    let login = fragment_bomb(
        "mutation",
        "Mutation",
        r#"login(email: "x@y.example", password: "nothing-at-all") { accessToken }"#,
        40,
    );
    let started = std::time::Instant::now();
    let reply = tokio::time::timeout(AT_ONCE, app.gql_as(None, &login, json!({}))).await.expect("answered");
    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", reply.body);
    // Signed in, over POST and GET.
    let query = fragment_bomb("query", "Query", "viewer { name }", 40);
    let reply = tokio::time::timeout(AT_ONCE, app.gql(&cast.rep_a, &query, json!({}))).await.expect("answered");
    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", reply.body);
    let small_bomb = fragment_bomb("query", "Query", "viewer { name }", 16);
    let uri = format!("/graphql?query={}", urlencode(&small_bomb));
    let get = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {}", cast.rep_a.token));
    let reply = tokio::time::timeout(AT_ONCE, app.send(get.body(Body::empty()).unwrap())).await.expect("answered");
    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", reply.body);
    // As a persisted query: the document is checked before it is kept.
    let hash = rapport::http::persisted::hash_of(&query);
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let body = json!({"query": query, "extensions": extensions}).to_string();
    let post = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", cast.rep_a.token));
    let reply = tokio::time::timeout(AT_ONCE, app.send(post.body(Body::from(body)).unwrap())).await.expect("answered");
    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", reply.body);
    let elapsed = started.elapsed();
    // Over the WebSocket.
    let addr = app.listen().await;
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(&cast.rep_a.token).await;
    ws.subscribe("bomb", &query, json!({})).await;
    let message = tokio::time::timeout(ARRIVES, ws.next_json()).await.expect("answered");
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    still_serving(&app).await;
    // A document of the same shape that stays small still runs.
    let fine = fragment_bomb("query", "Query", "viewer { name }", 6);
    app.gql(&cast.rep_a, &fine, json!({})).await.ok();
    eprintln!("four bombs refused in {elapsed:?}");
}

#[tokio::test]
async fn fragments_that_spread_each_other_are_refused_as_a_cycle_not_walked() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let cycle = "query { ...A } fragment A on Query { viewer { name } ...B } fragment B on Query { ...A }";
    let reply = tokio::time::timeout(AT_ONCE, app.gql(&cast.rep_a, cycle, json!({}))).await.expect("answered");
    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{}", reply.body);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The innermost named type of an introspected type reference, and how to
/// write the whole reference in a variable definition.
fn type_ref(reference: &Value) -> (String, String, String) {
    match reference["kind"].as_str() {
        Some("NON_NULL") => {
            let (name, kind, inner) = type_ref(&reference["ofType"]);
            (name, kind, format!("{inner}!"))
        }
        Some("LIST") => {
            let (name, kind, inner) = type_ref(&reference["ofType"]);
            (name, kind, format!("[{inner}]"))
        }
        Some(kind) => {
            let name = reference["name"].as_str().unwrap().to_owned();
            (name.clone(), kind.to_owned(), name)
        }
        None => panic!("no kind in {reference}"),
    }
}

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

#[tokio::test]
async fn every_root_field_refuses_a_required_variable_left_out_as_a_validation_error() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let schema = app
        .gql(
            &cast.admin,
            &format!(
                "{{ __schema {{ queryType {{ fields {{ name args {{ name type {{ ...T }} }} type {{ ...T }} }} }}
                   mutationType {{ fields {{ name args {{ name type {{ ...T }} }} type {{ ...T }} }} }} }} }} {TYPE_REF}"
            ),
            json!({}),
        )
        .await;
    let schema = schema.ok()["__schema"].clone();
    let addr = app.listen().await;
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(&cast.admin.token).await;
    let mut checked = 0;
    for (operation, root) in [("query", "queryType"), ("mutation", "mutationType")] {
        for field in schema[root]["fields"].as_array().unwrap() {
            let required: Vec<(String, String)> = field["args"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|arg| arg["type"]["kind"] == "NON_NULL")
                .map(|arg| (arg["name"].as_str().unwrap().to_owned(), type_ref(&arg["type"]).2))
                .collect();
            if required.is_empty() {
                continue;
            }
            let name = field["name"].as_str().unwrap();
            let (_, kind, _) = type_ref(&field["type"]);
            let selection =
                if matches!(kind.as_str(), "OBJECT" | "INTERFACE" | "UNION") { "{ __typename }" } else { "" };
            let definitions: Vec<String> = required.iter().map(|(arg, ty)| format!("${arg}: {ty}")).collect();
            let arguments: Vec<String> = required.iter().map(|(arg, _)| format!("{arg}: ${arg}")).collect();
            let doc =
                format!("{operation}({}) {{ {name}({}) {selection} }}", definitions.join(", "), arguments.join(", "));
            let reply = app.gql(&cast.admin, &doc, json!({})).await;
            assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"), "{name} over HTTP: {}", reply.body);
            assert!(reply.body.get("data").is_none_or(Value::is_null), "{name}: nothing ran");
            let id = format!("op{checked}");
            ws.subscribe(&id, &doc, json!({})).await;
            let message = ws.next_json().await;
            assert_eq!(message["type"], "error", "{name} over the WebSocket: {message}");
            assert_eq!(message["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{name}");
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} root fields take a required argument");
}

#[tokio::test]
async fn an_overlong_search_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let term = "a%".repeat(250_000);
    for (list, query) in [
        ("customers", "query($s: String) { customers(filter: {search: $s}) { totalCount } }"),
        ("contacts", "query($s: String) { contacts(filter: {search: $s}) { totalCount } }"),
        ("users", "query($s: String) { users(filter: {search: $s}) { totalCount } }"),
    ] {
        let reply = app.gql(&cast.admin, query, json!({ "s": term })).await;
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{list}: {}", reply.body);
        assert_eq!(reply.body["errors"][0]["extensions"]["field"], "filter.search");
    }
    // At the bound, a search still runs.
    let reply = app
        .gql(
            &cast.admin,
            "query($s: String) { customers(filter: {search: $s}) { totalCount } }",
            json!({"s": "a".repeat(200)}),
        )
        .await;
    assert_eq!(reply.ok()["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn transport_refusals_answer_a_graphql_error_with_a_code() {
    let app = TestApp::spawn_with(|config| config.limits.max_body_bytes = 4096).await;
    let cast = app.cast().await;
    let big = json!({"query": format!("{{ viewer {{ name }} }} # {}", "x".repeat(10_000))}).to_string();
    let post = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", cast.rep_a.token));
    let reply = app.send(post.body(Body::from(big)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.code(), Some("BAD_REQUEST"), "{}", reply.text);

    let long = format!("/graphql?query={}", "x".repeat(20_000));
    let reply = app.send(Request::get(long).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::URI_TOO_LONG);
    assert_eq!(reply.code(), Some("BAD_REQUEST"), "{}", reply.text);

    let mut request = Request::get("/graphql?query=%7Bviewer%7Bname%7D%7D");
    for i in 0..8 {
        request = request.header(format!("x-padding-{i}"), "y".repeat(5_000));
    }
    let reply = app.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(reply.code(), Some("BAD_REQUEST"), "{}", reply.text);

    let not_acceptable = Request::get("/graphql?query=%7Bviewer%7Bname%7D%7D").header(header::ACCEPT, "text/csv");
    let reply = app.send(not_acceptable.body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(reply.code(), Some("BAD_REQUEST"), "{}", reply.text);
}

#[tokio::test]
async fn error_messages_say_what_was_wrong_in_the_projects_words() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let library_words =
        ["input is out of range", "InvalidSignature", "Invalid symbol", "unknown variant", "JSON error", "Base64"];
    let mut messages = Vec::new();
    let reply = app
        .gql(&cast.admin, r#"{ customers(filter: {createdAfter: "2026-13-45T00:00:00Z"}) { totalCount } }"#, json!({}))
        .await;
    assert_eq!(reply.code(), Some("BAD_USER_INPUT"));
    messages.push(reply.body["errors"][0]["message"].as_str().unwrap().to_owned());
    let reply = app.gql(&cast.admin, "{ customers(first: 99999999999) { totalCount } }", json!({})).await;
    assert_eq!(reply.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    messages.push(reply.body["errors"][0]["message"].as_str().unwrap().to_owned());
    let wrong_signature = format!("{}x", &cast.rep_a.token[..cast.rep_a.token.len() - 1]);
    let alg_none = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let payload = cast.rep_a.token.split('.').nth(1).unwrap();
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#))
    };
    for token in [wrong_signature, alg_none, "a!b.c.d".to_owned(), "abc.def".to_owned()] {
        let reply = app.gql_as(Some(&token), "{ viewer { name } }", json!({})).await;
        assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "{token}");
        messages.push(reply.body["errors"][0]["message"].as_str().unwrap().to_owned());
    }
    for message in &messages {
        for words in library_words {
            assert!(!message.contains(words), "{message:?} passes the library's words through");
        }
    }
}
