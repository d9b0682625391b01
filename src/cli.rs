//! Command-line definitions and the handlers of each subcommand.

use clap::{Parser, Subcommand};

use std::process::ExitCode;

use crate::commands::JsonFlag;
use crate::engine::EngineOptions;
use crate::sim::{self, SimOptions};
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
    /// Work through a running daemon's API instead of the database:
    /// unix:PATH (its socket) or http(s)://HOST:PORT (its --listen, or a
    /// tunnel or proxy to it). The console attaches; commands act there.
    #[arg(long, global = true, env = "SYNCDECK_CONNECT", value_name = "ADDR")]
    pub connect: Option<String>,
    /// The API's bearer token file. The daemon creates it on first start
    /// (mode 0600); clients present it. Default: api-token in the data
    /// directory; SYNCDECK_API_TOKEN gives a client the token itself.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the console (`syncdeck` with no subcommand).
    #[command(flatten)]
    pub console: crate::commands::console::ConsoleArgs,
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
    /// The console on a demo: simulated DHIS2 servers, sample configs, a sync
    /// running within seconds; nothing outside a temporary directory is touched.
    Demo(crate::commands::demo::DemoOptions),
    /// List the sync configs.
    List(JsonFlag),
    /// Show the state of one config (name or id) or of all.
    Status {
        /// A config name or id (default: every config).
        #[arg(value_name = "CONFIG")]
        config: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Switch a config's scheduler on (or all with --all).
    Start(ConfigSelector),
    /// Switch a config's scheduler off and cancel its queued jobs (or all with --all).
    Stop(ConfigSelector),
    /// Queue a sync now; with --wait run it here and exit 0 only if it completed.
    Trigger {
        /// A config name or id.
        #[arg(value_name = "CONFIG")]
        config: String,
        /// Run the job in this process and wait for it: a progress bar on a
        /// terminal, then per-resource counts; exit 0 only if it completed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Edit the auto-sync settings of a config (e.g. --check-interval 5m).
    Setup {
        /// A config name or id.
        #[arg(value_name = "CONFIG")]
        config: String,
        #[command(flatten)]
        settings: crate::commands::configs::SetupArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List jobs (newest first), or retry / clear them.
    Jobs(JobsArgs),
    /// End a config's cooldown after a failed job (`cooldown clear CONFIG`).
    #[command(subcommand)]
    Cooldown(CooldownAction),
    /// Run schedulers and workers without a console (for systemd).
    Daemon(crate::commands::daemon::DaemonArgs),
    /// List, view, follow, search and clear the log files.
    Logs(crate::commands::logs::LogsArgs),
    /// Measure throughput and memory (prints figures; see README).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Create or update instances and sync configs from a TOML file (idempotent).
    Apply(crate::commands::apply::ApplyOptions),
    /// Print the stored configuration as the TOML `apply` reads.
    Export(crate::commands::apply::ExportOptions),
    /// Write the commented example configuration (to FILE, or stdout) to edit
    /// and `apply`.
    Init(crate::commands::init::InitArgs),
}

/// A config or `--all`, exactly one. The group names its members: a struct
/// group would take in the flattened `--json` too and be unsatisfiable.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("selector").required(true).multiple(false).args(["config", "all"])))]
pub struct ConfigSelector {
    /// A config name or id.
    #[arg(value_name = "CONFIG")]
    pub config: Option<String>,
    /// Every config.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(clap::Args, Debug)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub action: Option<JobsAction>,
    /// Only failed jobs.
    #[arg(long)]
    pub failed: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Subcommand, Debug)]
pub enum JobsAction {
    /// Queue a failed job again (or all failed jobs with --all).
    Retry {
        /// The job's id (from `syncdeck jobs`).
        #[arg(value_name = "ID")]
        id: Option<i64>,
        /// Every failed job.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Delete queued, failed and cancelled jobs (running ones stay).
    Clear,
    /// One job with its per-resource results.
    Show {
        /// The job's id (from `syncdeck jobs`).
        #[arg(value_name = "ID")]
        id: i64,
        /// List what the destination refused: resource, object, code,
        /// class (permanent = not re-sent), message, times seen.
        #[arg(long)]
        rejections: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CooldownAction {
    /// End the cooldown now: the scheduler syncs again from its next check.
    Clear {
        /// A config name or id.
        #[arg(value_name = "CONFIG")]
        config: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Stream N data values from a simulator through the client: values/s and peak RSS.
    Export(crate::bench::ExportBenchOptions),
    /// Burn-down of N no-op jobs by W workers: queue jobs/s on SQLite (a temp
    /// file) or on the --db database.
    Queue(crate::bench::queue::QueueBenchOptions),
    /// A whole sync of a simulator (large by default) into an empty one:
    /// objects/s per type, peak RSS, and the ratio to plain curl moving the
    /// data values; with --hang-rate/--stall-rate, the time without and with
    /// the source's faults.
    Sync(crate::bench::sync::SyncBenchOptions),
    /// The console's cost: render time per frame (200 configs x 30
    /// resources), bytes and CPU through a pty idle and with 5 syncs, and
    /// event-to-frame latency (needs tmux).
    Console(crate::bench::console::ConsoleBenchOptions),
    /// A generated log (1 GB by default): first screen, line index, search
    /// against `grep -c`.
    Logs(crate::bench::logs::LogsBenchOptions),
    /// What event-stream clients of the daemon's API cost running syncs:
    /// the same syncs with none and with N clients, objects/s of each.
    Events(crate::bench::events::EventsBenchOptions),
}

/// Runs a subcommand; the exit code tells scripts how it went.
pub async fn run(
    cli: Cli,
    logs: crate::commands::console::ConsoleLogs,
) -> anyhow::Result<ExitCode> {
    use crate::commands::{configs, jobs};
    let target = cli.db_target();
    // Commands that only read or change the database run no schedulers; only
    // `trigger --wait` runs workers, to execute its job here.
    let passive = |workers: bool| EngineOptions {
        workers,
        ..Default::default()
    };
    // With --connect the daemon's engine does it (and runs `--wait`'s job).
    macro_rules! with_engine {
        ($workers:expr, |$e:ident| $body:expr) => {{
            if let Some(spec) = &cli.connect {
                let $e: crate::engine::EngineHandle =
                    crate::commands::attach::connect(spec, cli.token_file.as_deref()).await?;
                $body.await
            } else {
                let (store, engine) =
                    crate::commands::open_engine(&target, passive($workers)).await?;
                let $e = engine.handle();
                let result = $body.await;
                engine.shutdown().await;
                store.close().await;
                result
            }
        }};
    }
    let remote = crate::commands::console::Remote {
        connect: cli.connect.clone(),
        token_file: cli.token_file.clone(),
    };
    let Some(command) = cli.command else {
        return crate::commands::console::run(&target, cli.console, logs, remote).await;
    };
    // `sim`, `demo`, `bench` and `init` make their own things and ignore it.
    if matches!(command, Command::Daemon(_)) && cli.connect.is_some() {
        anyhow::bail!(
            "`daemon` runs the engine on its --db; --connect (or SYNCDECK_CONNECT) names another daemon to talk to: drop it"
        );
    }
    match command {
        Command::List(j) => with_engine!(false, |e| configs::list(&e, j.json)),
        Command::Status { config, json } => {
            with_engine!(false, |e| configs::status(&e, config.as_deref(), json.json))
        }
        Command::Start(sel) => with_engine!(false, |e| configs::start_stop(
            &e,
            sel.config.as_deref().filter(|_| !sel.all),
            true,
            sel.json.json
        )),
        Command::Stop(sel) => with_engine!(false, |e| configs::start_stop(
            &e,
            sel.config.as_deref().filter(|_| !sel.all),
            false,
            sel.json.json
        )),
        Command::Trigger { config, wait, json } => {
            // Installed before the engine starts, as in the daemon: a signal
            // while the job runs here gives it back to the queue.
            let mut shutdown = crate::signals::Shutdown::install()?;
            with_engine!(wait, |e| configs::trigger(
                &e,
                &config,
                wait,
                json.json,
                &mut shutdown
            ))
        }
        Command::Setup {
            config,
            settings,
            json,
        } => with_engine!(false, |e| configs::setup(&e, &config, settings, json.json)),
        Command::Jobs(args) => match args.action {
            None => with_engine!(false, |e| jobs::list(&e, args.failed, args.json.json)),
            Some(JobsAction::Retry { id, all }) => {
                if id.is_none() && !all {
                    anyhow::bail!("give a job id or --all");
                }
                with_engine!(false, |e| jobs::retry(&e, id, args.json.json))
            }
            Some(JobsAction::Clear) => with_engine!(false, |e| jobs::clear(&e, args.json.json)),
            Some(JobsAction::Show { id, rejections }) => {
                if rejections {
                    with_engine!(false, |e| jobs::rejections(&e, id, args.json.json))
                } else {
                    with_engine!(false, |e| jobs::show(&e, id, args.json.json))
                }
            }
        },
        Command::Cooldown(CooldownAction::Clear { config, json }) => {
            with_engine!(false, |e| configs::clear_cooldown(&e, &config, json.json))
        }
        Command::Daemon(args) => {
            crate::commands::daemon::run(&target, args, cli.token_file.clone(), logs).await
        }
        Command::Logs(args) => match &cli.connect {
            Some(spec) => {
                let daemon =
                    crate::commands::attach::connect(spec, cli.token_file.as_deref()).await?;
                crate::commands::logs::run_remote(args, &daemon).await
            }
            None => tokio::task::spawn_blocking(|| crate::commands::logs::run(args)).await?,
        },
        Command::Sim(opts) => sim::run(opts).await.map(|()| ExitCode::SUCCESS),
        Command::Demo(opts) => crate::commands::demo::run(opts, cli.token_file.clone(), logs).await,
        Command::Bench(BenchCommand::Export(opts)) => {
            crate::bench::export(opts).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Apply(opts) => with_engine!(false, |e| crate::commands::apply::apply(&e, opts)),
        Command::Export(opts) => {
            let where_ = cli.connect.clone().unwrap_or_else(|| target.display());
            with_engine!(false, |e| crate::commands::apply::export(&e, opts, &where_))
        }
        Command::Init(args) => crate::commands::init::run(args),
        Command::Bench(BenchCommand::Sync(opts)) => crate::bench::sync::run(opts)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Console(opts)) => crate::bench::console::run(opts)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Events(opts)) => crate::bench::events::run(opts)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Logs(opts)) => {
            tokio::task::spawn_blocking(|| crate::bench::logs::run(opts)).await?
        }
        Command::Bench(BenchCommand::Queue(opts)) => {
            crate::bench::queue::run(opts, cli.db.as_deref())
                .await
                .map(|()| ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command, as `syncdeck jobs retry --all`, that
    /// `--help` would show without a word of help, or a value without a name.
    fn undocumented(cmd: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let shown = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| id.to_uppercase());
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                found.push(format!("{path} {shown}: no help"));
            }
            let takes_value = arg.get_action().takes_values();
            if takes_value
                && arg
                    .get_value_names()
                    .is_some_and(|names| names.iter().any(|n| n.is_empty()))
            {
                found.push(format!("{path} {shown}: an empty value name"));
            }
        }
        for sub in cmd.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                found.push(format!("{sub_path}: no about"));
            }
            undocumented(sub, &sub_path, found);
        }
    }

    #[test]
    fn every_command_option_and_argument_has_help() {
        use clap::CommandFactory;
        let mut found = Vec::new();
        let mut cmd = Cli::command();
        cmd.build();
        undocumented(&cmd, "syncdeck", &mut found);
        assert!(found.is_empty(), "without help:\n{}", found.join("\n"));
    }

    #[test]
    fn positional_arguments_are_named_in_the_usage() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        for (path, want) in [
            (&["start"][..], "<CONFIG|--all>"),
            (&["jobs", "retry"], "[ID]"),
            (&["trigger"], "<CONFIG>"),
        ] {
            let mut sub = &mut cmd;
            for p in path {
                sub = sub.find_subcommand_mut(p).unwrap();
            }
            let usage = sub.render_usage().to_string();
            assert!(usage.contains(want), "{path:?}: {usage}");
            assert!(!usage.contains("<>"), "{path:?}: {usage}");
        }
    }

    #[test]
    fn start_and_stop_take_a_config_or_all() {
        for verb in ["start", "stop"] {
            let parse =
                |args: &[&str]| Cli::try_parse_from([&["syncdeck", verb][..], args].concat());
            for ok in [
                &["copy"][..],
                &["--all"],
                &["copy", "--json"],
                &["--all", "--json"],
            ] {
                let cli = parse(ok).unwrap_or_else(|e| panic!("{verb} {ok:?}: {e}"));
                let (Some(Command::Start(sel)) | Some(Command::Stop(sel))) = cli.command else {
                    panic!("{verb} {ok:?}");
                };
                assert_eq!(
                    sel.config.as_deref(),
                    ok.first().filter(|a| **a == "copy").copied()
                );
                assert_eq!(sel.all, ok.contains(&"--all"));
                assert_eq!(sel.json.json, ok.contains(&"--json"));
            }
            assert!(parse(&[]).is_err(), "{verb} needs a config or --all");
            assert!(parse(&["copy", "--all"]).is_err(), "{verb}: not both");
        }
    }
}
