//! GraphiQL, served whole from the binary: the page, React and GraphiQL
//! (pinned versions, licences beside them in `assets/graphiql/`), so it works
//! offline, on a corporate network, and with no external URL in the page.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

/// The page: every asset it references is under [`ASSETS_PATH`].
pub const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// Where the assets are served.
pub const ASSETS_PATH: &str = "/graphiql/{file}";

/// (name, content type, bytes) of every asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.css", "text/css; charset=utf-8", include_bytes!("../../assets/graphiql/graphiql.min.css")),
    ("graphiql.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/graphiql/graphiql.min.js")),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    ("start.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/graphiql/start.js")),
    ("LICENSE.graphiql", "text/plain; charset=utf-8", include_bytes!("../../assets/graphiql/LICENSE.graphiql")),
    ("LICENSE.react", "text/plain; charset=utf-8", include_bytes!("../../assets/graphiql/LICENSE.react")),
    ("LICENSE.react-dom", "text/plain; charset=utf-8", include_bytes!("../../assets/graphiql/LICENSE.react-dom")),
];

/// The GraphiQL page.
pub fn page() -> Response {
    Html(PAGE).into_response()
}

/// `GET /graphiql/{file}`: one asset, cached for a day (they change only with the binary).
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=86400")], *bytes)
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
