//! Every environment variable Rapport reads, read once at start and passed down.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use anyhow::{Context, bail};

use jsonwebtoken::DecodingKey;

use crate::rules::{health::HealthRules, segments::SegmentRules, sla::SlaPolicy};

/// An external identity provider whose RS256 tokens are accepted.
#[derive(Clone)]
pub struct IdentityProvider {
    pub key: DecodingKey,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider").field("issuer", &self.issuer).field("audience", &self.audience).finish()
    }
}

impl IdentityProvider {
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        Ok(Self {
            key: DecodingKey::from_rsa_pem(pem.as_bytes())?,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }
}

/// NOTIFY channel of the ticket feed unless `RAPPORT_NOTIFY_CHANNEL` says otherwise.
pub const DEFAULT_NOTIFY_CHANNEL: &str = "rapport_ticket_events";

/// Development fallback for the JWT secret; `serve` refuses it in production.
pub const DEV_JWT_SECRET: &str = "rapport-development-secret-do-not-use-in-production";

/// Where the server runs: production turns on the stricter checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Limits that protect the server from expensive requests.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_body_bytes: usize,
    pub introspection: bool,
    /// Aliases allowed in one request.
    pub max_aliases: usize,
    /// Requests one user may make per minute (bursts up to the same number).
    pub requests_per_minute: u32,
    /// Customers one user may list per hour before it is audited as an export.
    pub export_threshold: u64,
    /// Bytes of documents kept for automatic persisted queries.
    pub persisted_query_bytes: usize,
}

impl Limits {
    /// Limits that do not matter: for printing the schema.
    pub fn for_sdl() -> Self {
        Self {
            max_depth: 1,
            max_complexity: 1,
            max_body_bytes: 1,
            introspection: true,
            max_aliases: 1,
            requests_per_minute: 1,
            export_threshold: 1,
            persisted_query_bytes: 0,
        }
    }
}

/// An address range (`10.0.0.0/8`, `::1/128`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = text.trim().split_once('/').map_or((text.trim(), None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().map_err(|_| format!("{text:?} is not an address or range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix in {text:?}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

fn trusted_proxies(raw: Option<String>) -> anyhow::Result<Vec<IpNet>> {
    raw.unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.parse().map_err(|e| anyhow::anyhow!("RAPPORT_TRUSTED_PROXIES: {e}")))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: String,
    pub db_max_connections: u32,
    pub bind: SocketAddr,
    pub jwt_secret: String,
    /// RS256 tokens of an external identity provider, when configured.
    pub identity_provider: Option<IdentityProvider>,
    pub token_ttl: Duration,
    /// Lifetime of access tokens issued by `login` and `refreshToken`.
    pub access_token_ttl: Duration,
    pub limits: Limits,
    /// Ticket SLA targets.
    pub sla: SlaPolicy,
    /// PostgreSQL NOTIFY channel of the ticket feed (one per deployment).
    pub notify_channel: String,
    /// How long a WebSocket may stay open without `connection_init`.
    pub ws_init_timeout: Duration,
    /// How long a WebSocket may stay silent (clients ping to stay connected).
    pub ws_idle_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Key of the HMAC that signs pagination cursors.
    pub cursor_secret: String,
    /// Thresholds of the computed customer segments.
    pub segment_rules: SegmentRules,
    /// Weights of the account-health signals and thresholds of its levels.
    pub health_rules: HealthRules,
    /// How often the whole book's health snapshot is recomputed (time passing changes it).
    pub health_sweep: Duration,
    /// How often the health snapshot reads the audit trail for changes (the at-risk list also does before it answers).
    pub health_poll: Duration,
    /// How often follow-up dates and playbook triggers become tasks (`RAPPORT_TASK_SWEEP_SECS`, 60).
    pub task_sweep: Duration,
    /// How often bulk reads counted here are added to the shared count (`RAPPORT_EXPORT_FLUSH_MS`, 1000).
    pub export_flush: Duration,
    /// Webhook delivery.
    pub webhook: WebhookConfig,
    /// How long requests in flight may run once a shutdown begins (`RAPPORT_SHUTDOWN_GRACE_SECONDS`, 20).
    pub shutdown_grace: Duration,
    /// Resolvers at least this slow are logged (`RAPPORT_SLOW_RESOLVER_MS`;
    /// 0, the default, leaves the watch out of the resolvers' path: timing
    /// every field costs a fifth of a large nested list's throughput).
    pub slow_resolver: Option<Duration>,
    /// Browser origins allowed to call the API (`RAPPORT_CORS_ORIGINS`): in
    /// development the usual local dev servers' origins, in production none.
    pub cors_origins: CorsOrigins,
}

