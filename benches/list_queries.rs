//! Load benchmark of the mobile/frontend list query: a page of 50 customers with
//! contacts, 5 latest communications and open tickets, on the demo dataset.
//! Requests go through the real router in-process, C at a time, for D seconds.
//!
//! `cargo bench --bench list_queries` (SQLite temp file), or with
//! `BENCH_DATABASE_URL=postgres://...` on an empty PostgreSQL database.
//! `BENCH_CONCURRENCY` (default 16) and `BENCH_SECONDS` (default 10) tune the run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    http::{Request, header},
};
use http_body_util::BodyExt;
use rapport::{config::Config, db, http::AppState, http::router, seed};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tower::ServiceExt;

mod support;
use support::env_or;

const QUERY: &str = "{ customers(first: 50, filter: {statuses: [ACTIVE]}) { totalCount edges { node {
    name tier owner { name }
    contacts { name orgLevel }
    latestCommunications(first: 5) { channel occurredAt summary }
    openTickets { title priority status }
} } } }";

#[tokio::main]
async fn main() {
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 16);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let path = std::env::temp_dir().join(format!("rapport-bench-{}.db", std::process::id()));
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", path.display()));
    let mut conn = db::connect(&url, 10).await.expect("database");
    db::migrate(&conn).await.expect("migrate");
    seed::seed_demo(&conn, None).await.expect("seed (the database must be empty)");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let leader = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("leader@rapport.demo"))
        .one(&conn)
        .await
        .unwrap()
        .unwrap();
    let state = AppState::new(conn, Config::for_database(&url));
    let token = state.services.tokens.issue(leader.id).unwrap();
    let app = router(state);
    let body = serde_json::json!({ "query": QUERY }).to_string();

    let send = {
        let app = app.clone();
        move || {
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body.clone()))
                .unwrap();
            let app = app.clone();
            async move {
                let started = Instant::now();
                let response = app.oneshot(request).await.unwrap();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                assert!(!bytes.windows(8).any(|w| w == b"\"errors\""), "{}", String::from_utf8_lossy(&bytes));
                started.elapsed()
            }
        }
    };

    for _ in 0..20 {
        send().await;
    }
    statements.store(0, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..concurrency).map(|_| {
        let send = send.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                latencies.push(send().await);
            }
            latencies
        })
    });
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in futures_util::future::join_all(workers).await {
        latencies.extend(worker.unwrap());
    }
    latencies.sort();
    let n = latencies.len();
    let pct = |p: f64| latencies[((n as f64 * p) as usize).min(n - 1)];
    println!("backend        {}", if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" });
    println!("concurrency    {concurrency}");
    println!("requests       {n} in {seconds} s = {:.0} req/s", n as f64 / seconds as f64);
    println!("latency        p50 {:?}  p99 {:?}  max {:?}", pct(0.50), pct(0.99), latencies[n - 1]);
    println!("SQL/request    {:.2}", statements.load(Ordering::Relaxed) as f64 / n as f64);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
