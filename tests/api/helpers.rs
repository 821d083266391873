//! Test harness: a fresh database per test (SQLite temp file by default, or a
//! fresh PostgreSQL schema when `TEST_DATABASE_URL` is set), the real router
//! driven in-process, and fixture builders.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use entity::enums::Role;
use http_body_util::BodyExt;
use rapport::{
    config::Config,
    db,
    http::AppState,
    http::router,
    service::users::{NewUser, insert_team, insert_user},
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Every test's server logs, as the JSON lines a log collector would get;
/// only what the tests read (request spans and slow resolvers) is kept.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    /// The captured lines whose span has this request id.
    pub fn of_request(&self, request_id: &str) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["span"]["request_id"] == request_id)
            .collect()
    }
}

/// The logs of every test server in this process.
pub fn logs() -> &'static Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(Captured::default)
}

/// One subscriber for the whole process (a scoped one would miss callsites
/// that other tests' threads cached first). `RUST_LOG=error cargo test` also
/// shows what the servers logged (internal errors are masked in responses).
fn install_logs() {
    use tracing_subscriber::{Layer, filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let captured = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(logs().clone())
            .with_filter(
                Targets::new()
                    .with_target("rapport::http::request_id", tracing::Level::INFO)
                    .with_target("rapport::graphql::support::slow", tracing::Level::INFO),
            );
        let shown = std::env::var("RUST_LOG").is_ok().then(|| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(tracing_subscriber::EnvFilter::from_default_env())
        });
        let _ = tracing_subscriber::registry().with(captured).with(shown).try_init();
    });
}

pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub state: AppState,
    /// SQL statements run since the last [`TestApp::reset_statements`].
    statements: Arc<AtomicUsize>,
    sqlite_file: Option<std::path::PathBuf>,
}

/// Runs a command to its end off the test's runtime thread: a blocking wait
/// there would freeze the app's own tasks, and one frozen inside a SQLite
/// write transaction would hold the database's write lock against the command.
pub async fn output(mut command: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("the command runs")).await.expect("joined")
}

/// The response of one HTTP request.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    /// The body as sent, to check what parsing would hide (field order).
    pub text: String,
}

impl Reply {
    /// `extensions.code` of the first error, if any.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// The data, failing the test when the response carries errors.
    pub fn ok(&self) -> &Value {
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        &self.body["data"]
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with configuration changes.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        install_logs();
        let statements = Arc::new(AtomicUsize::new(0));
        let mut config = Config::for_database("test");
        config.ws_init_timeout = std::time::Duration::from_millis(700);
        // Statement counts must not include the health keeper's polling; the
        // at-risk list still catches up before it answers.
        config.health_poll = std::time::Duration::from_secs(3600);
        // Nor the webhook worker's; webhook tests poll fast.
        config.webhook.poll = std::time::Duration::from_secs(3600);
        config.webhook.sweep = std::time::Duration::from_secs(3600);
        // Nor the follow-up sweep's, unless a test asks for it.
        config.task_sweep = std::time::Duration::from_secs(3600);
        // Nor bulk-read counting, unless a test asks for it (by a threshold of its own).
        config.limits.export_threshold = u64::MAX / 4;
        config.export_flush = std::time::Duration::from_secs(3600);
        configure(&mut config);
        let (mut db, sqlite_file) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let (db, schema) = postgres_schema(&url).await;
                config.database_url = url;
                // Tests share one database: each listens on its own channel.
                config.notify_channel = schema;
                (db, None)
            }
            _ => {
                let path = std::env::temp_dir().join(format!("rapport-test-{}.db", uuid::Uuid::new_v4()));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                config.database_url = url.clone();
                (db::connect(&url, 5).await.expect("sqlite"), Some(path))
            }
        };
        db::migrate(&db).await.expect("migrations");
        let counter = statements.clone();
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::SeqCst);
            rapport::telemetry::record_statement(&info.statement.sql, info.elapsed.as_secs_f64(), info.failed);
        });
        let state = AppState::new(db.clone(), config);
        state.start_background().await.expect("ticket feed");
        Self { router: router(state.clone()), db, state, statements, sqlite_file }
    }

    /// Stops this instance's background work and starts a new instance on the
    /// same database, as a restart would.
    pub async fn restart(&self) -> TestApp {
        self.state.services.webhooks.stop();
        let app = self.alongside(|_| {});
        app.state.start_background().await.expect("background");
        app
    }

    /// A second router on the same database, configured otherwise, without background work of its own (its
    /// statements are counted with this one's).
    pub fn alongside(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.state.config().clone();
        configure(&mut config);
        let state = AppState::new(self.db.clone(), config);
        TestApp {
            router: router(state.clone()),
            db: self.db.clone(),
            state,
            statements: self.statements.clone(),
            sqlite_file: None,
        }
    }

    /// Serves the router on a real port (for WebSocket clients); returns its address.
    pub async fn listen(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = self.router.clone();
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        addr
    }

    /// Serves the app as `rapport serve` does, until `stop` resolves; returns
    /// the address and the server's task (which ends when the shutdown is done).
    pub async fn serve_until(
        &self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (std::net::SocketAddr, tokio::task::JoinHandle<anyhow::Result<()>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(rapport::http::shutdown::serve(listener, self.state.clone(), stop));
        (addr, server)
    }

    /// The `DATABASE_URL` (and notify channel) under which a `rapport` process
    /// of its own reaches this test's database.
    /// Starts the real `rapport` binary on this test's database and a free port;
    /// resolves once it answers `/healthz`.
    pub async fn start_process(&self) -> (std::process::Child, std::net::SocketAddr) {
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"))
            .envs(self.process_env())
            .env("RAPPORT_BIND", addr.to_string())
            .env("RUST_LOG", "error")
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("rapport starts");
        for _ in 0..200 {
            if reqwest::get(format!("http://{addr}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
                return (child, addr);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("rapport did not start listening on {addr}");
    }

    pub fn process_env(&self) -> Vec<(&'static str, String)> {
        let config = self.state.config();
        let url = if config.database_url.starts_with("postgres") {
            let separator = if config.database_url.contains('?') { '&' } else { '?' };
            format!("{}{separator}options=-csearch_path%3D{}", config.database_url, config.notify_channel)
        } else {
            config.database_url.clone()
        };
        vec![("DATABASE_URL", url), ("RAPPORT_NOTIFY_CHANNEL", config.notify_channel.clone())]
    }

    pub fn reset_statements(&self) {
        self.statements.store(0, Ordering::SeqCst);
    }

    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    pub fn token(&self, user_id: i64) -> String {
        self.state.services.tokens.issue(user_id).expect("token")
    }

    /// Sends a raw HTTP request to the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("router");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.clone()));
        Reply { status, headers, body, text }
    }

    /// POSTs a GraphQL request with an optional bearer token.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "rapport-tests");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.send(request.body(Body::from(body)).expect("request")).await
    }

    /// POSTs a GraphQL request as the given user.
    pub async fn gql(&self, user: &Person, query: &str, variables: Value) -> Reply {
        self.gql_as(Some(&user.token), query, variables).await
    }

    /// Sets a timestamp column of the rows matching `condition`, to back-date fixtures.
    pub async fn set_time(&self, table: &str, column: &str, at: chrono::DateTime<chrono::Utc>, condition: &str) {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        let value = match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => format!("'{at}'::timestamptz"),
            _ => format!("'{at}'"),
        };
        self.db
            .execute_unprepared(&format!("UPDATE {table} SET {column} = {value} WHERE {condition}"))
            .await
            .expect("set time");
    }

    /// Rows of a table (for asserting on the database itself).
    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// Runs a raw SQL query whose one row's one column is an integer.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, format!("SELECT ({sql}) AS n")))
            .await
            .expect("scalar")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// A fresh schema in the CI database, so tests run in parallel without sharing rows.
/// The CI database itself is dropped after the run.
async fn postgres_schema(url: &str) -> (DatabaseConnection, String) {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(url).await.expect("postgres");
    admin.execute_unprepared(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
    admin.close().await.ok();
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(5).sqlx_logging(false).set_schema_search_path(schema.clone());
    (Database::connect(options).await.expect("postgres schema"), schema)
}

/// A user with a token.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: i64,
    pub gid: String,
    pub token: String,
}

/// The standard cast: two teams, their leads and reps, leadership, service accounts.
pub struct Cast {
    pub admin: Person,
    pub leader: Person,
    pub lead_a: Person,
    pub rep_a: Person,
    pub rep_a2: Person,
    pub rep_b: Person,
    pub integration: Person,
    pub integration_unscoped: Person,
    pub team_b: i64,
}

/// The database id inside a global ID.
pub fn raw_id(gid: &str) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).expect("global id");
    let text = String::from_utf8(text).expect("utf-8");
    text.rsplit(':').next().and_then(|id| id.parse().ok()).expect("id")
}

