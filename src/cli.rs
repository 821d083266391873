//! The command line: `serve` (the default), `migrate`, `schema`, `seed-demo`,
//! `token`, `user` and `rollups`.

use clap::{Parser, Subcommand};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    config::Config,
    graphql::sdl,
    http::AppState,
    seed,
    service::users::{NewUser, insert_user},
};

#[derive(Parser)]
#[command(name = "rapport", version, about = "GraphQL backend for customer-relationship data")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): migrates the database, then listens on RAPPORT_BIND.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Load the demo company into an empty database.
    SeedDemo,
    /// Print a signed access token for an existing user.
    Token {
        /// The user's e-mail address.
        email: String,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Check or rebuild the kept figures the reads use: revenue rollups and customer counts (a rebuild also
    /// rebuilds the duplicate candidates).
    #[command(subcommand)]
    Rollups(RollupsCommand),
    /// Bring a company's history in from CSV or NDJSON files (one kind per file:
    /// customers, contacts, churn_events, revenue, commitments, communications, tickets).
    Import {
        /// The system the files come from: their ids are its ids (letters, digits, '-', '_', '.').
        #[arg(long)]
        source: String,
        /// Check every file and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The ADMIN or LEADER the audit trail names (default: the first active ADMIN).
        #[arg(long = "as", value_name = "EMAIL")]
        actor: Option<String>,
        /// Files, or folders holding them.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum RollupsCommand {
    /// Compare the rollups and counts with the revenue and customer rows; exit 1 when they drifted.
    Check,
    /// Recompute the rollups and counts from the revenue and customer rows, in one transaction.
    Rebuild,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (e.g. the first ADMIN).
    Create {
        email: String,
        name: String,
        /// ADMIN, LEADER, TEAM_LEAD, REP or INTEGRATION.
        #[arg(long, default_value = "ADMIN")]
        role: String,
        /// Scopes of an INTEGRATION account, space-separated.
        #[arg(long, default_value = "")]
        scopes: String,
    },
    /// Set a user's password, read from RAPPORT_PASSWORD or the first line of standard input.
    SetPassword { email: String },
}

/// A configuration or start-up error: the command cannot begin. It is said
/// in one line and exits with 2, apart from failures of the work itself (1).
#[derive(Debug)]
pub struct Startup(pub String);

impl std::fmt::Display for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Startup {}

fn startup(message: impl Into<String>) -> anyhow::Error {
    Startup(message.into()).into()
}

fn parse_role(role: &str) -> anyhow::Result<entity::enums::Role> {
    use sea_orm::ActiveEnum;
    entity::enums::Role::try_from_value(&role.to_ascii_uppercase())
        .map_err(|_| anyhow::anyhow!("unknown role {role:?}"))
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Schema => {
            print!("{}", sdl());
            Ok(())
        }
        Command::SeedDemo => seed_demo(&config).await,
        Command::Token { email } => token(config, &email).await,
        Command::User(UserCommand::SetPassword { email }) => set_password(&config, &email).await,
        Command::Rollups(RollupsCommand::Check) => check_rollups(&config).await,
        Command::Rollups(RollupsCommand::Rebuild) => rebuild_rollups(&config).await,
        Command::Import { source, dry_run, actor, paths } => {
            import(config, crate::import::Options { source, paths, dry_run, actor }).await
        }
        Command::User(UserCommand::Create { email, name, role, scopes }) => {
            create_user(&config, email, name, &role, &scopes).await
        }
    }
}

/// Opening the database is what migrates it; nothing else to do.
async fn migrate(config: &Config) -> anyhow::Result<()> {
    open_database(config).await?;
    println!("migrations applied");
    Ok(())
}

/// Prints the demo users and, outside production, their password, so
/// whoever seeded can sign in at once.
async fn seed_demo(config: &Config) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    let production = config.environment == crate::config::Environment::Production;
    let password = (!production).then_some(seed::DEMO_PASSWORD);
    let seeded = seed::seed_demo(&db, password).await?;
    println!("loaded {} customers; demo users:", seeded.customers);
    for (email, role) in seeded.users {
        println!("  {email:<28} {}", role.as_str());
    }
    match password {
        Some(password) => println!("demo password: {password}"),
        None => println!("no demo passwords in production: invite users with inviteUser, or rapport user set-password"),
    }
    println!("sign in with the login mutation, or mint a token with: rapport token <email>");
    Ok(())
}

/// A token without a sign-in, to try the API or wire an integration; only an active user gets one.
async fn token(config: Config, email: &str) -> anyhow::Result<()> {
    let db = open_existing(&config).await?;
    let user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email.to_lowercase()))
        .filter(entity::user::Column::Active.eq(true))
        .one(&db)
        .await?
        .ok_or_else(|| {
            let searched = crate::db::reach::describe(&config.database_url);
            anyhow::anyhow!("no active user with e-mail {email} in {searched} (DATABASE_URL)")
        })?;
    let state = AppState::new(db, config);
    println!("{}", state.services.tokens.issue(user.id)?);
    Ok(())
}