/// Which browser origins may call the API from their pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`): safe only because credentials are never allowed.
    Any,
    /// These origins exactly (`scheme://host[:port]`); none when empty.
    List(Vec<String>),
}

/// The local dev servers' origins (Create React App and Next, Vite, webpack/Vue, Angular), allowed in development.
pub const DEV_CORS_ORIGINS: &str = "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173,http://127.0.0.1:5173,http://localhost:8080,http://127.0.0.1:8080,http://localhost:4200,http://127.0.0.1:4200";

impl CorsOrigins {
    /// `*`, `none`, or a comma-separated list of origins such as `https://app.example.com`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match text.trim() {
            "*" => return Ok(Self::Any),
            "none" => return Ok(Self::List(Vec::new())),
            _ => {}
        }
        let origins = text.split(',').map(str::trim).filter(|o| !o.is_empty()).map(|origin| {
            let (scheme, rest) = origin.split_once("://").unwrap_or(("", origin));
            let well_formed = matches!(scheme, "http" | "https")
                && !rest.is_empty()
                && !rest.contains(['/', '?', '#', '@', ' '])
                && axum::http::HeaderValue::from_str(origin).is_ok();
            if well_formed {
                Ok(origin.to_owned())
            } else {
                Err(anyhow::anyhow!("{origin:?} is not an origin (scheme://host[:port], no path)"))
            }
        });
        Ok(Self::List(origins.collect::<anyhow::Result<_>>()?))
    }
}

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Endpoints may point at loopback and private addresses
    /// (`RAPPORT_WEBHOOK_ALLOW_PRIVATE`; for a receiver in development or tests).
    pub allow_private: bool,
    /// The waits before each retry (`RAPPORT_WEBHOOK_RETRY_SCHEDULE`, e.g.
    /// `5s,5m,30m,2h,5h,10h,10h`: about 28 hours over 8 attempts).
    pub retries: Vec<Duration>,
    /// How long one attempt may take (`RAPPORT_WEBHOOK_TIMEOUT_SECS`, 10).
    pub timeout: Duration,
    /// How often the worker looks for due deliveries (`RAPPORT_WEBHOOK_POLL_MS`, 1000).
    pub poll: Duration,
    /// How often it looks for breached SLAs and overdue promises (`RAPPORT_WEBHOOK_SWEEP_SECS`, 60).
    pub sweep: Duration,
}

/// The retry schedule of the Standard Webhooks recommendations.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            retries: parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap_or_default(),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            sweep: Duration::from_secs(60),
        }
    }
}

/// `5s,5m,2h` (units ms, s, m, h) to durations.
pub fn parse_schedule(text: &str) -> anyhow::Result<Vec<Duration>> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let split = part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len());
            let (number, unit) = part.split_at(split);
            let n: u64 = number.parse().map_err(|_| anyhow::anyhow!("{part:?} is not a number and a unit"))?;
            Ok(match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                other => bail!("unit {other:?} in {part:?}: use ms, s, m or h"),
            })
        })
        .collect()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.parse().map_err(|e| anyhow::anyhow!("{name}={raw:?} is invalid: {e}")),
    }
}

/// Like [`parsed`], for settings where zero would stop the server working
/// (a pool of no connections, a timeout that has always passed).
fn positive<T: std::str::FromStr + PartialEq + Default>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    let value = parsed(name, default)?;
    if value == T::default() {
        bail!("{name}=0 is invalid: it must be at least 1");
    }
    Ok(value)
}

