//! Command-line definitions and the handlers of each subcommand.

use clap::{Parser, Subcommand};

use std::process::ExitCode;

use crate::sim::{self, DatasetSize, SimOptions};
use crate::store::DbTarget;

#[derive(Parser, Debug)]
#[command(
    name = "syncdeck",
    version,
    about = "Runs and monitors DHIS2 synchronisations from the terminal"
)]
pub struct Cli {
    /// Database: a SQLite file path, or a postgres:// URL shared by several
    /// daemons. Default: syncdeck.db in the user's data directory.
    #[arg(long, global = true, env = "SYNCDECK_DB", value_name = "PATH|URL")]
    pub db: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The database chosen by `--db` / `SYNCDECK_DB`, or the default file.
    pub fn db_target(&self) -> DbTarget {
        self.db
            .as_deref()
            .map_or_else(DbTarget::default_sqlite, DbTarget::parse)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve a simulated DHIS2 on 127.0.0.1 (for trying syncdeck, tests and benchmarks).
    Sim(SimOptions),
    /// Start a demo: a changing source DHIS2 and an empty destination, both simulated.
    Demo(DemoOptions),
    /// Measure throughput and memory (prints figures; see README).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Stream N data values from a simulator through the client: values/s and peak RSS.
    Export(crate::bench::ExportBenchOptions),
    /// Burn-down of N no-op jobs by W workers: queue jobs/s on SQLite (a temp
    /// file) or on the --db database.
    Queue(crate::bench::queue::QueueBenchOptions),
}

#[derive(clap::Args, Debug)]
pub struct DemoOptions {
    /// Size of the source's dataset.
    #[arg(long, value_enum, default_value = "small")]
    pub size: DatasetSize,
    /// Seed of the source's dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs a subcommand; the exit code tells scripts how it went.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sim(opts) => sim::run(opts).await.map(|()| ExitCode::SUCCESS),
        Command::Demo(opts) => demo(opts).await.map(|()| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Export(opts)) => {
            crate::bench::export(opts).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Queue(opts)) => {
            crate::bench::queue::run(opts, cli.db.as_deref())
                .await
                .map(|()| ExitCode::SUCCESS)
        }
    }
}

async fn demo(opts: DemoOptions) -> anyhow::Result<()> {
    let source = sim::start(SimOptions {
        size: opts.size,
        seed: opts.seed,
        mutate_every: Some(std::time::Duration::from_secs(30)),
        ..SimOptions::defaults()
    })
    .await?;
    let destination = sim::start(SimOptions {
        empty: true,
        ..SimOptions::defaults()
    })
    .await?;
    let defaults = SimOptions::defaults();
    println!(
        "syncdeck demo: two simulated DHIS2 {} instances on loopback",
        defaults.version.full()
    );
    println!(
        "  source       {}  ({} dataset, changes every 30s)",
        source.base_url, opts.size
    );
    println!(
        "  destination  {}  (empty: default category objects only)",
        destination.base_url
    );
    println!(
        "  credentials  {} / {}",
        defaults.username, defaults.password
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    source.stop().await;
    destination.stop().await;
    Ok(())
}
