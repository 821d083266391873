//! The soak driver: a steady mixed load on a running `rapport serve` for N
//! minutes, with the server's health sampled every minute and every ticket
//! event checked at the end. `bench/soak` loads the data, starts the server
//! and runs this; see bench/README.md.
//!
//! The load: `SOAK_RATE` requests a second (default 100) from `SOAK_WORKERS`
//! keep-alive clients (16): customer lists with nested contacts,
//! communications and tickets (35%), account status (30%), customers by id
//! (20%), ticket writes (14%: new tickets and comments) and, on purpose, an
//! account status of a customer that does not exist (1%, `NOT_FOUND`).
//! Beside it `SOAK_SUBSCRIBERS` WebSocket subscribers (1,000) follow
//! `ticketEvents`: half as the sales leader (every event), half as ten reps
//! (the events of their own customers). At the end every subscriber's event
//! ids are compared with what `ticket_event` holds for what it may see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rapport::{auth::TokenService, config::DEV_JWT_SECRET, db, gid};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

mod support;
use support::{cpu_ticks, env_or, memory_kib, open_fds};

const LEADER: i64 = 1;
/// The reps whose customers the writes go to and whose sessions subscribe.
const REPS: std::ops::RangeInclusive<i64> = 2..=11;

fn raw_id(gid: &str) -> Option<i64> {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).ok()?;
    String::from_utf8(text).ok()?.rsplit(':').next()?.parse().ok()
}

/// One finished request: when, how long, and its outcome (`ok` or an error code).
struct Sample {
    minute: usize,
    latency: Duration,
    outcome: String,
    deliberate: bool,
}

/// What one minute of the server looked like.
struct Minute {
    rss_kib: u64,
    fds: usize,
    cpu_ticks: u64,
}

/// The rows of `sql`, every column a BIGINT.
async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<i64>> {
    let stmt = Statement::from_string(db.get_database_backend(), sql.to_owned());
    db.query_all_raw(stmt)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (0..).map_while(|k| row.try_get_by_index::<i64>(k).ok()).collect())
        .collect()
}

const NESTED: &str = "query Nested { customers(first: 50, filter: {statuses: [ACTIVE]}, orderBy: {field: NAME}) { totalCount edges { node { id name status tier owner { id name } contacts { id name title orgLevel email phone } latestCommunications(first: 5) { id channel direction occurredAt summary } openTickets { id title priority status createdAt } } } } }";
const STATUS: &str = "query Status($id: ID!) { accountStatus(customerId: $id) { customerId name tier healthScore healthLevel topSignal openTickets slaBreachedTickets overdueCommitments ownerName lastContactOn } }";
const BY_ID: &str = "query ById($id: ID!) { customer(id: $id) { id name status tier } }";
const CREATE: &str = "mutation Open($c: ID!, $t: String!) { createTicket(input: {customerId: $c, title: $t, description: \"soak\", category: DELIVERY}) { id version } }";
const COMMENT: &str = "mutation Comment($id: ID!, $v: Int!) { commentOnTicket(id: $id, expectedVersion: $v, body: \"soak\") { ticket { version } } }";

/// The outcome of a response: `ok`, its first error code, or the HTTP status.
fn outcome(status: u16, body: &str) -> (String, Value) {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if let Some(code) = value["errors"][0]["extensions"]["code"].as_str() {
        return (code.to_owned(), value);
    }
    if status != 200 || value.is_null() {
        return (format!("HTTP_{status}"), value);
    }
    ("ok".to_owned(), value)
}

struct Load {
    url: String,
    tokens: HashMap<i64, String>,
    /// Customers of the reps, by rep.
    customers: HashMap<i64, Vec<i64>>,
    started: Instant,
    samples: Mutex<Vec<Sample>>,
}

