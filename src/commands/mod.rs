//! Handlers of the engine subcommands (`list`, `status`, `start`, `stop`,
//! `trigger`, `setup`, `jobs`, `daemon`): each opens the store, goes through
//! [`EngineHandle`](crate::engine::EngineHandle) and prints for humans or, with
//! `--json`, for scripts.

pub(crate) mod apply;
pub(crate) mod attach;
pub(crate) mod configs;
pub mod console;
pub(crate) mod daemon;
pub(crate) mod demo;
pub(crate) mod init;
pub(crate) mod jobs;
pub(crate) mod logs;
pub(crate) mod wait_progress;

use crate::output::outln;
use std::sync::Arc;

use crate::connectors::Connectors;
use crate::engine::{Engine, EngineOptions};
use crate::store::{DbTarget, Store};

/// What `list` and `status` say on a database without configurations.
pub(crate) const NO_CONFIGS: &str = "no configurations yet: write one with `syncdeck init FILE` and load it with `syncdeck apply -f FILE`";

/// `--json` on a command: JSON for scripts instead of text.
#[derive(clap::Args, Debug, Default)]
pub struct JsonFlag {
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Opens the database and an engine in this process: `workers` runs queued
/// jobs here; schedulers only in the daemon and the console.
pub async fn open_engine(
    target: &DbTarget,
    options: EngineOptions,
) -> anyhow::Result<(Store, Engine)> {
    let store = Store::open(target).await?;
    let factory = Arc::new(Connectors::new(store.clone()));
    let engine = Engine::start(store.clone(), factory, options);
    Ok((store, engine))
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}
