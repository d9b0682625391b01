//! `syncdeck daemon`: the engine without a console, for systemd. Stops
//! cleanly on SIGTERM or SIGINT: running jobs go back to the queue.

use std::process::ExitCode;

use tracing::info;

use crate::engine::{EngineOptions, WorkerOptions};
use crate::store::DbTarget;

#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// Jobs run at the same time by this process.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// First check of every scheduler within this time (e.g. 10s) instead of
    /// at a random point of its check interval.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub first_check_within: Option<std::time::Duration>,
    /// A job whose worker stops renewing its lease this long is taken over
    /// (by this or another daemon).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub lease: std::time::Duration,
    /// A failed run is retried after this, then 2×, 4× … (at most 1 h),
    /// while attempts remain.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub retry_delay: std::time::Duration,
    /// Directory of the log files (default: `logs` in the data directory).
    #[arg(long, value_name = "DIR")]
    pub logs: Option<std::path::PathBuf>,
    /// Log lines as `[AUTO-SYNC] [LEVEL] time [component] - message` (text)
    /// or one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: crate::logs::LogFormat,
}

pub async fn run(target: &DbTarget, args: DaemonArgs) -> anyhow::Result<ExitCode> {
    let options = EngineOptions {
        schedulers: true,
        workers: true,
        worker: WorkerOptions {
            concurrency: args.workers.max(1),
            lease: args.lease.max(std::time::Duration::from_secs(1)),
            retry_base: args.retry_delay.max(std::time::Duration::from_secs(1)),
            ..Default::default()
        },
        first_check_within: args.first_check_within,
    };
    // Installed first: a SIGTERM during start-up still stops cleanly.
    let mut shutdown = crate::signals::Shutdown::install()?;
    let (store, engine) = super::open_engine(target, options).await?;
    info!(target: "auto_sync", db = %target.display(), workers = args.workers, "daemon started");
    eprintln!(
        "syncdeck daemon running on {} ({} workers); SIGTERM or Ctrl-C stops it",
        target.display(),
        args.workers
    );
    shutdown.requested().await;
    info!(target: "auto_sync", "stopping: giving running jobs back to the queue");
    engine.shutdown().await;
    store.close().await;
    info!(target: "auto_sync", "daemon stopped");
    Ok(ExitCode::SUCCESS)
}