impl Load {
    async fn post(&self, http: &reqwest::Client, user: i64, query: &str, variables: Value) -> (String, Value) {
        let body = json!({"query": query, "variables": variables}).to_string();
        let sent = http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.tokens[&user]))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                outcome(status, &text)
            }
            Err(err) => (if err.is_timeout() { "TIMEOUT" } else { "TRANSPORT" }.to_owned(), Value::Null),
        }
    }

    /// One worker: a request at each tick, drawn from the mix.
    async fn work(self: Arc<Self>, seed: u64, every: Duration, until: Instant) {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut tickets: Vec<(String, i64)> = Vec::new();
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while Instant::now() < until {
            ticks.tick().await;
            let rep = rng.random_range(REPS);
            let user = if rng.random_bool(0.5) { LEADER } else { rep };
            let customer = self.customers[&rep][rng.random_range(0..self.customers[&rep].len())];
            let pick = rng.random_range(0..100);
            let started = Instant::now();
            let (result, deliberate) = match pick {
                0..35 => (self.post(&http, user, NESTED, json!({})).await, false),
                35..65 => {
                    (self.post(&http, user, STATUS, json!({"id": gid::encode("Customer", customer)})).await, false)
                }
                65..85 => {
                    (self.post(&http, user, BY_ID, json!({"id": gid::encode("Customer", customer)})).await, false)
                }
                85..92 => {
                    let reply = self
                        .post(
                            &http,
                            LEADER,
                            CREATE,
                            json!({"c": gid::encode("Customer", customer), "t": format!("soak {seed}")}),
                        )
                        .await;
                    if let (Some(id), Some(version)) = (
                        reply.1["data"]["createTicket"]["id"].as_str(),
                        reply.1["data"]["createTicket"]["version"].as_i64(),
                    ) {
                        tickets.push((id.to_owned(), version));
                    }
                    (reply, false)
                }
                92..99 if !tickets.is_empty() => {
                    // Each worker writes only its own tickets, so it knows their versions.
                    let k = rng.random_range(0..tickets.len());
                    let (id, version) = tickets[k].clone();
                    let reply = self.post(&http, LEADER, COMMENT, json!({"id": id, "v": version})).await;
                    if let Some(v) = reply.1["data"]["commentOnTicket"]["ticket"]["version"].as_i64() {
                        tickets[k].1 = v;
                    }
                    (reply, false)
                }
                92..99 => {
                    (self.post(&http, user, BY_ID, json!({"id": gid::encode("Customer", customer)})).await, false)
                }
                _ => (self.post(&http, user, STATUS, json!({"id": gid::encode("Customer", 987_654_321)})).await, true),
            };
            let latency = started.elapsed();
            let minute = (started - self.started).as_secs() as usize / 60;
            self.samples.lock().unwrap().push(Sample { minute, latency, outcome: result.0, deliberate });
        }
    }
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    user: i64,
    /// Event ids with their ticket's id, as received.
    events: Vec<(i64, i64)>,
    /// `error` or `complete` messages, and a connection that ended early.
    failures: Vec<String>,
}

