use std::sync::Arc;

use clap::Parser;
use syncdeck::cli::{Cli, Command};
use syncdeck::commands::console::ConsoleLogs;

/// The console's logs: its five files (in `dir`, or for the demo in a
/// temporary directory) and the in-memory tail, installed as the subscriber.
fn console_logs(dir: Option<std::path::PathBuf>) -> anyhow::Result<ConsoleLogs> {
    let mut logs = ConsoleLogs::tail_only();
    match dir {
        Some(dir) => logs.dir = dir,
        None => {
            let temp = tempfile::Builder::new()
                .prefix("syncdeck-demo-logs-")
                .tempdir()
                .map_err(|e| anyhow::anyhow!("cannot create a temporary directory: {e}"))?;
            logs.dir = temp.path().to_path_buf();
            logs.temp = Some(Arc::new(temp));
        }
    }
    logs.files = Some(syncdeck::logging::init_console(
        logs.tail.clone(),
        &logs.dir,
    )?);
    Ok(logs)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let logging = match &cli.command {
        Some(Command::Daemon(args)) => {
            let dir = args
                .logs
                .clone()
                .unwrap_or_else(syncdeck::logging::default_dir);
            let mut logs = ConsoleLogs::tail_only();
            syncdeck::logging::init_daemon(&dir, args.log_format, logs.tail.clone()).map(|files| {
                logs.dir = dir;
                logs.files = Some(files);
                logs
            })
        }
        // The console owns the terminal: nothing may print to it.
        None => console_logs(Some(
            cli.console
                .logs
                .clone()
                .unwrap_or_else(syncdeck::logging::default_dir),
        )),
        // A demo serving the API keeps its logs too: attached consoles
        // tail them and list its files.
        Some(Command::Demo(d)) if !d.headless || d.listen.is_some() => {
            console_logs(d.console.logs.clone())
        }
        _ => {
            syncdeck::logging::init_stderr();
            Ok(ConsoleLogs::tail_only())
        }
    };
    let logs = match logging {
        Ok(logs) => logs,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The demo's log directory outlives everything that may log into it.
    let demo_logs = logs.temp.clone();
    let result = runtime.block_on(syncdeck::cli::run(cli, logs));
    // Workers and servers have stopped with the runtime; only now may the
    // directory go (the log writer would create it again for a later line).
    drop(runtime);
    drop(demo_logs);
    match result {
        Ok(code) => code,
        // The reader of our output went away (`syncdeck jobs | head -1`):
        // it has what it wanted, so stop quietly, as other Unix tools do.
        Err(e) if syncdeck::output::StdoutClosed::is_in(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
