//! `syncdeck demo`: two simulated DHIS2 servers in this process (a source
//! that changes every few seconds, an empty destination), a throwaway
//! database with three sample configs, the engine, and the console. A new
//! user sees a sync running within seconds; nothing outside a temporary
//! directory is touched.
//!
//! The configs: `national-to-regional` (automatic, syncs at once),
//! `manual-reporting` (manual: press t), `offline-district` (its source is
//! a closed port: a clean error, retries, then cooldown).

use crate::output::outln;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::commands::console::{ConsoleArgs, ConsoleLogs, engine_options};
use crate::engine::EngineHandle;
use crate::sim::{self, DatasetSize, RunningSim, SimOptions};
use crate::store::queue::{JobFilter, JobState};
use crate::store::{DbTarget, Store};

#[derive(clap::Args, Debug, Clone)]
pub struct DemoOptions {
    /// Size of the source's dataset.
    #[arg(long, value_enum, default_value = "medium")]
    pub size: DatasetSize,
    /// Seed of the source's dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Automatic configs syncing the source, each into its own empty
    /// destination (more make a busier console).
    #[arg(long, default_value_t = 1)]
    pub auto: usize,
    /// Time the simulated source takes to answer each request.
    #[arg(long, default_value = "40ms", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// How often the source changes.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub change_every: Duration,
    /// No console: run the demo, then print a summary (for tests and CI).
    #[arg(long)]
    pub headless: bool,
    /// Stop after this long (with --headless; default 30s).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    pub run_for: Option<Duration>,
    /// Serve the daemon's API here too (unix:PATH or HOST:PORT on
    /// loopback): with --headless, a demo daemon that `syncdeck --connect`
    /// attaches to. The token is written to --token-file, else into the
    /// demo's temporary directory (the path is printed).
    #[arg(long, value_name = "ADDR", value_parser = crate::api::listen::parse)]
    pub listen: Option<crate::api::Listen>,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// The simulated servers and the throwaway database of one demo.
struct Demo {
    dir: tempfile::TempDir,
    source: RunningSim,
    destinations: Vec<RunningSim>,
    /// The configuration backend of the `site-config` pull.
    backend: sim::config_backend::RunningBackend,
    store: Store,
    engine: crate::engine::Engine,
}

/// How often the demo's backend gets a new device, so a hash change is seen.
const DEMO_DEVICE_EVERY: Duration = Duration::from_secs(60);

/// Every way out removes the temporary directories: quitting (also during a
/// sync), SIGTERM, SIGINT or SIGHUP (handled, so they do not kill the process
/// before the clean-up; the console handles them itself), and errors. The
/// logs' directory is removed by `main` after the runtime has stopped: a line
/// logged after it is gone would create it again.
pub async fn run(
    opts: DemoOptions,
    token_file: Option<std::path::PathBuf>,
    logs: ConsoleLogs,
) -> anyhow::Result<ExitCode> {
    if let Some(listen) = &opts.listen {
        crate::api::listen::check_reach(listen, false).map_err(anyhow::Error::msg)?;
    }
    // Installed before anything is created: a signal while the servers start
    // drops what was started (the directory with it) and ends the demo.
    let mut shutdown = crate::signals::Shutdown::install()?;
    let demo = tokio::select! {
        demo = Demo::start(&opts) => demo?,
        signal = shutdown.requested() => {
            eprintln!("{}: demo stopped while starting", signal.name());
            return Ok(ExitCode::from(signal.exit_code()));
        }
    };
    let handle = demo.engine.handle();
    let stop_api = tokio_util::sync::CancellationToken::new();
    let api = match &opts.listen {
        None => None,
        Some(listen) => match demo.serve_api(listen, token_file, &logs, &stop_api).await {
            Ok(api) => Some(api),
            Err(e) => {
                demo.stop().await;
                return Err(e);
            }
        },
    };
    let result = tokio::select! {
        () = demo.change_devices() => Ok(()),
        r = async {
            if opts.headless {
                let run_for = opts.run_for.unwrap_or(Duration::from_secs(30));
                tokio::select! {
                    () = tokio::time::sleep(run_for) => {}
                    // The demo's end, as when its time is up: the summary follows.
                    _ = shutdown.requested() => {}
                }
                summary(&handle).await
            } else {
                let database = format!("{} (demo, deleted on exit)", demo.database().display());
                crate::commands::console::run_on(
                    handle,
                    &opts.console,
                    crate::tui::model::Origin::Demo,
                    &database,
                    logs,
                )
                    .await
            }
        } => r,
    };
    stop_api.cancel();
    if let Some(api) = api {
        api.finish().await;
    }
    demo.stop().await;
    result.map(|()| ExitCode::SUCCESS)
}

impl Demo {
    async fn start(opts: &DemoOptions) -> anyhow::Result<Demo> {
        let source = sim::start(SimOptions {
            size: opts.size,
            seed: opts.seed,
            mutate_every: Some(opts.change_every),
            // A real server answers in tens of ms; without this the first
            // sync of the demo would be over before anyone sees it.
            latency: Some(opts.latency),
            ..SimOptions::defaults()
        })
        .await?;
        let mut destinations = Vec::new();
        for _ in 0..opts.auto.max(1) {
            destinations.push(
                sim::start(SimOptions {
                    empty: true,
                    ..SimOptions::defaults()
                })
                .await?,
            );
        }
        let backend = sim::config_backend::start(SimOptions::defaults(), 1).await?;
        let dir = tempfile::Builder::new()
            .prefix("syncdeck-demo-")
            .tempdir()
            .map_err(|e| anyhow::anyhow!("cannot create a temporary directory: {e}"))?;
        let password = dir.path().join("password");
        write_private(&password, &SimOptions::defaults().password)?;
        write_private(
            &dir.path().join("site-token"),
            &sim::config_backend::site_token(1),
        )?;
        let closed = closed_port().await?;
        let text = config_text(
            &source,
            &destinations,
            closed,
            opts.auto,
            &pull_config_text(&backend.base_url),
        );
        let path = dir.path().join("demo.toml");
        std::fs::write(&path, &text)?;
        let file = crate::config::file::parse(&path, &text, &BTreeSet::new())
            .map_err(|e| anyhow::anyhow!("demo configuration: {e}"))?;
        let target = DbTarget::Sqlite(dir.path().join("demo.db"));
        let store = Store::open(&target).await?;
        store.apply(&file, false, false).await?;
        let mut options = engine_options(&opts.console);
        // Every scheduler looks within 2 s, so the first sync starts at once;
        // enough workers that every demo config can run at the same time.
        options.first_check_within = Some(Duration::from_secs(2));
        options.worker.concurrency = options.worker.concurrency.max(opts.auto + 2);
        let factory = Arc::new(crate::connectors::Connectors::new(store.clone()));
        let engine = crate::engine::Engine::start(store.clone(), factory, options);
        Ok(Demo {
            dir,
            source,
            destinations,
            backend,
            store,
            engine,
        })
    }