/// The password comes from the environment or standard input, never an
/// argument, which would show in the process list and the shell history.
async fn set_password(config: &Config, email: &str) -> anyhow::Result<()> {
    let password = match std::env::var("RAPPORT_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let db = open_existing(config).await?;
    crate::service::sessions::set_password(&db, email, password).await?;
    println!("password set for {email}");
    Ok(())
}

/// Drift is an error, so the exit code tells monitoring what the text tells a person.
async fn check_rollups(config: &Config) -> anyhow::Result<()> {
    let db = open_existing(config).await?;
    let drift = crate::service::rollups::check(&db).await?;
    if drift.is_none() {
        println!("rollups match the revenue and customer rows");
        Ok(())
    } else {
        // An error exits 1: monitoring can run the check on a schedule.
        anyhow::bail!(
            "rollups drifted: {} rows of revenue_t12, {} of revenue_by_owner and {} kept customer counts differ; \
             run `rapport rollups rebuild`",
            drift.trailing_12,
            drift.by_owner,
            drift.customer_counts
        )
    }
}

/// In one transaction: readers never see the rollups half rebuilt.
async fn rebuild_rollups(config: &Config) -> anyhow::Result<()> {
    let db = open_existing(config).await?;
    let txn = crate::db::write(&db).await?;
    crate::service::rollups::rebuild(&txn).await?;
    txn.commit().await?;
    println!("rollups rebuilt");
    // Rows loaded by SQL left no change in the feed: their duplicate keys and pairs are built from the rows.
    let started = std::time::Instant::now();
    crate::service::duplicates::rebuild(&db).await?;
    println!("duplicate candidates rebuilt in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Without an access check: how the first ADMIN comes to be, before anyone can sign in.
async fn create_user(config: &Config, email: String, name: String, role: &str, scopes: &str) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    let user = insert_user(
        &db,
        NewUser {
            email,
            name,
            role: parse_role(role)?,
            team_id: None,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            phone: None,
        },
    )
    .await?;
    println!("created {} ({})", user.email, user.role.as_str());
    Ok(())
}

/// Every bad row on its own line (file:line: column: message), then what was done.
async fn import(config: Config, options: crate::import::Options) -> anyhow::Result<()> {
    let db = open_existing(&config).await?;
    // The services alone: no GraphQL schema or metrics recorder for a command that serves no request.
    let services = crate::service::Services::new(db, std::sync::Arc::new(config));
    let outcome = crate::import::run(&services, &options).await;
    if !options.dry_run {
        // Segments depend on the whole book: recomputed before the command
        // returns, also when a later file was refused after earlier ones were written.
        let rules = services.config.segment_rules;
        crate::service::segments::recompute(&services.db, rules, crate::db::now().date_naive()).await?;
    }
    match outcome {
        Ok(reports) => {
            let rows: u64 = reports.iter().map(|r| r.rows).sum();
            for r in &reports {
                if options.dry_run {
                    println!("{}: {} rows of {}, valid", r.file, r.rows, r.kind);
                } else {
                    println!(
                        "{}: {} rows of {}: {} created, {} updated, {} unchanged",
                        r.file, r.rows, r.kind, r.created, r.updated, r.unchanged
                    );
                }
            }
            if options.dry_run {
                println!("dry run: {rows} rows in {} files are valid; nothing was written", reports.len());
            } else {
                println!("imported {rows} rows from {} files (source {})", reports.len(), options.source);
            }
            Ok(())
        }
        Err(crate::import::Refusal::Rows(problems)) => {
            for (file, p) in &problems {
                eprintln!("{file}:{}: {}: {}", p.line, if p.column.is_empty() { "-" } else { &p.column }, p.message);
            }
            let rows: std::collections::HashSet<(&String, u64)> = problems.iter().map(|(f, p)| (f, p.line)).collect();
            anyhow::bail!("{} bad rows; nothing of their files was written", rows.len())
        }
        Err(crate::import::Refusal::Failed(err)) => Err(err),
    }
}

/// The address is taken first: a port in use is said before migrations run
/// and background tasks start.
async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_for_serving().map_err(|e| startup(format!("{e:#}")))?;
    let bind = config.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| startup(format!("cannot listen on {bind} (RAPPORT_BIND): {}", io_reason(&e))))?;
    let db = open_database(&config).await?;
    let state = AppState::new(db, config);
    state.start_background().await.map_err(|e| startup(format!("cannot start the background tasks: {e:#}")))?;
    tracing::info!("Rapport listening on http://{}/graphql", listener.local_addr()?);
    crate::http::shutdown::serve(listener, state, crate::http::shutdown::signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// An I/O error's reason without the OS error number.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::AddrInUse => "the address is already in use".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".to_owned(),
        std::io::ErrorKind::AddrNotAvailable => "this machine has no such address".to_owned(),
        _ => err.to_string(),
    }
}

/// Connects to the configured database and applies pending migrations
/// (creating a SQLite file that does not exist yet).
async fn open_database(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let url = &config.database_url;
    crate::config::describe_database(url).map_err(|e| startup(format!("DATABASE_URL: {e:#}")))?;
    let cannot =
        |reason: String| startup(format!("cannot open {}: {reason} (DATABASE_URL)", crate::db::reach::describe(url)));
    crate::db::reach::check(url).await.map_err(cannot)?;
    let db = crate::db::connect(url, config.db_max_connections).await.map_err(|e| cannot(e.to_string()))?;
    crate::db::migrate(&db)
        .await
        .map_err(|e| startup(format!("cannot migrate {}: {e}", crate::db::reach::describe(url))))?;
    Ok(db)
}

/// Like [`open_database`] for commands that read what is there: a SQLite
/// file that does not exist is an error, not a new empty database.
async fn open_existing(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    if let Some(path) = crate::db::reach::sqlite_path(&config.database_url)
        && !path.exists()
    {
        return Err(startup(format!(
            "there is no database at {} (DATABASE_URL={}): run `rapport seed-demo` or `rapport serve` to create one, or set DATABASE_URL",
            path.display(),
            config.database_url
        )));
    }
    open_database(config).await
}