impl Config {
    /// Reads the configuration from the environment (and `.env`, if present).
    pub fn from_env() -> anyhow::Result<Self> {
        let environment = match var("RAPPORT_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => bail!("RAPPORT_ENV must be development or production, not {other:?}"),
        };
        let jwt_secret = var("RAPPORT_JWT_SECRET").unwrap_or_else(|| DEV_JWT_SECRET.to_owned());
        let public_key = match (var("RAPPORT_JWT_PUBLIC_KEY"), var("RAPPORT_JWT_PUBLIC_KEY_FILE")) {
            (Some(pem), _) => Some(pem.replace("\\n", "\n")),
            (None, Some(path)) => Some(std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?),
            (None, None) => None,
        };
        let identity_provider = match public_key {
            None => None,
            Some(pem) => {
                let issuer = var("RAPPORT_JWT_ISSUER").context("RAPPORT_JWT_ISSUER is required with a public key")?;
                let audience =
                    var("RAPPORT_JWT_AUDIENCE").context("RAPPORT_JWT_AUDIENCE is required with a public key")?;
                Some(IdentityProvider::from_pem(&pem, &issuer, &audience).context("RAPPORT_JWT_PUBLIC_KEY")?)
            }
        };
        // Every default lives in `Default`; the environment only overrides.
        let d = Self::default();
        let secs = |name: &str, default: Duration| positive(name, default.as_secs()).map(Duration::from_secs);
        let millis = |name: &str, default: Duration| {
            positive(name, u64::try_from(default.as_millis()).unwrap_or(u64::MAX)).map(Duration::from_millis)
        };
        Ok(Self {
            environment,
            database_url: var("DATABASE_URL").unwrap_or(d.database_url),
            db_max_connections: positive("RAPPORT_DB_MAX_CONNECTIONS", d.db_max_connections)?,
            bind: parsed("RAPPORT_BIND", d.bind)?,
            cursor_secret: var("RAPPORT_CURSOR_SECRET").unwrap_or_else(|| format!("cursor:{jwt_secret}")),
            jwt_secret,
            identity_provider,
            token_ttl: secs("RAPPORT_TOKEN_TTL_SECONDS", d.token_ttl)?,
            access_token_ttl: secs("RAPPORT_ACCESS_TOKEN_TTL_SECONDS", d.access_token_ttl)?,
            sla: SlaPolicy::parse(var("RAPPORT_SLA_HOURS").as_deref(), var("RAPPORT_SLA_TIER_PERCENT").as_deref())
                .map_err(|e| anyhow::anyhow!("SLA configuration: {e}"))?,
            notify_channel: var("RAPPORT_NOTIFY_CHANNEL").unwrap_or(d.notify_channel),
            ws_init_timeout: secs("RAPPORT_WS_INIT_TIMEOUT_SECONDS", d.ws_init_timeout)?,
            ws_idle_timeout: secs("RAPPORT_WS_IDLE_TIMEOUT_SECONDS", d.ws_idle_timeout)?,
            trusted_proxies: trusted_proxies(var("RAPPORT_TRUSTED_PROXIES"))?,
            segment_rules: SegmentRules::parse(var("RAPPORT_SEGMENT_RULES").as_deref())
                .map_err(|e| anyhow::anyhow!("RAPPORT_SEGMENT_RULES: {e}"))?,
            health_rules: HealthRules::parse(
                var("RAPPORT_HEALTH_WEIGHTS").as_deref(),
                var("RAPPORT_HEALTH_LEVELS").as_deref(),
            )
            .map_err(|e| anyhow::anyhow!("account health configuration: {e}"))?,
            health_sweep: secs("RAPPORT_HEALTH_SWEEP_SECS", d.health_sweep)?,
            health_poll: secs("RAPPORT_HEALTH_POLL_SECS", d.health_poll)?,
            task_sweep: secs("RAPPORT_TASK_SWEEP_SECS", d.task_sweep)?,
            export_flush: millis("RAPPORT_EXPORT_FLUSH_MS", d.export_flush)?,
            webhook: WebhookConfig {
                allow_private: parsed("RAPPORT_WEBHOOK_ALLOW_PRIVATE", d.webhook.allow_private)?,
                retries: parse_schedule(
                    &var("RAPPORT_WEBHOOK_RETRY_SCHEDULE").unwrap_or_else(|| DEFAULT_RETRY_SCHEDULE.to_owned()),
                )
                .context("RAPPORT_WEBHOOK_RETRY_SCHEDULE")?,
                timeout: secs("RAPPORT_WEBHOOK_TIMEOUT_SECS", d.webhook.timeout)?,
                poll: millis("RAPPORT_WEBHOOK_POLL_MS", d.webhook.poll)?,
                sweep: secs("RAPPORT_WEBHOOK_SWEEP_SECS", d.webhook.sweep)?,
            },
            shutdown_grace: secs("RAPPORT_SHUTDOWN_GRACE_SECONDS", d.shutdown_grace)?,
            slow_resolver: Some(parsed("RAPPORT_SLOW_RESOLVER_MS", 0).map(Duration::from_millis)?)
                .filter(|threshold| !threshold.is_zero()),
            cors_origins: match var("RAPPORT_CORS_ORIGINS") {
                Some(raw) => CorsOrigins::parse(&raw).map_err(|e| anyhow::anyhow!("RAPPORT_CORS_ORIGINS: {e}"))?,
                None if environment == Environment::Production => CorsOrigins::List(Vec::new()),
                None => d.cors_origins,
            },
            limits: Limits {
                max_depth: positive("RAPPORT_MAX_DEPTH", d.limits.max_depth)?,
                max_complexity: positive("RAPPORT_MAX_COMPLEXITY", d.limits.max_complexity)?,
                max_body_bytes: positive("RAPPORT_MAX_BODY_BYTES", d.limits.max_body_bytes)?,
                introspection: parsed("RAPPORT_INTROSPECTION", environment == Environment::Development)?,
                max_aliases: positive("RAPPORT_MAX_ALIASES", d.limits.max_aliases)?,
                requests_per_minute: positive("RAPPORT_RATE_LIMIT_PER_MINUTE", d.limits.requests_per_minute)?,
                export_threshold: parsed("RAPPORT_EXPORT_THRESHOLD", d.limits.export_threshold)?,
                persisted_query_bytes: parsed("RAPPORT_PERSISTED_QUERY_BYTES", d.limits.persisted_query_bytes)?,
            },
        })
    }

