use std::sync::Arc;

use clap::Parser;
use syncdeck::cli::{Cli, Command};
use syncdeck::tui::tail::Tail;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The console's log tail; filled only where the console runs.
    let tail = Arc::new(Tail::new());
    let logging = match &cli.command {
        Some(Command::Daemon(args)) => {
            let dir = args
                .logs
                .clone()
                .unwrap_or_else(syncdeck::logging::default_dir);
            syncdeck::logging::init_daemon(&dir, args.log_format).map(|_| ())
        }
        // The console owns the terminal: nothing may print to it.
        None => {
            syncdeck::logging::init_console(tail.clone());
            Ok(())
        }
        Some(Command::Demo(d)) if !d.headless => {
            syncdeck::logging::init_console(tail.clone());
            Ok(())
        }
        _ => {
            syncdeck::logging::init_stderr();
            Ok(())
        }
    };
    if let Err(e) = logging {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(syncdeck::cli::run(cli, tail)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
