//! Benchmark of the reports on a large book: 100,000 customers, 48 months of
//! revenue (the 36 of a three-year window and the 12 before it), churn events
//! for a quarter of the customers, 300,000 tickets, and what account health
//! reads: 300,000 contacts, 500,000 communications, 25,000 commitments and
//! 40,000 survey answers. The data is generated in SQL
//! (seconds on PostgreSQL, about a minute on SQLite), then each report is sent
//! through the real router as LEADER (the whole book) and as one TEAM_LEAD,
//! `BENCH_RUNS` times (default 5); the median and the slowest run are printed.
//!
//! `cargo bench --bench analytics` (SQLite temp file), or with
//! `BENCH_DATABASE_URL=postgres://...` on an empty PostgreSQL database.
//! `BENCH_CUSTOMERS` (default 100000) and `BENCH_TICKETS` (default 300000) scale it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{Request, header},
};
use http_body_util::BodyExt;
use rapport::{config::Config, db, http::AppState, http::router};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};
use tower::ServiceExt;

mod support;
use support::env_or;

/// The SQL spellings that differ.
struct Gen {
    postgres: bool,
}

impl Gen {
    /// Rows numbered 1..=n as `g(n)`.
    fn numbers(&self, n: u64) -> String {
        if self.postgres {
            format!("generate_series(CAST(1 AS BIGINT), {n}) AS g(n)")
        } else {
            format!(
                "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s) AS g"
            )
        }
    }
    fn date_plus_days(&self, date: &str, days: &str) -> String {
        if self.postgres {
            format!("(DATE '{date}' + CAST({days} AS INTEGER))")
        } else {
            format!("date('{date}', '+' || ({days}) || ' days')")
        }
    }
    fn date_plus_months(&self, date: &str, months: &str) -> String {
        if self.postgres {
            format!("CAST(DATE '{date}' + ({months}) * INTERVAL '1 month' AS DATE)")
        } else {
            format!("date('{date}', '+' || ({months}) || ' months')")
        }
    }
    fn ts_plus_hours(&self, date: &str, hours: &str) -> String {
        if self.postgres {
            format!("(TIMESTAMPTZ '{date} 00:00:00+00' + ({hours}) * INTERVAL '1 hour')")
        } else {
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', '{date}', '+' || ({hours}) || ' hours')")
        }
    }
    /// A timestamp `seconds` before now.
    fn seconds_ago(&self, seconds: &str) -> String {
        if self.postgres {
            format!("(NOW() - ({seconds}) * INTERVAL '1 second')")
        } else {
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || ({seconds}) || ' seconds')")
        }
    }
    /// The date `days` before today (negative: after).
    fn days_ago(&self, days: &str) -> String {
        if self.postgres {
            format!("(CURRENT_DATE - CAST({days} AS INTEGER))")
        } else {
            format!("date('now', (-({days})) || ' days')")
        }
    }
    fn now(&self) -> &'static str {
        if self.postgres { "NOW()" } else { "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')" }
    }
}

async fn exec(db: &DatabaseConnection, sql: String) {
    let started = Instant::now();
    let result = db.execute_unprepared(&sql).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
    eprintln!("  {:>9} rows in {:>6.1?}: {}", result.rows_affected(), started.elapsed(), &sql[..sql.len().min(60)]);
}