    /// A configuration for tests and tools: the defaults on the given
    /// database, on any free port, with a few connections and no rate limit
    /// to speak of.
    pub fn for_database(database_url: &str) -> Self {
        let mut config = Self { database_url: database_url.to_owned(), ..Self::default() };
        config.db_max_connections = 5;
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.limits.requests_per_minute = 100_000;
        config
    }
}

impl Default for Config {
    /// The defaults of every setting, in development: what runs when no
    /// variable is set (`.env.example` lists them).
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            database_url: "sqlite://rapport.db?mode=rwc".to_owned(),
            db_max_connections: 10,
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            jwt_secret: DEV_JWT_SECRET.to_owned(),
            identity_provider: None,
            token_ttl: Duration::from_secs(8 * 3600),
            access_token_ttl: Duration::from_secs(15 * 60),
            sla: SlaPolicy::default(),
            notify_channel: DEFAULT_NOTIFY_CHANNEL.to_owned(),
            ws_init_timeout: Duration::from_secs(5),
            ws_idle_timeout: Duration::from_secs(60),
            trusted_proxies: Vec::new(),
            cursor_secret: format!("cursor:{DEV_JWT_SECRET}"),
            segment_rules: SegmentRules::default(),
            health_rules: HealthRules::default(),
            health_sweep: Duration::from_secs(600),
            health_poll: Duration::from_secs(2),
            task_sweep: Duration::from_secs(60),
            export_flush: Duration::from_secs(1),
            webhook: WebhookConfig::default(),
            shutdown_grace: Duration::from_secs(20),
            slow_resolver: None,
            cors_origins: CorsOrigins::parse(DEV_CORS_ORIGINS).unwrap_or(CorsOrigins::List(Vec::new())),
            limits: Limits {
                max_depth: 12,
                max_complexity: 20_000,
                max_body_bytes: 1024 * 1024,
                introspection: true,
                max_aliases: 30,
                requests_per_minute: 600,
                export_threshold: 1000,
                persisted_query_bytes: 8 * 1024 * 1024,
            },
        }
    }
}

impl Config {
    /// Checks that must pass before `serve` listens.
    pub fn check_for_serving(&self) -> anyhow::Result<()> {
        if self.jwt_secret == DEV_JWT_SECRET {
            if self.environment == Environment::Production {
                bail!("RAPPORT_JWT_SECRET must be set when RAPPORT_ENV=production");
            }
            tracing::warn!("RAPPORT_JWT_SECRET is not set: using the public development secret");
        } else if self.jwt_secret.len() < 32 {
            bail!("RAPPORT_JWT_SECRET must be at least 32 bytes long");
        }
        Ok(())
    }
}

/// Parses `DATABASE_URL` just enough to tell the backend apart, for clear errors.
pub fn describe_database(url: &str) -> anyhow::Result<&'static str> {
    if url.starts_with("sqlite:") {
        Ok("SQLite")
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok("PostgreSQL")
    } else {
        Err(anyhow::anyhow!("unsupported DATABASE_URL scheme")).context("use sqlite:// or postgres://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_ranges_contain_what_they_should() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains("10.1.200.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!net.contains("10.2.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        let one: IpNet = "127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
    }
}
