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
    /// Check or rebuild the revenue rollups the reports read.
    #[command(subcommand)]
    Rollups(RollupsCommand),
}

#[derive(Subcommand)]
enum RollupsCommand {
    /// Compare the rollups with the revenue rows; exit 1 when they drifted.
    Check,
    /// Recompute the rollups from the revenue rows, in one transaction.
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

/// Prints the demo users, so whoever seeded knows whom to mint a token for.
async fn seed_demo(config: &Config) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    let seeded = seed::seed_demo(&db).await?;
    println!("loaded {} customers; demo users:", seeded.customers);
    for (email, role) in seeded.users {
        println!("  {email:<28} {}", role.as_str());
    }
    println!("mint a token with: rapport token <email>");
    Ok(())
}

/// A token without a sign-in, to try the API or wire an integration; only an active user gets one.
async fn token(config: Config, email: &str) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email.to_lowercase()))
        .filter(entity::user::Column::Active.eq(true))
        .one(&db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no active user with e-mail {email}"))?;
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
    let db = open_database(config).await?;
    crate::service::sessions::set_password(&db, email, password).await?;
    println!("password set for {email}");
    Ok(())
}

/// Drift is an error, so the exit code tells monitoring what the text tells a person.
async fn check_rollups(config: &Config) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    let drift = crate::service::rollups::check(&db).await?;
    if drift.is_none() {
        println!("rollups match the revenue rows");
        Ok(())
    } else {
        // An error exits 1: monitoring can run the check on a schedule.
        anyhow::bail!(
            "rollups drifted: {} rows of revenue_t12 and {} of revenue_by_owner differ; run `rapport rollups rebuild`",
            drift.trailing_12,
            drift.by_owner
        )
    }
}

/// In one transaction: readers never see the rollups half rebuilt.
async fn rebuild_rollups(config: &Config) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    let txn = crate::db::write(&db).await?;
    crate::service::rollups::rebuild(&txn).await?;
    txn.commit().await?;
    println!("rollups rebuilt");
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

async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_for_serving()?;
    let db = open_database(&config).await?;
    let bind = config.bind;
    let state = AppState::new(db, config);
    state.start_background().await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!("Rapport listening on http://{}/graphql", listener.local_addr()?);
    crate::http::shutdown::serve(listener, state, crate::http::shutdown::signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Connects to the configured database and applies pending migrations.
async fn open_database(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    crate::config::describe_database(&config.database_url)?;
    let db = crate::db::connect(&config.database_url, config.db_max_connections).await?;
    crate::db::migrate(&db).await?;
    Ok(db)
}