async fn subscribe(
    addr: String,
    user: i64,
    token: String,
    ready: tokio::sync::mpsc::Sender<()>,
    stop: Arc<tokio::sync::Notify>,
) -> Seen {
    let mut seen = Seen { user, ..Seen::default() };
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    ws.send(Message::Text(init.to_string().into())).await.unwrap();
    ws.next().await.unwrap().unwrap();
    let subscribe = json!({"id": "s", "type": "subscribe", "payload": {"query": "subscription { ticketEvents { event { id } ticket { id } } }"}});
    ws.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    ready.send(()).await.unwrap();
    // The server closes connections silent for a minute: ping well within it.
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    loop {
        tokio::select! {
            () = stop.notified() => break,
            _ = ping.tick() => {
                if ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
                    seen.failures.push("send failed".to_owned());
                    break;
                }
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if text.contains(r#""type":"next""#) {
                        // A substring search keeps the clients' share of the cores small.
                        let id_after = |key: &str| {
                            text.split_once(key).and_then(|(_, rest)| rest.split('"').next()).and_then(raw_id)
                        };
                        match (id_after(r#""event":{"id":""#), id_after(r#""ticket":{"id":""#)) {
                            (Some(event), Some(ticket)) => seen.events.push((event, ticket)),
                            _ => seen.failures.push(format!("unreadable: {text}")),
                        }
                    } else if text.contains(r#""type":"error""#) || text.contains(r#""type":"complete""#) {
                        seen.failures.push(text.to_string());
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    seen.failures.push(format!("closed: {frame:?}"));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    seen.failures.push(format!("socket: {err}"));
                    break;
                }
                None => {
                    seen.failures.push("socket ended".to_owned());
                    break;
                }
            },
        }
    }
    let _ = ws.close(None).await;
    seen
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[k].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    rlimit::increase_nofile_limit(65_536).ok();
    let addr = std::env::var("SOAK_ADDR").expect("SOAK_ADDR: the server's host:port");
    let pid: u32 = std::env::var("SOAK_PID").expect("SOAK_PID: the server's process id").parse().unwrap();
    let database_url = std::env::var("SOAK_DATABASE_URL").expect("SOAK_DATABASE_URL");
    let minutes: u64 = env_or("SOAK_MINUTES", 10);
    let rate: u64 = env_or("SOAK_RATE", 100);
    let workers: u64 = env_or("SOAK_WORKERS", 16);
    let subscribers: usize = env_or("SOAK_SUBSCRIBERS", 1000);

    let database = db::connect(&database_url, 2).await.unwrap();
    let issuer = TokenService::new(DEV_JWT_SECRET, Duration::from_secs(minutes * 60 + 3600));
    let tokens: HashMap<i64, String> =
        std::iter::once(LEADER).chain(REPS).map(|user| (user, issuer.issue(user).unwrap())).collect();
    let mut customers: HashMap<i64, Vec<i64>> = HashMap::new();
    for row in rows(
        &database,
        &format!(
            "SELECT CAST(id AS BIGINT), CAST(owner_id AS BIGINT) FROM customer WHERE owner_id BETWEEN {} AND {} AND archived_at IS NULL",
            REPS.start(),
            REPS.end()
        ),
    )
    .await
    {
        customers.entry(row[1]).or_default().push(row[0]);
    }
    let first_event = rows(&database, "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM ticket_event").await[0][0];

    // Subscribers first, so they see every event of the run.
    let stop = Arc::new(tokio::sync::Notify::new());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(subscribers.max(1));
    let mut listeners = Vec::new();
    let connecting = Instant::now();
    for n in 0..subscribers {
        let user = if n % 2 == 0 { LEADER } else { REPS.start() + (n as i64 / 2) % 10 };
        listeners.push(tokio::spawn(subscribe(
            addr.clone(),
            user,
            tokens[&user].clone(),
            ready_tx.clone(),
            stop.clone(),
        )));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await.unwrap();
    }
    eprintln!("{subscribers} subscribers ready in {:?}", connecting.elapsed());
    tokio::time::sleep(Duration::from_secs(1)).await;

    let started = Instant::now();
    let until = started + Duration::from_secs(minutes * 60);
    let load = Arc::new(Load {
        url: format!("http://{addr}/graphql"),
        tokens: tokens.clone(),
        customers,
        started,
        samples: Mutex::new(Vec::new()),
    });
    let every = Duration::from_secs_f64(workers as f64 / rate as f64);
    let running: Vec<_> = (0..workers).map(|w| tokio::spawn(load.clone().work(w + 1, every, until))).collect();

    let cpu_at_start = cpu_ticks(pid);
    let rss_at_start = memory_kib(pid, "VmRSS:");
    let mut per_minute = Vec::new();
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), Duration::from_secs(60));
    for minute in 0..minutes {
        ticks.tick().await;
        per_minute.push(Minute { rss_kib: memory_kib(pid, "VmRSS:"), fds: open_fds(pid), cpu_ticks: cpu_ticks(pid) });
        let done = load.samples.lock().unwrap().len();
        eprintln!("minute {}: {done} requests so far, RSS {} MiB", minute + 1, memory_kib(pid, "VmRSS:") / 1024);
    }
    for worker in running {
        worker.await.unwrap();
    }
    // Let the last events reach every subscriber, then stop listening.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_after = memory_kib(pid, "VmRSS:");
    stop.notify_waiters();
    let mut seen = Vec::new();
    for listener in listeners {
        seen.push(listener.await.unwrap());
    }

    let samples = std::mem::take(&mut *load.samples.lock().unwrap());
    println!("\n### Soak: {minutes} minutes, {rate} requests/s target, {workers} clients, {subscribers} subscribers\n");
    println!("| minute | requests | errors (not deliberate) | p50 ms | p99 ms | server CPU % | RSS MiB | open fds |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut previous_cpu = cpu_at_start;
    for (minute, sample) in per_minute.iter().enumerate() {
        let mut latencies: Vec<Duration> = samples.iter().filter(|s| s.minute == minute).map(|s| s.latency).collect();
        latencies.sort();
        let errors = samples.iter().filter(|s| s.minute == minute && !s.deliberate && s.outcome != "ok").count();
        // Clock ticks are hundredths of a second: over 60 s, ticks / 60 is percent of one core.
        let cpu = (sample.cpu_ticks - previous_cpu) as f64 / 60.0;
        previous_cpu = sample.cpu_ticks;
        println!(
            "| {} | {} | {errors} | {:.1} | {:.1} | {cpu:.0} | {:.1} | {} |",
            minute + 1,
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            sample.rss_kib as f64 / 1024.0,
            sample.fds
        );
    }
    println!(
        "\nServer RSS: {:.1} MiB with the subscribers connected before the load, {:.1} MiB 5 s after it",
        rss_at_start as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    let mut outcomes: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for sample in &samples {
        *outcomes.entry((sample.outcome.clone(), sample.deliberate)).or_default() += 1;
    }
    println!("\nRequests served: {}", samples.len());
    for ((outcome, deliberate), count) in &outcomes {
        println!("- {outcome}{}: {count}", if *deliberate { " (deliberate)" } else { "" });
    }

    // Every event each subscriber may see, from the table, against what it got.
    let events = rows(
        &database,
        &format!(
            "SELECT CAST(e.id AS BIGINT), CAST(c.owner_id AS BIGINT), CAST(e.ticket_id AS BIGINT) FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id \
             JOIN customer c ON c.id = t.customer_id WHERE e.id > {first_event} ORDER BY e.id"
        ),
    )
    .await;
    let (mut expected, mut received, mut lost, mut duplicated, mut out_of_order, mut foreign) = (0, 0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for subscriber in &seen {
        let visible: Vec<i64> = events
            .iter()
            .filter(|row| subscriber.user == LEADER || row[1] == subscriber.user)
            .map(|row| row[0])
            .collect();
        let allowed: HashSet<i64> = visible.iter().copied().collect();
        let got: HashSet<i64> = subscriber.events.iter().map(|(event, _)| *event).collect();
        expected += visible.len();
        received += subscriber.events.len();
        lost += visible.iter().filter(|id| !got.contains(id)).count();
        duplicated += subscriber.events.len() - got.len();
        // Transactions commit in their own order, so only a ticket's own events
        // have one to keep (its changes are serialised by its version).
        let mut last_of_ticket: HashMap<i64, i64> = HashMap::new();
        for (event, ticket) in &subscriber.events {
            if last_of_ticket.insert(*ticket, *event).is_some_and(|last| last >= *event) {
                out_of_order += 1;
            }
        }
        foreign += subscriber.events.iter().filter(|(event, _)| !allowed.contains(event)).count();
        failures.extend(subscriber.failures.iter().cloned());
    }
    println!(
        "\nTicket events: {} written; {expected} owed to subscribers, {received} received, {lost} lost, \
         {duplicated} duplicated, {out_of_order} out of order within their ticket, {foreign} not theirs to see",
        events.len()
    );
    println!("Subscriber failures: {}", failures.len());
    for failure in failures.iter().take(5) {
        println!("- {failure}");
    }
    let unexpected: usize =
        outcomes.iter().filter(|((outcome, deliberate), _)| outcome != "ok" && !deliberate).map(|(_, n)| n).sum();
    if unexpected > 0 || lost > 0 || duplicated > 0 || out_of_order > 0 || foreign > 0 || !failures.is_empty() {
        std::process::exit(1);
    }
}
