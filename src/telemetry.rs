//! Metrics in the Prometheus text format (`GET /metrics`), through the
//! `metrics` facade: any module records with `metrics::counter!` and friends,
//! this one installs the process-wide recorder and names what is recorded.
//!
//! Label values are bounded: statement kinds are a fixed set, error codes are
//! the API's, and operation names are recorded only for named operations, at
//! most [`MAX_OPERATION_NAMES`] distinct ones per process (then `other`).

use std::{
    collections::HashSet,
    future::Future,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Distinct operation names recorded before the rest count as `other`.
pub const MAX_OPERATION_NAMES: usize = 200;

/// Seconds buckets of the latency histograms: 0.5 ms to 10 s.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The recorder of this process (installed once; later calls share it).
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(&BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => {
                    // Histogram samples wait in a queue until upkeep folds them
                    // into buckets; a scrape does it too, but a server nobody
                    // scrapes would otherwise keep every sample it ever took
                    // (the soak test saw RSS grow by 14 MiB in 8 minutes).
                    let upkeep = handle.clone();
                    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
                        loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        }
                    });
                    if let Err(err) = spawned {
                        tracing::error!(error = %err, "could not start the metrics upkeep");
                    }
                    register_known();
                    handle
                }
                // Another recorder is installed (an embedding program's): render an empty one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// A label's name and the values it takes.