    /// The daemon's API on `listen`, its token in `token_file` or the
    /// demo's directory; the address and token file are printed.
    async fn serve_api(
        &self,
        listen: &crate::api::Listen,
        token_file: Option<std::path::PathBuf>,
        logs: &ConsoleLogs,
        stop: &tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<crate::api::RunningApi> {
        let token_file = token_file.unwrap_or_else(|| self.dir.path().join("api-token"));
        let token = crate::api::Token::load_or_create(&token_file).map_err(anyhow::Error::msg)?;
        let options = crate::api::ApiOptions {
            listen: vec![listen.clone()],
            token,
            logs: Some(crate::logs::LogCatalog::new(logs.dir.clone())),
            tail: Some(logs.tail.clone()),
            schedulers: true,
        };
        let api = crate::api::start(self.engine.handle(), options, stop.clone()).await?;
        let at: Vec<String> = api.addresses.iter().map(ToString::to_string).collect();
        outln!(
            "demo API on {} (token in {}); attach with: syncdeck --connect {} --token-file {}",
            at.join(" and "),
            token_file.display(),
            at[0],
            token_file.display()
        )?;
        Ok(api)
    }

    fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("demo.db")
    }

    /// Changes the backend's document now and then, for the pull to notice.
    async fn change_devices(&self) {
        let mut every = tokio::time::interval(DEMO_DEVICE_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            self.backend.add_device(&sim::config_backend::site_token(1));
        }
    }

