//! Where tracing output goes: stderr for commands; for the daemon (and the
//! console) the five rotated files of [`crate::logs`], plus any extra
//! layers the caller brings (the console's in-memory tail, stderr).

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use crate::logs::writer::FailureNotice;
pub use crate::logs::{LogFiles, LogFormat, LogSettings};

/// A layer for [`init_files`]' `extra`.
pub type BoxedLayer =
    Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

/// `SYNCDECK_LOG` (e.g. `info,syncdeck::sim=debug`) or `default`.
fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("SYNCDECK_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Colour only for a terminal, and never with `NO_COLOR` set.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Commands: warnings and errors on stderr.
pub fn init_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(filter("warn"))
        .with_timer(crate::logs::format::LocalTime)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .init();
}

/// The console: the five files in `dir` and its in-memory tail (INFO and
/// up, or `SYNCDECK_LOG`); nothing on the terminal it draws on (a failed
/// write reaches its status line through `LogFiles::health`).
pub fn init_console(
    tail: std::sync::Arc<crate::logs::tail::Tail>,
    dir: &Path,
) -> anyhow::Result<LogFiles> {
    let settings = LogSettings::load_default()?;
    let to_tail = crate::logs::tail::TailLayer::new(tail)
        .with_filter(filter("info"))
        .boxed();
    init_files(
        dir,
        &settings,
        LogFormat::Text,
        FailureNotice::HealthOnly,
        vec![to_tail],
    )
}

/// The default logs directory: `logs` in the data directory.
pub fn default_dir() -> PathBuf {
    crate::store::default_data_dir().join("logs")
}

/// Errors on stderr (for a service manager's journal). Not for the
/// console, which owns the terminal.
pub fn stderr_errors_layer() -> BoxedLayer {
    tracing_subscriber::fmt::layer()
        .with_timer(crate::logs::format::LocalTime)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .with_filter(LevelFilter::ERROR)
        .boxed()
}

/// Installs the global subscriber: the five files in `dir` (INFO and
/// above, routed per file) and the `extra` layers. Returns the files'
/// handle (e.g. to clear one through the writer). `notice`: who hears of a
/// failed write.
pub fn init_files(
    dir: &Path,
    settings: &LogSettings,
    format: LogFormat,
    notice: FailureNotice,
    extra: Vec<BoxedLayer>,
) -> anyhow::Result<LogFiles> {
    let files = LogFiles::open(dir, settings, format, notice)?;
    let to_files = files.layer().with_filter(LevelFilter::INFO).boxed();
    let mut layers: Vec<BoxedLayer> = vec![to_files];
    layers.extend(extra);
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))?;
    Ok(files)
}

/// The daemon: the five files in `dir` with the rotation settings of the
/// local settings file, errors (and a failed log write) also on stderr, and
/// the lines the API's event stream carries in `tail`.
pub fn init_daemon(
    dir: &Path,
    format: LogFormat,
    tail: std::sync::Arc<crate::logs::tail::Tail>,
) -> anyhow::Result<LogFiles> {
    let settings = LogSettings::load_default()?;
    let to_tail = crate::logs::tail::TailLayer::new(tail)
        .with_filter(filter("info"))
        .boxed();
    init_files(
        dir,
        &settings,
        format,
        FailureNotice::Stderr,
        vec![stderr_errors_layer(), to_tail],
    )
}