/// Generates the book. Pseudo-random figures come from multiplicative hashes
/// of the row numbers, so every run loads the same data.
async fn load(db: &DatabaseConnection, customers: u64, tickets: u64) {
    let g = Gen { postgres: db.get_database_backend() == DatabaseBackend::Postgres };
    let now = g.now();
    exec(
        db,
        format!(
            "INSERT INTO team (name, created_at, updated_at) SELECT 'Team ' || n, {now}, {now} FROM {}",
            g.numbers(10)
        ),
    )
    .await;
    exec(db, format!(
        "INSERT INTO app_user (email, name, role, team_id, active, scopes, version, created_at, updated_at) \
         SELECT 'rep' || n || '@bench.example', 'Rep ' || n, 'REP', (SELECT MIN(id) FROM team) + n % 10, {t}, '', 1, {now}, {now} \
         FROM {}", g.numbers(100), t = if g.postgres { "TRUE" } else { "1" })).await;
    exec(
        db,
        format!(
            "INSERT INTO app_user (email, name, role, team_id, active, scopes, version, created_at, updated_at) VALUES \
         ('leader@bench.example', 'Leader', 'LEADER', NULL, {t}, '', 1, {now}, {now}), \
         ('lead@bench.example', 'Lead', 'TEAM_LEAD', (SELECT MIN(id) FROM team), {t}, '', 1, {now}, {now})",
            t = if g.postgres { "TRUE" } else { "1" }
        ),
    )
    .await;
    // A tenth joined during the window, a quarter were lost in it, a tenth of those won back.
    let since = format!(
        "CASE WHEN n % 10 = 0 THEN {} ELSE {} END",
        g.date_plus_days("2023-12-15", "(n * 37) % 1000"),
        g.date_plus_days("2008-01-01", "(n * 7919) % 5700")
    );
    exec(db, format!(
        "INSERT INTO customer (name, industry, region, status, owner_id, tier, strategic_importance, customer_since, \
           version, created_at, updated_at) \
         SELECT 'Customer ' || n, \
           CASE n % 4 WHEN 0 THEN 'Grocery' WHEN 1 THEN 'Hardware' WHEN 2 THEN 'Pharmacy' ELSE 'Fashion' END, \
           CASE n % 5 WHEN 0 THEN 'North' WHEN 1 THEN 'South' WHEN 2 THEN 'East' WHEN 3 THEN 'West' ELSE 'Central' END, \
           CASE WHEN n % 40 = 1 THEN 'WON_BACK' WHEN n % 4 = 1 AND n % 10 <> 0 THEN 'LOST' ELSE 'ACTIVE' END, \
           (SELECT MIN(id) FROM app_user) + n % 100, \
           CASE n % 3 WHEN 0 THEN 'PRICE' WHEN 1 THEN 'SERVICE' ELSE 'STRATEGIC' END, \
           CASE WHEN n % 17 = 0 THEN 'HIGH' ELSE 'MEDIUM' END, {since}, 1, {now}, {now} \
         FROM {}", g.numbers(customers))).await;
    let loss = g.date_plus_days("2024-01-01", "(c.id * 31) % 1000");
    exec(db, format!(
        "INSERT INTO churn_event (customer_id, kind, occurred_on, reason, controllable, recorded_by, created_at, updated_at) \
         SELECT c.id, 'LOST', {loss}, \
           CASE c.id % 9 WHEN 0 THEN 'PRICE' WHEN 1 THEN 'QUALITY' WHEN 2 THEN 'SERVICE' WHEN 3 THEN 'COMMUNICATION' \
             WHEN 4 THEN 'COMPETITOR_OFFER' WHEN 5 THEN 'BROKEN_PROMISE' WHEN 6 THEN 'REP_DEPARTURE' \
             WHEN 7 THEN 'CHANGED_BUSINESS' ELSE 'OTHER' END, NULL, c.owner_id, {now}, {now} \
         FROM customer c WHERE c.status IN ('LOST', 'WON_BACK')")).await;
    exec(db, format!(
        "INSERT INTO churn_event (customer_id, kind, occurred_on, reason, controllable, recorded_by, created_at, updated_at) \
         SELECT e.customer_id, 'WON_BACK', {back}, NULL, NULL, e.recorded_by, {now}, {now} \
         FROM churn_event e JOIN customer c ON c.id = e.customer_id WHERE c.status = 'WON_BACK'",
        back = if g.postgres { "e.occurred_on + 120".to_owned() } else { "date(e.occurred_on, '+120 days')".to_owned() })).await;
    // 48 months from Dec 2022; a few large accounts, some loss makers; none after a loss.
    let month = g.date_plus_months("2022-12-01", "m.n - 1");
    exec(
        db,
        format!(
            "INSERT INTO revenue_entry (customer_id, month, revenue_cents, gross_profit_cents, created_at, updated_at) \
         SELECT c.id, {month}, \
           (100000 + (c.id * 7 + m.n * 13) % 500000) * (CASE WHEN c.id % 100 < 5 THEN 20 ELSE 1 END), \
           (100000 + (c.id * 7 + m.n * 13) % 500000) * (CASE WHEN c.id % 100 < 5 THEN 20 ELSE 1 END) \
             * ((c.id % 33) - 3) / 100, \
           {now}, {now} \
         FROM customer c CROSS JOIN {months} \
         WHERE {month} >= c.customer_since \
           AND NOT EXISTS (SELECT 1 FROM churn_event e WHERE e.customer_id = c.id AND e.kind = 'LOST' \
             AND e.occurred_on <= {month} AND c.status = 'LOST')",
            months = g.numbers(48).replace(" g(n)", " m(n)").replace(") AS g", ") AS m")
        ),
    )
    .await;
    let opened = g.ts_plus_hours("2023-12-01", "(t.n * 7) % 26300");
    exec(
        db,
        format!(
            "INSERT INTO ticket (customer_id, title, description, category, priority, status, first_response_due_at, \
           resolution_due_at, first_responded_at, resolved_at, version, created_at, updated_at) \
         SELECT (SELECT MIN(id) FROM customer) + (t.n * 7919) % {customers}, 'Ticket ' || t.n, 'd', \
           CASE t.n % 10 WHEN 0 THEN 'QUALITY' WHEN 1 THEN 'DELIVERY' WHEN 2 THEN 'PACKAGING' WHEN 3 THEN 'QUANTITY' \
             WHEN 4 THEN 'PAYMENT_TERMS' WHEN 5 THEN 'PRICE' WHEN 6 THEN 'SERVICE' WHEN 7 THEN 'COMMUNICATION' \
             WHEN 8 THEN 'PROMOTION_SUPPORT' ELSE 'DELIVERY' END, \
           'MEDIUM', CASE WHEN t.n % 10 = 9 THEN 'OPEN' ELSE 'CLOSED' END, \
           {due_response}, {due_resolution}, {responded}, \
           CASE WHEN t.n % 10 = 9 THEN NULL ELSE {resolved} END, 1, {opened}, {opened} \
         FROM {numbers}",
            numbers = g.numbers(tickets).replace(" g(n)", " t(n)").replace(") AS g", ") AS t"),
            due_response = g.ts_plus_hours("2023-12-01", "(t.n * 7) % 26300 + 8"),
            due_resolution = g.ts_plus_hours("2023-12-01", "(t.n * 7) % 26300 + 120"),
            responded = g.ts_plus_hours("2023-12-01", "(t.n * 7) % 26300 + (t.n % 12)"),
            resolved = g.ts_plus_hours("2023-12-01", "(t.n * 7) % 26300 + 2 + (t.n * 13) % 200"),
        ),
    )
    .await;
    // What account health reads: 3 contacts per customer (a quarter only in
    // PURCHASING, one in 50 gone), 5 communications in the last 400 days, an
    // open commitment for a quarter of the customers (half of them overdue),
    // two survey answers for a fifth, a purchasing fit for three in ten.
    let numbers = |n: u64| g.numbers(n).replace(" g(n)", " k(n)").replace(") AS g", ") AS k");
    exec(db, format!(
        "INSERT INTO contact (customer_id, name, org_level, influence, relationship_strength, ended_on, version, created_at, updated_at) \
         SELECT c.id, 'Contact ' || c.id || '-' || k.n, \
           CASE WHEN c.id % 4 = 0 THEN 'PURCHASING' ELSE CASE (c.id + k.n) % 5 WHEN 0 THEN 'EXECUTIVE' \
             WHEN 1 THEN 'MANAGEMENT' WHEN 2 THEN 'PURCHASING' WHEN 3 THEN 'TECHNICAL' ELSE 'END_USER' END END, \
           1 + (c.id * k.n) % 5, 1 + (c.id + k.n) % 5, \
           CASE WHEN (c.id + k.n) % 50 = 0 THEN {ended} ELSE NULL END, 1, {since}, {now} \
         FROM customer c CROSS JOIN {three}",
        ended = g.days_ago("c.id % 120"), since = g.ts_plus_hours("2022-12-01", "0"), three = numbers(3))).await;
    exec(db, format!(
        "INSERT INTO communication (customer_id, user_id, channel, direction, occurred_at, summary, created_at, updated_at) \
         SELECT c.id, c.owner_id, CASE WHEN (c.id + k.n) % 20 = 0 THEN 'EXECUTIVE_MEETING' ELSE 'CALL' END, 'OUTBOUND', \
           {at}, 'Talked about the next order', {at}, {at} \
         FROM customer c CROSS JOIN {five}",
        at = g.seconds_ago("(c.id * 7919 + k.n * 104729) % (400 * 86400)"), five = numbers(5))).await;
    exec(
        db,
        "INSERT INTO communication_contact (communication_id, contact_id) \
         SELECT m.id, (SELECT MIN(k.id) FROM contact k WHERE k.customer_id = m.customer_id) FROM communication m"
            .to_owned(),
    )
    .await;
    exec(db, format!(
        "INSERT INTO commitment (customer_id, kind, description, amount_cents, due_on, owner_id, version, created_at, updated_at) \
         SELECT c.id, 'REBATE', 'Year-end rebate', 250000, {due}, c.owner_id, 1, {now}, {now} FROM customer c WHERE c.id % 4 = 0",
        due = g.days_ago("(c.id % 60) - 30"))).await;
    exec(
        db,
        format!(
            "INSERT INTO survey_response (customer_id, score, responded_on, created_at, updated_at) \
         SELECT c.id, (c.id * k.n) % 11, {on}, {now}, {now} FROM customer c CROSS JOIN {two} WHERE c.id % 5 = 0",
            on = g.days_ago("k.n * 40 + c.id % 30"),
            two = numbers(2)
        ),
    )
    .await;
    exec(
        db,
        "UPDATE customer SET purchasing_fit = CASE id % 10 WHEN 0 THEN 'ALARM' WHEN 1 THEN 'WARNING' \
         WHEN 2 THEN 'SAFE' ELSE NULL END"
            .to_owned(),
    )
    .await;
    let started = Instant::now();
    rapport::service::rollups::rebuild(db).await.unwrap();
    eprintln!("  rollups rebuilt in {:.1?}", started.elapsed());
    let started = Instant::now();
    rapport::service::segments::recompute(db, Default::default(), chrono::Utc::now().date_naive()).await.unwrap();
    eprintln!("  segments computed in {:.1?}", started.elapsed());
    // As autovacuum would have by the time anyone reads a book loaded this fast.
    exec(db, if g.postgres { "VACUUM ANALYZE".to_owned() } else { "ANALYZE".to_owned() }).await;
}

