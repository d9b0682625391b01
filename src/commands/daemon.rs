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
    /// Serve the API here too: HOST:PORT (loopback unless
    /// --listen-any-address) or unix:PATH; repeatable. The unix socket in the
    /// runtime directory is always served (mode 0600) unless --no-api.
    #[arg(long, value_name = "ADDR", value_parser = crate::api::listen::parse)]
    pub listen: Vec<crate::api::Listen>,
    /// Allow --listen on an address other hosts can reach (the API has no
    /// TLS: put a TLS reverse proxy in front).
    #[arg(long)]
    pub listen_any_address: bool,
    /// Serve no API at all.
    #[arg(long, conflicts_with = "listen")]
    pub no_api: bool,
}

/// `token_file`: the global `--token-file` (the token this daemon's API
/// asks for; created on first start).
pub async fn run(
    target: &DbTarget,
    args: DaemonArgs,
    token_file: Option<std::path::PathBuf>,
    logs: super::console::ConsoleLogs,
) -> anyhow::Result<ExitCode> {
    for listen in &args.listen {
        crate::api::listen::check_reach(listen, args.listen_any_address)
            .map_err(anyhow::Error::msg)?;
    }
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
    let stop_api = tokio_util::sync::CancellationToken::new();
    let api = if args.no_api {
        None
    } else {
        let token_file = token_file.unwrap_or_else(crate::api::token::default_path);
        let token = crate::api::Token::load_or_create(&token_file).map_err(anyhow::Error::msg)?;
        let mut listen = vec![crate::api::Listen::Unix(
            crate::api::listen::default_socket(target),
        )];
        listen.extend(args.listen.iter().cloned());
        let options = crate::api::ApiOptions {
            listen,
            token,
            logs: Some(crate::logs::LogCatalog::new(logs.dir.clone())),
            tail: Some(logs.tail.clone()),
            schedulers: true,
        };
        let running = match crate::api::start(engine.handle(), options, stop_api.clone()).await {
            Ok(running) => running,
            Err(e) => {
                // Jobs this engine may have claimed go back to the queue.
                stop_api.cancel();
                engine.shutdown().await;
                store.close().await;
                return Err(e);
            }
        };
        let at: Vec<String> = running.addresses.iter().map(ToString::to_string).collect();
        info!(target: "auto_sync", api = %at.join(", "), token_file = %token_file.display(), "API listening");
        eprintln!(
            "API on {} (bearer token in {})",
            at.join(" and "),
            token_file.display()
        );
        Some(running)
    };
    info!(target: "auto_sync", db = %target.display(), workers = args.workers, "daemon started");
    eprintln!(
        "syncdeck daemon running on {} ({} workers); SIGTERM or Ctrl-C stops it",
        target.display(),
        args.workers
    );
    shutdown.requested().await;
    info!(target: "auto_sync", "stopping: giving running jobs back to the queue");
    stop_api.cancel();
    if let Some(api) = api {
        api.finish().await;
    }
    engine.shutdown().await;
    store.close().await;
    info!(target: "auto_sync", "daemon stopped");
    Ok(ExitCode::SUCCESS)
}