type Labels = (&'static str, &'static [&'static str]);

/// Counters of a fixed label set, each with its known label values (the
/// label's name, then the values its recording sites use).
const COUNTERS: &[(&str, Option<Labels>)] = &[
    ("rapport_sql_statements_total", Some(("kind", &STATEMENT_KINDS))),
    ("rapport_sql_errors_total", Some(("kind", &STATEMENT_KINDS))),
    ("rapport_graphql_errors_total", Some(("code", &crate::error::codes::ALL))),
    ("rapport_db_unavailable_total", Some(("reason", &["unreachable", "locked", "read_only", "disk_full"]))),
    ("rapport_slow_resolvers_total", None),
    ("rapport_ticket_events_published_total", None),
    ("rapport_ticket_events_delivered_total", None),
    ("rapport_ticket_events_dropped_total", None),
    ("rapport_webhook_attempts_total", Some(("outcome", &["delivered", "retry", "failed"]))),
    ("rapport_rate_limited_total", Some(("transport", &["http", "websocket"]))),
    ("rapport_sign_in_failures_total", Some(("reason", &["wrong_password", "throttled"]))),
];

/// Gauges that start at zero in a new process.
const GAUGES: &[&str] = &["rapport_websockets_open", "rapport_subscriptions_active", "rapport_webhook_queue_depth"];

/// What [`statement_kind`] answers.
const STATEMENT_KINDS: [&str; 6] = ["select", "insert", "update", "delete", "transaction", "other"];

/// Every family exists from the first scrape, so dashboards and alerts have a
/// series before the first event: counters at zero for their known label
/// values, gauges at zero (nothing is open yet), the per-operation families
/// for unnamed operations.
fn register_known() {
    for (name, labels) in COUNTERS {
        match labels {
            None => metrics::counter!(*name).absolute(0),
            Some((label, values)) => {
                for value in *values {
                    metrics::counter!(*name, *label => *value).absolute(0);
                }
            }
        }
    }
    for name in GAUGES {
        metrics::gauge!(*name).set(0.0);
    }
    // Requests of unnamed operations (named ones add their own series).
    for outcome in REQUEST_OUTCOMES {
        metrics::counter!("rapport_http_requests_total", "operation" => "anonymous", "outcome" => *outcome).absolute(0);
    }
    for name in ["rapport_http_request_seconds", "rapport_request_sql_statements", "rapport_request_sql_seconds"] {
        let _ = metrics::histogram!(name, "operation" => "anonymous");
    }
    for kind in STATEMENT_KINDS {
        let _ = metrics::histogram!("rapport_sql_statement_seconds", "kind" => kind);
    }
}

/// The outcomes [`record_request`] is given.
pub const REQUEST_OUTCOMES: &[&str] = &["ok", "unauthenticated", "rate_limited", "unavailable", "rejected"];

/// The kind of a SQL statement, from its first word.
pub fn statement_kind(sql: &str) -> &'static str {
    let word = sql.trim_start().split(|c: char| c.is_whitespace() || c == '(').next().unwrap_or_default();
    match word.to_ascii_uppercase().as_str() {
        "SELECT" | "WITH" => "select",
        "INSERT" => "insert",
        "UPDATE" => "update",
        "DELETE" => "delete",
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" => "transaction",
        _ => "other",
    }
}

/// The SQL statements one request ran and their summed time.
#[derive(Default)]
struct RequestSql {
    statements: AtomicU64,
    nanos: AtomicU64,
}

tokio::task_local! {
    static REQUEST_SQL: Arc<RequestSql>;
}

/// Runs one request, counting the SQL statements that run in its task, and
/// records how many there were and how long they took, beside its latency.
/// (A DataLoader batch spawned onto another task is not counted.)
pub async fn counting_statements<T>(operation: &str, request: impl Future<Output = T>) -> T {
    let sql = Arc::new(RequestSql::default());
    let output = REQUEST_SQL.scope(sql.clone(), request).await;
    let statements = sql.statements.load(Ordering::Relaxed);
    let seconds = sql.nanos.load(Ordering::Relaxed) as f64 / 1e9;
    metrics::histogram!("rapport_request_sql_statements", "operation" => operation.to_owned())
        .record(statements as f64);
    metrics::histogram!("rapport_request_sql_seconds", "operation" => operation.to_owned()).record(seconds);
    output
}

/// Records one SQL statement and its duration.
pub fn record_statement(sql: &str, seconds: f64, failed: bool) {
    let _ = REQUEST_SQL.try_with(|request| {
        request.statements.fetch_add(1, Ordering::Relaxed);
        request.nanos.fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    });
    let kind = statement_kind(sql);
    // Kind and time only, in the span of the request that ran it: the text can
    // be long and the values are bound, so neither is logged.
    tracing::trace!(kind, elapsed_ms = seconds * 1000.0, failed, "sql statement");
    metrics::counter!("rapport_sql_statements_total", "kind" => kind).increment(1);
    metrics::histogram!("rapport_sql_statement_seconds", "kind" => kind).record(seconds);
    if failed {
        metrics::counter!("rapport_sql_errors_total", "kind" => kind).increment(1);
    }
}

/// The name of a document's first operation (`query Name`, `mutation Name`,
/// `subscription Name`) when the document starts with it, for requests that
/// do not send `operationName`.
pub fn operation_name_of(document: &str) -> Option<&str> {
    let text = document.trim_start();
    let rest = ["query", "mutation", "subscription"].iter().find_map(|keyword| text.strip_prefix(keyword))?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The label an operation name is recorded under.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|n| n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) else {
        return "anonymous".to_owned();
    };
    let mut seen = SEEN.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Records one GraphQL request over HTTP.
pub fn record_request(operation: &str, outcome: &'static str, seconds: f64) {
    metrics::counter!("rapport_http_requests_total", "operation" => operation.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("rapport_http_request_seconds", "operation" => operation.to_owned()).record(seconds);
}

/// Records the errors of a response by code.
pub fn record_error(code: &str) {
    metrics::counter!("rapport_graphql_errors_total", "code" => code.to_owned()).increment(1);
}

/// A gauge held up by one while this lives: an open WebSocket, a running subscription.
pub struct Held(&'static str);

impl Held {
    pub fn new(name: &'static str) -> Self {
        metrics::gauge!(name).increment(1.0);
        Self(name)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

/// What `/metrics` samples when it is scraped: the pool and the webhook queue.
pub fn record_gauges(pool_size: u32, pool_idle: usize, pool_max: u32, webhook_queue: Option<i64>) {
    metrics::gauge!("rapport_db_pool_connections_max").set(f64::from(pool_max));
    metrics::gauge!("rapport_db_pool_connections", "state" => "in_use").set(f64::from(pool_size) - pool_idle as f64);
    metrics::gauge!("rapport_db_pool_connections", "state" => "idle").set(pool_idle as f64);
    if let Some(depth) = webhook_queue {
        metrics::gauge!("rapport_webhook_queue_depth").set(depth as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_operation_name_is_its_first_named_operation() {
        assert_eq!(operation_name_of("query Status($id: ID!) { a }"), Some("Status"));
        assert_eq!(operation_name_of("  mutation Save { a }"), Some("Save"));
        assert_eq!(operation_name_of("{ customers { totalCount } }"), None);
        assert_eq!(operation_name_of("query { a }"), None);
        assert_eq!(operation_name_of("queryX { a }"), None);
    }

    #[test]
    fn statements_are_counted_by_kind() {
        assert_eq!(statement_kind("  WITH x AS (SELECT 1) SELECT * FROM x"), "select");
        assert_eq!(statement_kind("insert into t values (1)"), "insert");
        assert_eq!(statement_kind("VACUUM"), "other");
    }
}