    async fn stop(self) {
        self.engine.shutdown().await;
        self.store.close().await;
        self.source.stop().await;
        for d in self.destinations {
            d.stop().await;
        }
        drop(self.dir);
    }
}

/// A loopback port nobody listens on (bound, then released).
async fn closed_port() -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    Ok(listener.local_addr()?.port())
}

fn write_private(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(secret.as_bytes())?;
    Ok(())
}

fn config_text(
    source: &RunningSim,
    destinations: &[RunningSim],
    closed_port: u16,
    auto: usize,
    pull: &str,
) -> String {
    let user = SimOptions::defaults().username;
    let instance = |name: &str, url: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nurl = \"{url}\"\nusername = \"{user}\"\npassword_file = \"password\"\n\n"
        )
    };
    let mut text = instance("national", &source.base_url);
    text += &instance("district", &format!("http://127.0.0.1:{closed_port}"));
    for (i, d) in destinations.iter().enumerate() {
        text += &instance(&regional(i), &d.base_url);
    }
    for i in 0..auto.max(1) {
        let name = if i == 0 {
            "national-to-regional".to_string()
        } else {
            format!("national-to-regional-{}", i + 1)
        };
        text += &format!(
            "[[sync]]\nname = \"{name}\"\nsource = \"national\"\ndestination = \"{}\"\nmode = \"automatic\"\n\
             [sync.auto]\ncheck_interval = \"1m\"\ndelay_before_sync = \"0s\"\nimmediate_sync = true\n\
             cooldown_after_error = \"2m\"\n\n",
            regional(i)
        );
    }
    text += "[[sync]]\nname = \"manual-reporting\"\nsource = \"national\"\ndestination = \"regional\"\nmode = \"manual\"\n\n";
    // Before offline-district, which stays last in the list.
    text += pull;
    text += "[[sync]]\nname = \"offline-district\"\nsource = \"district\"\ndestination = \"regional\"\nmode = \"automatic\"\n\
             [sync.auto]\ncheck_interval = \"1m\"\nimmediate_sync = true\ncooldown_after_error = \"2m\"\n";
    text
}

/// The demo's http_pull config: a site's document from the demo backend,
/// pulled every 20 s into the demo directory.
fn pull_config_text(backend: &str) -> String {
    format!(
        "\n[[instance]]\nname = \"site-backend\"\nurl = \"{backend}/config/{{token}}\"\ntoken_file = \"site-token\"\n\n\
         [[sync]]\nname = \"site-config\"\nkind = \"http_pull\"\nsource = \"site-backend\"\nmode = \"automatic\"\n\
         [sync.pull]\ntarget = \"site-config.json\"\ninterval = \"20s\"\nfirst_pull_after = \"2s\"\n"
    )
}

fn regional(i: usize) -> String {
    if i == 0 {
        "regional".into()
    } else {
        format!("regional-{}", i + 1)
    }
}

/// What happened, per config, for `--headless`.
async fn summary(engine: &EngineHandle) -> anyhow::Result<()> {
    let snapshot = engine.snapshot().await?;
    outln!(
        "syncdeck demo summary: {} configs, {} objects synced, {} failed jobs",
        snapshot.configs.len(),
        snapshot.synced_total,
        snapshot.failed_jobs
    )?;
    for c in &snapshot.configs {
        let jobs = engine
            .jobs(JobFilter {
                config_id: Some(c.id),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        let count = |s: JobState| jobs.iter().filter(|j| j.state == s).count();
        let synced: u64 = jobs.iter().map(|j| j.progress.synced).sum();
        let cooldown = c
            .lifecycle
            .cooldown_until
            .is_some_and(|until| until > snapshot.now);
        let retrying = jobs
            .iter()
            .find(|j| j.state == JobState::Queued && j.attempt > 0)
            .and_then(|j| j.last_error.clone());
        let error = c.lifecycle.last_error.clone().or(retrying);
        outln!(
            "  {:<24} {:<10} jobs: {} completed, {} failed, {} running, {} queued; {} synced{}{}",
            crate::text::inert(&c.name),
            c.mode.as_str(),
            count(JobState::Completed),
            count(JobState::Failed),
            count(JobState::Running),
            count(JobState::Queued),
            synced,
            if cooldown { "; in cooldown" } else { "" },
            error.map_or_else(String::new, |e| format!(
                "; last error: {}",
                crate::text::sanitize(&e, 200)
            )),
        )?;
    }
    Ok(())
}
