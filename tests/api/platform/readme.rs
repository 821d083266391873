//! Every GraphQL example of the README runs as printed on a freshly seeded
//! demo, as the user it names on its first line (`# as: <e-mail>`), with the
//! variables it names on a `# variables:` line. Placeholders in those
//! variables are what a reader looks up in the demo:
//! `<customer NAME>` and `<user E-MAIL>` (global ids), `<today>`,
//! `<today+Nd>` and `<today-Nd>` (dates relative to the seeding day),
//! `<month start -N>` and `<month end -N>` (the first and last day of the
//! month N months before this one), `<now+Nd>` (a time).

use chrono::Datelike;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// One GraphQL document found in the README.
#[derive(Debug)]
struct Example {
    line: usize,
    user: String,
    /// Sent without a token (`# as: someone (no token ...)`).
    anonymous: bool,
    document: String,
    variables: Option<String>,
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// Fenced blocks: (line of the opening fence, language, lines).
fn blocks(text: &str) -> Vec<(usize, String, Vec<String>)> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String, Vec<String>)> = None;
    for (n, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(language)) => open = Some((n + 1, language.trim().to_owned(), Vec::new())),
            (Some(_), Some(_)) => found.extend(open.take()),
            (Some((_, _, lines)), None) => lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    found
}

/// The text between `start` and `end` after each `start`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        let tail = &rest[i + start.len()..];
        let Some(j) = tail.find(end) else { break };
        out.push(&tail[..j]);
        rest = &tail[j + end.len()..];
    }
    out
}

fn examples() -> Vec<Example> {
    let mut examples = Vec::new();
    for (line, language, lines) in blocks(&readme()) {
        let comment = |key: &str| {
            lines.iter().find_map(|l| l.trim().strip_prefix(&format!("# {key}:")).map(|v| v.trim().to_owned()))
        };
        let text = lines.join("\n");
        let documents: Vec<String> = match language.as_str() {
            "graphql" => vec![text.clone()],
            // A document sent by curl, or kept in a shell variable.
            "sh" => between(&text, "\"query\":\"", "\"}")
                .into_iter()
                .map(|q| q.replace("\\\"", "\""))
                .chain(between(&text, "Q='", "'").into_iter().map(str::to_owned))
                .collect(),
            "python" => between(&text, "\"\"\"", "\"\"\"").into_iter().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        for document in documents {
            let user = comment("as").unwrap_or_else(|| panic!("README line {line}: the example names no `# as:` user"));
            let anonymous = user.contains("(no token");
            // The user's e-mail is the first word: the rest of the line may say why.
            let user = user.split_whitespace().next().unwrap().to_owned();
            examples.push(Example { line, user, anonymous, document, variables: comment("variables") });
        }
    }
    examples
}

/// The variables with their placeholders replaced by what they name in the
/// demo, or by what the example before returned (`previous`).
async fn resolve(app: &TestApp, example: &Example, previous: &Value) -> Value {
    let Some(raw) = &example.variables else { return json!({}) };
    let mut text = raw.clone();
    while let Some(start) = text.find("\"<") {
        let end = start + text[start..].find(">\"").unwrap_or_else(|| panic!("unclosed placeholder in {raw}"));
        let placeholder = &text[start + 2..end];
        let value = match placeholder.split_whitespace().take(2).collect::<Vec<_>>()[..] {
            ["the", field] => first_named(previous, field).unwrap_or_else(|| panic!("no {field} in {previous}")),
            _ => placeholder_value(app, placeholder).await,
        };
        text.replace_range(start..end + 2, &value.to_string());
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("README line {}: variables {text}: {e}", example.line))
}

/// The first value under `key`, depth first.
fn first_named(value: &Value, key: &str) -> Option<Value> {
    match value {
        Value::Object(map) => map.get(key).cloned().or_else(|| map.values().find_map(|v| first_named(v, key))),
        Value::Array(items) => items.iter().find_map(|v| first_named(v, key)),
        _ => None,
    }
}

async fn placeholder_value(app: &TestApp, placeholder: &str) -> Value {
    let today = chrono::Utc::now().date_naive();
    if let Some(name) = placeholder.strip_prefix("customer ") {
        let id = app.scalar(&format!("SELECT id FROM customer WHERE name = '{name}'")).await;
        return json!(rapport::gid::encode("Customer", id));
    }
    if let Some(email) = placeholder.strip_prefix("user ") {
        let id = app.scalar(&format!("SELECT id FROM app_user WHERE email = '{email}'")).await;
        return json!(rapport::gid::encode("User", id));
    }
    if placeholder == "demo password" {
        return json!(rapport::seed::DEMO_PASSWORD);
    }
    let this_month = today.with_day(1).unwrap();
    if let Some(back) = placeholder.strip_prefix("month start -") {
        let months = chrono::Months::new(back.parse().unwrap());
        return json!((this_month - months).to_string());
    }
    if let Some(back) = placeholder.strip_prefix("month end -") {
        let months = chrono::Months::new(back.parse::<u32>().unwrap() - 1);
        return json!((this_month - months - chrono::Duration::days(1)).to_string());
    }
    if let Some(offset) = placeholder.strip_prefix("now") {
        let days: i64 = offset.trim_end_matches('d').parse().unwrap();
        return json!((chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339());
    }
    if let Some(offset) = placeholder.strip_prefix("today") {
        let days: i64 = if offset.is_empty() { 0 } else { offset.trim_end_matches('d').parse().unwrap() };
        return json!((today + chrono::Duration::days(days)).to_string());
    }
    panic!("unknown placeholder <{placeholder}>");
}

#[tokio::test]
async fn every_graphql_example_in_the_readme_runs_as_printed_on_the_demo() {
    let app = TestApp::spawn().await;
    rapport::seed::seed_demo(&app.db, Some(rapport::seed::DEMO_PASSWORD)).await.unwrap();
    let examples = examples();
    assert!(examples.len() >= 18, "found only {} examples", examples.len());
    // The documents inside shell and Python examples are found too.
    for inside in ["login(email", "customers(first: 3", "query Mine", "changes(since: $since"] {
        assert!(examples.iter().any(|e| e.document.contains(inside)), "no example with {inside}");
    }
    let mut failures = Vec::new();
    let mut previous = Value::Null;
    for example in &examples {
        let token = if example.anonymous {
            None
        } else {
            let user = app.scalar(&format!("SELECT id FROM app_user WHERE email = '{}'", example.user)).await;
            Some(app.token(user))
        };
        let variables = resolve(&app, example, &previous).await;
        let reply = app.gql_as(token.as_deref(), &example.document, variables).await;
        previous = reply.body["data"].clone();
        if reply.body.get("errors").is_some() || reply.body["data"].is_null() {
            failures.push(format!("README line {} as {}: {}", example.line, example.user, reply.body));
        }
    }
    assert!(failures.is_empty(), "{} of {} examples fail:\n{}", failures.len(), examples.len(), failures.join("\n"));
}