const REPORTS: [(&str, &str); 6] = [
    (
        "retentionReport (3 years, by TEAM)",
        "{ retentionReport(from: \"2023-11-30\", to: \"2026-11-30\", groupBy: TEAM) { total { customersAtStart lost churnRate lostRevenueShare } groups { label } reasons { count } points { customers } revenueRetention { net } } }",
    ),
    (
        "paretoReport (12 months)",
        "{ paretoReport(from: \"2025-12-01\", to: \"2026-11-30\") { customers topRevenueShare customersFor80PercentRevenue points { revenueShare } } }",
    ),
    ("segmentationSummary", "{ segmentationSummary { segments { segment customers revenueShare } } }"),
    (
        "errorAudit (3 years, by MONTH)",
        "{ errorAudit(from: \"2023-12-01\", to: \"2026-11-30\") { figures { tickets medianResolutionHours } recurrences { first { id } second { id } } } }",
    ),
    ("customerAggregates (TEAM, SEGMENT)", "{ customerAggregates(groupBy: [TEAM, SEGMENT]) { customers revenue } }"),
    (
        "atRiskCustomers (first 100)",
        "{ atRiskCustomers(first: 100) { totalCount edges { node { score level topSignals { kind impact explanation } customer { name } } } } }",
    ),
];