pub fn gid(kind: &str, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

impl TestApp {
    pub async fn person(&self, email: &str, role: Role, team: Option<i64>, scopes: &[&str]) -> Person {
        let user = insert_user(
            &self.db,
            NewUser {
                email: email.to_owned(),
                name: email.split('@').next().unwrap_or(email).to_owned(),
                role,
                team_id: team,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                phone: None,
            },
        )
        .await
        .expect("user");
        Person { id: user.id, gid: gid("User", user.id), token: self.token(user.id) }
    }

    pub async fn cast(&self) -> Cast {
        let team_a = insert_team(&self.db, "Team A").await.expect("team").id;
        let team_b = insert_team(&self.db, "Team B").await.expect("team").id;
        Cast {
            admin: self.person("admin@t.example", Role::Admin, None, &[]).await,
            leader: self.person("leader@t.example", Role::Leader, None, &[]).await,
            lead_a: self.person("lead.a@t.example", Role::TeamLead, Some(team_a), &[]).await,
            rep_a: self.person("rep.a@t.example", Role::Rep, Some(team_a), &[]).await,
            rep_a2: self.person("rep.a2@t.example", Role::Rep, Some(team_a), &[]).await,
            rep_b: self.person("rep.b@t.example", Role::Rep, Some(team_b), &[]).await,
            integration: self
                .person(
                    "erp@t.example",
                    Role::Integration,
                    None,
                    &["customers:read", "graph:read", "revenue:write", "tickets:read"],
                )
                .await,
            integration_unscoped: self.person("bare@t.example", Role::Integration, None, &[]).await,
            team_b,
        }
    }

    /// Creates a customer owned by `owner` (as that owner) and returns its global ID.
    pub async fn customer(&self, owner: &Person, name: &str) -> String {
        let reply = self
            .gql(
                owner,
                "mutation($name: String!) { createCustomer(input: {name: $name, status: ACTIVE}) { id } }",
                json!({ "name": name }),
            )
            .await;
        reply.ok()["createCustomer"]["id"].as_str().expect("id").to_owned()
    }

    pub async fn contact(&self, owner: &Person, customer: &str, name: &str, level: &str) -> String {
        let reply = self
            .gql(
                owner,
                "mutation($c: ID!, $name: String!, $level: OrgLevel!) { createContact(customerId: $c, input: {name: $name, orgLevel: $level}) { id } }",
                json!({ "c": customer, "name": name, "level": level }),
            )
            .await;
        reply.ok()["createContact"]["id"].as_str().expect("id").to_owned()
    }
}
