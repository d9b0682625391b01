//! `syncdeck` with no subcommand: the console over the local database, with
//! the engine (schedulers and workers) running in this process unless
//! `--monitor` says another process (a daemon) runs it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::engine::{EngineHandle, EngineOptions, WorkerOptions};
use crate::logs::tail::Tail;
use crate::remote::logs::DaemonLogs;
use crate::store::DbTarget;
use crate::tui::flash::Flash;
use crate::tui::keymap::{Keymap, user_keymap_path};
use crate::tui::model::{Model, Origin, Session};
use crate::tui::theme::Theme;

/// The console's logs: the in-memory tail and the files it writes (the
/// log viewer lists `dir`; clearing goes through `files`).
#[derive(Clone)]
pub struct ConsoleLogs {
    pub tail: Arc<Tail>,
    pub dir: PathBuf,
    pub files: Option<crate::logs::LogFiles>,
    /// The demo's logs live in a temporary directory, removed on exit.
    pub temp: Option<Arc<tempfile::TempDir>>,
    /// Attached over TCP: `dir` is a copy of the daemon's files, which
    /// this brings up to date as the viewer reads (and clears through).
    pub mirror: Option<Arc<crate::remote::logs::LogMirror>>,
}

impl ConsoleLogs {
    /// Only the tail (commands that draw no console).
    pub fn tail_only() -> Self {
        ConsoleLogs {
            tail: Arc::new(Tail::new()),
            dir: crate::logging::default_dir(),
            files: None,
            temp: None,
            mirror: None,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Look, don't touch: start/stop/trigger/retry/clear/settings are refused.
    #[arg(long)]
    pub read_only: bool,
    /// Run no schedulers or workers here: a daemon (maybe on another host,
    /// sharing a PostgreSQL database) does the work; the console watches.
    #[arg(long)]
    pub monitor: bool,
    /// Jobs run at the same time by this process.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// No colours (also with the NO_COLOR environment variable).
    #[arg(long)]
    pub no_color: bool,
    /// Only ASCII symbols, for terminals or fonts without box drawing.
    #[arg(long)]
    pub ascii: bool,
    /// Directory of the log files (default: `logs` in the data directory).
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// Write frame statistics (count, bytes, draw time, latency) as JSON to
    /// FILE on exit; used by the console benchmark.
    #[arg(long, value_name = "FILE", hide = true)]
    pub stats: Option<PathBuf>,
}

/// The model a console starts with: keymap (with any warning shown), theme
/// and session facts.
pub fn initial_model(
    args: &ConsoleArgs,
    origin: Origin,
    database: &str,
    logs: &ConsoleLogs,
) -> Model {
    let (keymap, warning) = match user_keymap_path() {
        Some(path) => Keymap::load(&path),
        None => (Keymap::defaults(), None),
    };
    let session = Session {
        // With no daemon, a monitor shows the database and acts on nothing:
        // what it changed would wait for a daemon nobody runs.
        read_only: args.read_only || origin == (Origin::Monitor { shared: false }),
        origin,
        database: database.to_string(),
        local_time: true,
    };
    let theme = Theme::from_env(args.no_color, args.ascii);
    let mut model = Model::new(
        session,
        keymap,
        theme,
        logs.tail.clone(),
        chrono::Utc::now().timestamp_millis(),
    );
    model.logs_dir = Some(logs.dir.clone());
    model.logs_label = logs.mirror.as_ref().map(|m| m.label());
    if let Some(w) = warning {
        model.flash = Some(Flash::warn(w.0));
    }
    model
}

pub fn engine_options(args: &ConsoleArgs) -> EngineOptions {
    EngineOptions {
        schedulers: !args.monitor,
        workers: !args.monitor,
        worker: WorkerOptions {
            concurrency: args.workers.max(1),
            ..Default::default()
        },
        first_check_within: None,
    }
}

/// Runs the console on `engine` until the operator quits.
pub async fn run_on(
    engine: EngineHandle,
    args: &ConsoleArgs,
    origin: Origin,
    database: &str,
    logs: ConsoleLogs,
) -> anyhow::Result<()> {
    let model = initial_model(args, origin, database, &logs);
    crate::tui::app::run(
        engine,
        model,
        logs.files.clone(),
        logs.mirror.clone(),
        args.stats.clone(),
    )
    .await
}

/// `--connect` and `--token-file`: where a daemon is, and its token.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    pub connect: Option<String>,
    pub token_file: Option<PathBuf>,
}

/// The console: attached to the daemon `--connect` names; with `--monitor`,
/// attached to the daemon serving this database on this host, else on the
/// database alone; otherwise with the engine in this process.
pub async fn run(
    target: &DbTarget,
    args: ConsoleArgs,
    logs: ConsoleLogs,
    remote: Remote,
) -> anyhow::Result<ExitCode> {
    let token_file = remote.token_file.as_deref();
    let daemon = match &remote.connect {
        Some(spec) => Some(super::attach::connect(spec, token_file).await?),
        None if args.monitor => match super::attach::local_daemon(target).await {
            Some(socket) => Some(super::attach::connect(&socket.shown(), token_file).await?),
            None => None,
        },
        None => None,
    };
    if let Some(daemon) = daemon {
        let origin = Origin::Attached {
            to: daemon.shown().to_string(),
            socket: daemon.on_this_host(),
        };
        let shown = daemon.shown().to_string();
        // The log viewer shows the daemon's files, not this console's.
        let logs = match daemon.daemon_logs().await {
            Ok(DaemonLogs::Here(dir)) => ConsoleLogs {
                dir,
                files: None,
                ..logs
            },
            Ok(DaemonLogs::Copy(mirror)) => ConsoleLogs {
                dir: mirror.dir().to_path_buf(),
                files: None,
                mirror: Some(mirror),
                ..logs
            },
            Err(e) => {
                tracing::warn!(
                    "the log viewer shows this console's own files: the daemon's cannot be read ({e})"
                );
                logs
            }
        };
        let result = run_on(daemon, &args, origin, &shown, logs).await;
        return result.map(|()| ExitCode::SUCCESS);
    }
    let (store, engine) = super::open_engine(target, engine_options(&args)).await?;
    let origin = if args.monitor {
        Origin::Monitor {
            shared: matches!(target, DbTarget::Postgres(_)),
        }
    } else {
        Origin::Local
    };
    let result = run_on(engine.handle(), &args, origin, &target.display(), logs).await;
    // Running jobs go back to the queue; another process picks them up.
    engine.shutdown().await;
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}
