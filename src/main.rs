//! The `rapport` binary: configuration, logging, then the chosen subcommand.

use clap::Parser;
use rapport::{cli, config::Config};

/// mimalloc: allocation is a large share of each request's CPU (many small,
/// short-lived objects per response), and it keeps the resident set small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let config = Config::from_env()?;
    cli::run(cli, config).await
}