#[tokio::main]
async fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    }
    let customers: u64 = env_or("BENCH_CUSTOMERS", 100_000);
    let tickets: u64 = env_or("BENCH_TICKETS", 300_000);
    let runs: usize = env_or("BENCH_RUNS", 5);
    let path = std::env::temp_dir().join(format!("rapport-analytics-{}.db", std::process::id()));
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", path.display()));
    let conn = db::connect(&url, 4).await.expect("database");
    db::migrate(&conn).await.expect("migrate");
    let started = Instant::now();
    let loaded = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM customer",
        ))
        .await
        .unwrap()
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0);
    if loaded == 0 {
        eprintln!("loading {customers} customers, {tickets} tickets");
        load(&conn, customers, tickets).await;
    } else {
        // A kept database (BENCH_KEEP=1) is measured again as it is.
        eprintln!("reusing the {loaded} customers already loaded");
    }
    // A recompute when nothing changed: what the daily and per-push runs cost.
    let recompute = Instant::now();
    rapport::service::segments::recompute(&conn, Default::default(), chrono::Utc::now().date_naive()).await.unwrap();
    let recompute = recompute.elapsed();
    eprintln!("loaded in {:.1?}; segments recomputed in {recompute:.1?}", started.elapsed());

    let state = AppState::new(conn.clone(), Config::for_database(&url));
    // What a server does once at start (and every 10 minutes) for the at-risk list.
    let sweep = Instant::now();
    let scored = state.services.health.sweep(&conn).await.unwrap();
    let sweep = sweep.elapsed();
    eprintln!("account health swept in {sweep:.1?} ({scored} rows written)");
    // As autovacuum does soon after a table fills.
    exec(&conn, "ANALYZE customer_health".to_owned()).await;
    let token = |email: &str| {
        let conn = conn.clone();
        let email = email.to_owned();
        let tokens = state.services.tokens.clone();
        async move {
            let row = conn
                .query_one_raw(sea_orm::Statement::from_string(
                    conn.get_database_backend(),
                    format!("SELECT id FROM app_user WHERE email = '{email}'"),
                ))
                .await
                .unwrap()
                .unwrap();
            tokens.issue(row.try_get::<i64>("", "id").unwrap()).unwrap()
        }
    };
    let viewers = [("LEADER", token("leader@bench.example").await), ("TEAM_LEAD", token("lead@bench.example").await)];
    let app = router(state);
    println!("backend: {}", if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" });
    println!(
        "book: {customers} customers, {tickets} tickets; segment recompute {recompute:.0?}; health sweep {sweep:.1?}"
    );
    let send = |token: &str, query: &str| {
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(serde_json::json!({ "query": query }).to_string()))
            .unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            assert!(!bytes.windows(8).any(|w| w == b"\"errors\""), "{}", String::from_utf8_lossy(&bytes));
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        }
    };
    // The backtest of three years: the 36 month starts whose 90-day horizon has passed, against one sweep.
    let today = chrono::Utc::now().date_naive();
    let last_start = rapport::rules::month_start(today - chrono::Duration::days(90));
    let from = rapport::rules::add_months(last_start, -35);
    let backtest = format!(
        "{{ healthBacktest(from: \"{from}\", to: \"{today}\") {{ customersScored baseRate auc recall medianDaysAhead \
           levels {{ level customers losses lift }} }} }}"
    );
    let mut times = Vec::new();
    let mut answer = serde_json::Value::Null;
    for _ in 0..runs.min(3) {
        let started = Instant::now();
        answer = send(&viewers[0].1, &backtest).await;
        times.push(started.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "healthBacktest, 36 month starts from {from} as LEADER: median {median:.1?} ({:.2} times the sweep), slowest {:.1?}; {}",
        median.as_secs_f64() / sweep.as_secs_f64(),
        times[times.len() - 1],
        answer["data"]["healthBacktest"]
    );
    if std::env::var("BENCH_REPORTS").is_ok_and(|v| v == "0") {
        return;
    }
    println!("| report | viewer | median | slowest |");
    println!("|---|---|---|---|");
    for (name, query) in REPORTS {
        for (role, token) in &viewers {
            let mut times = Vec::new();
            for _ in 0..runs {
                let started = Instant::now();
                send(token, query).await;
                times.push(started.elapsed());
            }
            times.sort();
            let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
            println!("| {name} | {role} | {} | {} |", ms(times[times.len() / 2]), ms(times[times.len() - 1]));
        }
    }
    if std::env::var("BENCH_KEEP").is_ok() {
        eprintln!("kept {url}");
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
