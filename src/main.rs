//! The `rapport` binary: configuration, logging, then the chosen subcommand.

use clap::Parser;
use rapport::{cli, config::Config};

/// mimalloc: allocation is a large share of each request's CPU (many small,
/// short-lived objects per response), and it keeps the resident set small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often memory freed and left unused is given back to the system.
const RETURN_FREED_MEMORY_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

fn main() -> std::process::ExitCode {
    // mimalloc gives freed memory back only when the thread that freed it
    // allocates again, some milliseconds later. A password hash takes 19 MiB
    // on a blocking thread that then sleeps, so without this the server would
    // keep that memory for good. Purging at every free instead costs a fifth
    // of the nested list's throughput; a forced collection every 2 s costs
    // nothing measurable. Huge pages are off (the `no_thp` feature) for the
    // same reason: a few live bytes must not pin 2 MiB.
    let _ = std::thread::Builder::new().name("return-memory".into()).spawn(|| {
        loop {
            std::thread::sleep(RETURN_FREED_MEMORY_EVERY);
            #[allow(unsafe_code)]
            // SAFETY: mi_collect may be called from any thread at any time.
            unsafe {
                libmimalloc_sys::mi_collect(true)
            };
        }
    });
    dotenvy::dotenv().ok();
    let cli = cli::Cli::parse();
    let result = logged(cli);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // One line, no backtrace (even with RUST_BACKTRACE set): what was wrong, and where to fix it.
        Err(err) => {
            eprintln!("rapport: {err:#}");
            let startup = err.downcast_ref::<cli::Startup>().is_some();
            std::process::ExitCode::from(if startup { 2 } else { 1 })
        }
    }
}

fn logged(cli: cli::Cli) -> anyhow::Result<()> {
    let config = Config::from_env().map_err(|e| cli::Startup(format!("{e:#}")))?;
    // Held until the runtime is done: dropping it flushes the traces not exported yet.
    let logs = rapport::logs::init().map_err(|e| cli::Startup(format!("{e:#}")))?;
    let result = tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(cli::run(cli, config));
    drop(logs);
    result
}
