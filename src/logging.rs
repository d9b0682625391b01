//! Where tracing output goes: stderr for commands, files for the daemon.
//! (Rotation and the per-purpose log files come with the log viewer.)

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .init();
}

/// The console: INFO and up into its in-memory tail, nothing on the
/// terminal it draws on.
pub fn init_console(tail: std::sync::Arc<crate::tui::tail::Tail>) {
    tracing_subscriber::registry()
        .with(crate::tui::tail::TailLayer::new(tail).with_filter(filter("info")))
        .init();
}

/// The default logs directory: `logs` in the data directory.
pub fn default_dir() -> PathBuf {
    crate::store::default_data_dir().join("logs")
}

/// The daemon: everything from INFO into `DIR/syncdeck.log` (appended, no
/// colour codes), errors also on stderr for the service manager.
pub fn init_daemon(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create the logs directory {}: {e}", dir.display()))?;
    let path = dir.join("syncdeck.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let to_file = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .with_filter(filter("info"));
    let to_stderr = tracing_subscriber::fmt::layer()
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::new("error"));
    tracing_subscriber::registry()
        .with(to_file)
        .with(to_stderr)
        .init();
    Ok(path)
}
