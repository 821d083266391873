//! GraphiQL works offline: the page and everything it loads come from the server itself.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};

use crate::helpers::TestApp;

fn get(path: &str, accept: &str) -> Request<Body> {
    Request::get(path).header(header::ACCEPT, accept).body(Body::empty()).unwrap()
}

/// Every `src="..."` and `href="..."` of the page.
fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = page;
        while let Some(start) = rest.find(attribute) {
            let tail = &rest[start + attribute.len()..];
            let end = tail.find('"').unwrap();
            found.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    found
}

#[tokio::test]
async fn the_page_and_every_asset_it_references_load_from_the_server() {
    let app = TestApp::spawn().await;
    let page = app.send(get("/graphql", "text/html")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<div id=\"graphiql\">"), "{}", page.text);
    assert!(!page.text.contains("http://") && !page.text.contains("https://"), "external URL in the page");

    let assets: Vec<String> = references(&page.text).into_iter().filter(|r| !r.starts_with("data:")).collect();
    assert_eq!(assets.len(), 5, "{assets:?}");
    for asset in &assets {
        assert!(asset.starts_with("/graphiql/"), "{asset} is not served by the server");
        let reply = app.send(get(asset, "*/*")).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(reply.text.len() > 500, "{asset} is empty");
        let content_type = reply.headers[header::CONTENT_TYPE].to_str().unwrap();
        let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
        assert!(content_type.starts_with(expected), "{asset}: {content_type}");
    }
    // The scripts load nothing from elsewhere either (SVG namespaces and doc links are not loads).
    let start = app.send(get("/graphiql/start.js", "*/*")).await;
    assert!(start.text.contains("/graphql/ws") && !start.text.contains("https://"), "{}", start.text);
    let css = app.send(get("/graphiql/graphiql.min.css", "*/*")).await;
    assert!(!css.text.contains("url(http"), "the stylesheet loads a remote font or image");

    for licence in ["LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"] {
        let reply = app.send(get(&format!("/graphiql/{licence}"), "*/*")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.text.contains("MIT License"), "{licence}");
    }
    assert_eq!(app.send(get("/graphiql/../Cargo.toml", "*/*")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send(get("/graphiql/nothing.js", "*/*")).await.status, StatusCode::NOT_FOUND);
}
