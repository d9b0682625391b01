use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = syncdeck::cli::Cli::parse();
    match &cli.command {
        syncdeck::cli::Command::Daemon(args) => {
            let dir = args
                .logs
                .clone()
                .unwrap_or_else(syncdeck::logging::default_dir);
            if let Err(e) = syncdeck::logging::init_daemon(&dir, args.log_format) {
                eprintln!("error: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
        _ => syncdeck::logging::init_stderr(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(syncdeck::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
