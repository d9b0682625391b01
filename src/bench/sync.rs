//! `syncdeck bench sync`: a whole sync of a `--size large` simulator into an
//! empty one, through the real engine (SQLite store, queue, worker) in this
//! process: objects/s per resource type and peak RSS of syncdeck. Then the
//! ceiling: the same data values moved by plain `curl` (one export to a file,
//! one POST of it) into a third simulator that holds the metadata only.
//! Both destinations are checked against the source's digest.
//!
//! With `--hang-rate` / `--stall-rate` it runs the sync twice instead, on
//! fresh simulators with the same content: once without faults, once with
//! the source hanging (or stalling) that fraction of its requests, and prints
//! both times and their ratio (the cost of the hangs). Both runs give the
//! source instance short deadlines (`--first-byte-timeout`, `--idle-timeout`)
//! and say so; the production defaults are much longer.

use crate::output::outln;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::engine::events::Delivery;
use anyhow::{Context, bail};
use serde_json::Value;

use super::export::data_sets_and_root;
use super::{SimChild, cpu_seconds, mib, reset_peak_rss, spawn_sim_with, status_kib};
use crate::commands::open_engine;
use crate::config::spec::format_duration;
use crate::connectors::dhis2::{ClientOptions, Credentials, Dhis2Client, Timeouts};
use crate::engine::{Engine, EngineEvent, EngineHandle, EngineOptions};
use crate::sim::DatasetSize;
use crate::store::queue::{Job, JobState, ResourceProgress, ResourceStatus};
use crate::store::{DbTarget, Store};

const USER: &str = "admin";
const PASSWORD: &str = "district";
/// The sync under test and the one that gives curl's destination its metadata.
const SYNC: &str = "bench";
const METADATA_ONLY: &str = "bench-metadata";

#[derive(clap::Args, Debug)]
pub struct SyncBenchOptions {
    /// The source's dataset (metadata, tracker data and, unless
    /// `--data-values` says otherwise, its data values).
    #[arg(long, value_enum, default_value = "large")]
    pub size: DatasetSize,
    /// Aggregate data values in the source (default: the size's, 1M for large).
    #[arg(long)]
    pub data_values: Option<usize>,
    /// Seed of the source's dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the curl ceiling (syncdeck's figures only).
    #[arg(long)]
    pub no_curl: bool,
    /// Delay the source adds to every request (a WAN's round trip, as the
    /// demo's 40ms).
    #[arg(long, value_parser = parse_latency)]
    pub latency: Option<Duration>,
    /// Fraction of the source's requests that hang before answering: runs the
    /// sync without and then with them, and prints both times.
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub hang_rate: f64,
    /// Fraction of the source's requests that stall mid-body (as --hang-rate).
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub stall_rate: f64,
    /// The source instance's first_byte_timeout in the runs with faults
    /// (production default: 60s).
    #[arg(long, value_parser = parse_seconds, default_value = "2s")]
    pub first_byte_timeout: Duration,
    /// The source instance's idle_timeout in the runs with faults
    /// (production default: 30s).
    #[arg(long, value_parser = parse_seconds, default_value = "2s")]
    pub idle_timeout: Duration,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{s}` must be a number between 0 and 1")),
    }
}

fn parse_latency(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (examples: 40ms, 1s)"))
}

/// Whole seconds, as the instance settings take them.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.subsec_nanos() == 0 && d >= Duration::from_secs(1) => Ok(d),
        Ok(_) => Err(format!("`{s}` must be whole seconds, at least 1s")),
        Err(e) => Err(format!("`{s}`: {e}")),
    }
}

impl SyncBenchOptions {
    fn data_value_count(&self) -> usize {
        self.data_values.unwrap_or(self.size.data_values())
    }

    /// `sim` arguments of the source (faults not included).
    fn source_args(&self) -> Vec<String> {
        let mut args = vec![
            "--size".into(),
            self.size.to_string(),
            "--data-values".into(),
            self.data_value_count().to_string(),
            "--seed".into(),
            self.seed.to_string(),
        ];
        if let Some(latency) = self.latency {
            args.extend(["--latency".into(), format_duration(latency)]);
        }
        args
    }

    fn faults(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.hang_rate > 0.0 {
            out.extend(["--hang-rate".to_string(), self.hang_rate.to_string()]);
        }
        if self.stall_rate > 0.0 {
            out.extend(["--stall-rate".to_string(), self.stall_rate.to_string()]);
        }
        out
    }
}

/// When each resource of the job was first seen running and first seen
/// finished, from the engine's progress events (published every ~100 ms, so
/// that is the resolution).
#[derive(Default)]
struct Timeline {
    started: HashMap<String, Instant>,
    ended: HashMap<String, Instant>,
    last_event: Option<Instant>,
}

impl Timeline {
    fn observe(&mut self, resources: &[ResourceProgress]) {
        let now = Instant::now();
        // A resource first seen already running or finished began after the
        // previous event: taking that instant overstates its time by at most
        // one publishing interval, never understates it.
        let began = self.last_event.unwrap_or(now);
        for r in resources {
            match r.status {
                ResourceStatus::Pending => {}
                ResourceStatus::Running => {
                    self.started.entry(r.resource.clone()).or_insert(began);
                }
                ResourceStatus::Done | ResourceStatus::Failed | ResourceStatus::Skipped => {
                    self.started.entry(r.resource.clone()).or_insert(began);
                    self.ended.entry(r.resource.clone()).or_insert(now);
                }
            }
        }
        self.last_event = Some(now);
    }

    fn seconds(&self, key: &str) -> Option<f64> {
        let (s, e) = (self.started.get(key)?, self.ended.get(key)?);
        Some(e.duration_since(*s).as_secs_f64())
    }

    /// From the first start to the last end of the resources `keep` selects.
    fn span(&self, keep: impl Fn(&str) -> bool) -> Option<f64> {
        let start = self
            .started
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, t)| *t)
            .min()?;
        let end = self
            .ended
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, t)| *t)
            .max()?;
        Some(end.duration_since(start).as_secs_f64())
    }
}

/// The three groups the issue asks figures for, from a resource key
/// (`metadata:…`, `dataValues:<dataSet>`, tracker kinds and deletions).
fn group(key: &str) -> &'static str {
    if key.starts_with("metadata:") {
        "metadata"
    } else if key.starts_with("dataValues:") {
        "data values"
    } else {
        "tracker"
    }
}

fn is_data_values(key: &str) -> bool {
    group(key) == "data values"
}

/// Triggers `sync` and follows the job to its end through the engine's
/// events; a job that fails or goes back to the queue for a retry makes the
/// figures meaningless, so either is an error.
async fn run_job(handle: &EngineHandle, sync: &str) -> anyhow::Result<(Job, Timeline)> {
    let mut events = handle.subscribe();
    let id = handle.trigger(sync).await?;
    let mut timeline = Timeline::default();
    let mut ran = false;
    // Events can be missed (lagging receiver); the job row is the truth, so
    // it is also polled now and then.
    let mut poll = tokio::time::interval(Duration::from_secs(2));
    loop {
        let state = tokio::select! {
            event = events.next() => match event {
                Some(Delivery::Event(EngineEvent::Progress { job_id, resources, .. }, _)) if job_id == id => {
                    timeline.observe(&resources);
                    None
                }
                Some(Delivery::Event(EngineEvent::JobState { job_id, state, .. }, _)) if job_id == id => Some(state),
                Some(_) => None,
                None => bail!("the engine stopped while job {id} ran"),
            },
            _ = poll.tick() => Some(handle.job(id).await?.0.state),
        };
        match state {
            Some(JobState::Running) => ran = true,
            Some(JobState::Queued) if ran => {
                let (job, _) = handle.job(id).await?;
                bail!(
                    "job {id} ({sync}) failed and was queued for a retry: {}",
                    job.last_error.as_deref().unwrap_or("no error recorded")
                );
            }
            Some(JobState::Completed) => break,
            Some(state @ (JobState::Failed | JobState::Cancelled)) => {
                let (job, _) = handle.job(id).await?;
                bail!(
                    "job {id} ({sync}) ended {}: {}",
                    state.as_str(),
                    job.last_error.as_deref().unwrap_or("no error recorded")
                );
            }
            _ => {}
        }
    }
    let (job, resources) = handle.job(id).await?;
    // The final rows are complete even when the last event was coalesced away.
    timeline.observe(&resources);
    Ok((job, timeline))
}

/// `source_settings`: extra `[[instance]]` lines of the source (deadlines).
fn config_toml(
    source: &str,
    destination: &str,
    ceiling: Option<&str>,
    pw: &Path,
    source_settings: &str,
) -> String {
    let pw = pw.display().to_string().replace('\\', "\\\\");
    let instance = |name: &str, url: &str, extra: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nurl = \"{url}\"\nusername = \"{USER}\"\npassword_file = \"{pw}\"\n{extra}\n"
        )
    };
    let mut toml =
        instance("source", source, source_settings) + &instance("destination", destination, "");
    toml += &format!(
        "[[sync]]\nname = \"{SYNC}\"\nkind = \"dhis2\"\nsource = \"source\"\ndestination = \"destination\"\n\
         mode = \"manual\"\nmetadata = [\"*\"]\ndata_sets = [\"*\"]\nprograms = [\"*\"]\n\n"
    );
    if let Some(ceiling) = ceiling {
        toml += &instance("ceiling", ceiling, "");
        toml += &format!(
            "[[sync]]\nname = \"{METADATA_ONLY}\"\nkind = \"dhis2\"\nsource = \"source\"\ndestination = \"ceiling\"\n\
             mode = \"manual\"\nmetadata = [\"*\"]\ndata_sets = []\nprograms = []\n"
        );
    }
    toml
}

/// The simulators, the stored configuration and the engine of one run.
struct Rig {
    source: SimChild,
    destination: SimChild,
    ceiling: Option<SimChild>,
    store: Store,
    engine: Engine,
}

/// Starts a source (`source_args`), an empty destination (and an empty
/// ceiling), and an engine on a SQLite file in `dir` with the bench's configs
/// applied; `source_settings` are extra lines of the source instance.
async fn rig(
    dir: &Path,
    source_args: &[String],
    source_settings: &str,
    with_ceiling: bool,
) -> anyhow::Result<Rig> {
    std::fs::create_dir_all(dir).context("cannot create the run's directory")?;
    let started = Instant::now();
    let args: Vec<&str> = source_args.iter().map(String::as_str).collect();
    let source = spawn_sim_with(&args).await?;
    let destination = spawn_sim_with(&["--empty"]).await?;
    let ceiling = if with_ceiling {
        Some(spawn_sim_with(&["--empty"]).await?)
    } else {
        None
    };
    outln!(
        "simulators up in {:.1}s (source {}, destination {})",
        started.elapsed().as_secs_f64(),
        source.url,
        destination.url
    )?;
    // A password file, not an env var: setting the environment of a running
    // multi-threaded process is unsound (and `unsafe` in edition 2024).
    let pw = dir.join("password");
    std::fs::write(&pw, PASSWORD).context("cannot write the password file")?;
    let toml_path = dir.join("bench.toml");
    std::fs::write(
        &toml_path,
        config_toml(
            &source.url,
            &destination.url,
            ceiling.as_ref().map(|c| c.url.as_str()),
            &pw,
            source_settings,
        ),
    )
    .context("cannot write the bench config")?;
    let config = crate::config::file::load(&toml_path, &BTreeSet::new())
        .map_err(|e| anyhow::anyhow!("the bench config is invalid:\n{e}"))?;
    let target = DbTarget::Sqlite(dir.join("syncdeck.db"));
    let (store, engine) = open_engine(
        &target,
        EngineOptions {
            workers: true,
            ..EngineOptions::default()
        },
    )
    .await?;
    store.apply(&config, false, false).await?;
    Ok(Rig {
        source,
        destination,
        ceiling,
        store,
        engine,
    })
}

/// Fails when the destination's digest differs from `want` (the source's).
async fn check_digests(
    http: &reqwest::Client,
    want: &BTreeMap<String, Value>,
    destination: &SimChild,
) -> anyhow::Result<()> {
    let got = digest(http, destination).await?;
    let diff = differences(want, &got);
    if diff.is_empty() {
        outln!(
            "digests: source = destination ({} resource types)",
            want.len()
        )?;
        return Ok(());
    }
    for d in &diff {
        outln!("digest mismatch: {d}")?;
    }
    bail!(
        "the destination differs from the source in {} resource type(s)",
        diff.len()
    )
}

/// Requests served and faults injected (by kind), from the simulator's stats.
async fn requests_and_faults(
    http: &reqwest::Client,
    sim: &SimChild,
) -> anyhow::Result<(u64, Value)> {
    let stats: Value = http
        .get(format!("{}/api/_sim/stats", sim.url))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let requests = stats["requests"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    Ok((requests, stats["faultsInjected"].clone()))
}

/// The sync twice: without faults, then with the source's `--hang-rate` /
/// `--stall-rate`; both times, and their ratio.
async fn with_faults(
    opts: &SyncBenchOptions,
    http: &reqwest::Client,
    dir: &Path,
) -> anyhow::Result<()> {
    let faults = opts.faults().join(" ");
    let first_byte = format_duration(opts.first_byte_timeout);
    let idle = format_duration(opts.idle_timeout);
    let defaults = Timeouts::default();
    outln!(
        "syncdeck bench sync: sim {} → empty sim, engine in process (SQLite), without and with source faults `{faults}`",
        opts.source_args().join(" ")
    )?;
    outln!(
        "deadlines of the source instance in both runs (for the test; production defaults {} and {}): \
         first_byte_timeout = \"{first_byte}\", idle_timeout = \"{idle}\"",
        format_duration(defaults.first_byte),
        format_duration(defaults.idle)
    )?;
    let settings = format!("first_byte_timeout = \"{first_byte}\"\nidle_timeout = \"{idle}\"\n");
    let mut runs = Vec::new();
    for (i, with) in [false, true].into_iter().enumerate() {
        let label = if with {
            format!("with `{faults}`")
        } else {
            "without faults".to_string()
        };
        outln!()?;
        outln!("run {} of 2: {label}", i + 1)?;
        let mut args = opts.source_args();
        if with {
            args.extend(opts.faults());
        }
        let rig = rig(&dir.join(format!("run{}", i + 1)), &args, &settings, false).await?;
        let handle = rig.engine.handle();
        let want = digest(http, &rig.source).await?;
        let clock = Instant::now();
        let job = run_job(&handle, SYNC).await.map(|(job, _)| job);
        let wall = clock.elapsed().as_secs_f64();
        let (requests, injected) = requests_and_faults(http, &rig.source).await?;
        rig.engine.shutdown().await;
        rig.store.close().await;
        let job = job?;
        outln!(
            "completed in {wall:.1} s: {} objects synced, attempt {}; the source answered {requests} requests, faults injected: {}",
            job.progress.synced,
            job.attempt,
            if injected.as_object().is_some_and(|m| !m.is_empty()) {
                injected.to_string()
            } else {
                "none".into()
            }
        )?;
        check_digests(http, &want, &rig.destination).await?;
        runs.push((label, job.progress.synced, wall));
    }
    outln!()?;
    outln!(
        "{:<44} {:>10} {:>9} {:>11}",
        "whole sync",
        "synced",
        "seconds",
        "objects/s"
    )?;
    for (label, synced, wall) in &runs {
        outln!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            format!("  {label}"),
            synced,
            wall,
            rate(*synced, *wall)
        )?;
    }
    if let [(_, _, clean), (_, _, faulty)] = runs.as_slice() {
        outln!(
            "ratio with / without faults: {:.2} (hangs must cost seconds: the issue asks for at most 3)",
            faulty / clean
        )?;
    }
    Ok(())
}

/// The simulator's digest: per resource type, a count and an MD5.
async fn digest(http: &reqwest::Client, sim: &SimChild) -> anyhow::Result<BTreeMap<String, Value>> {
    let body: Value = http
        .get(format!("{}/api/_sim/digest", sim.url))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    match body.get("resources") {
        Some(Value::Object(map)) => Ok(map.clone().into_iter().collect()),
        _ => bail!("the simulator's digest has no resources object"),
    }
}

/// Resource types whose digest differs, as readable lines.
/// Resources that differ; users, roles and groups are each instance's own
/// (a default sync never moves them, see `connectors::dhis2::syncable`).
fn differences(want: &BTreeMap<String, Value>, got: &BTreeMap<String, Value>) -> Vec<String> {
    want.iter()
        .filter(|(k, _)| !["users", "userRoles", "userGroups"].contains(&k.as_str()))
        .filter(|(k, v)| got.get(*k) != Some(v))
        .map(|(k, v)| {
            format!(
                "{k}: source {v}, destination {}",
                got.get(k).unwrap_or(&Value::Null)
            )
        })
        .collect()
}

async fn curl_available() -> bool {
    tokio::process::Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Runs curl; `--fail` turns HTTP errors into a non-zero exit.
async fn curl(args: &[&str]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-S", "--fail", "-u", &format!("{USER}:{PASSWORD}")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .context("cannot run curl")?;
    if !out.status.success() {
        bail!(
            "curl {} failed: {}",
            args.last().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

struct CurlFigures {
    values: u64,
    export_s: f64,
    import_s: f64,
    bytes: u64,
    digest_equal: bool,
}

/// The ceiling: `GET /api/dataValueSets` of every data set into a file, then
/// one `POST` of that file, into `ceiling` (which already has the metadata).
async fn curl_ceiling(
    http: &reqwest::Client,
    source: &SimChild,
    ceiling: &SimChild,
    dir: &Path,
    want: &BTreeMap<String, Value>,
) -> anyhow::Result<CurlFigures> {
    let client = Dhis2Client::new(
        &source.url,
        Credentials::basic(USER, PASSWORD),
        ClientOptions::default(),
    )?;
    let (data_sets, root) = data_sets_and_root(&client).await?;
    let mut query: Vec<String> = data_sets.iter().map(|d| format!("dataSet={d}")).collect();
    query.extend([
        format!("orgUnit={root}"),
        "children=true".into(),
        "startDate=1900-01-01".into(),
        "endDate=2100-12-31".into(),
    ]);
    let export_url = format!("{}/api/dataValueSets?{}", source.url, query.join("&"));
    let file = dir.join("dataValues.json");
    let file_arg = file.display().to_string();
    let started = Instant::now();
    curl(&[&export_url, "-o", &file_arg]).await?;
    let export_s = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());

    let import_url = format!("{}/api/dataValueSets", ceiling.url);
    let body_arg = format!("@{file_arg}");
    let summary = dir.join("importSummary.json");
    let summary_arg = summary.display().to_string();
    let started = Instant::now();
    curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body_arg,
        &import_url,
        "-o",
        &summary_arg,
    ])
    .await?;
    let import_s = started.elapsed().as_secs_f64();

    let got = digest(http, ceiling).await?;
    let values = want
        .get("dataValues")
        .and_then(|d| d.get("count"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(CurlFigures {
        values,
        export_s,
        import_s,
        bytes,
        digest_equal: want.get("dataValues").is_some()
            && want.get("dataValues") == got.get("dataValues"),
    })
}

fn rate(n: u64, seconds: f64) -> String {
    if seconds > 0.0 {
        format!("{:.0}", n as f64 / seconds)
    } else {
        "n/a".into()
    }
}

fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "n/a".into(), |s| format!("{s:.2}"))
}

pub async fn run(opts: SyncBenchOptions) -> anyhow::Result<()> {
    // Built before any Dhis2Client: plain HTTP, but reqwest still wants a
    // TLS provider installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let with_curl = !opts.no_curl && {
        let found = curl_available().await;
        if !found {
            outln!("note: no `curl` on PATH; the curl ceiling is skipped")?;
        }
        found
    };

    // Database, password file and exports; removed on every way out.
    let temp = tempfile::Builder::new()
        .prefix("syncdeck-bench-sync-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let dir = temp.path().to_path_buf();

    if opts.hang_rate > 0.0 || opts.stall_rate > 0.0 {
        if with_curl {
            outln!("note: the curl ceiling is skipped when faults are injected")?;
        }
        return with_faults(&opts, &http, &dir).await;
    }

    outln!(
        "syncdeck bench sync: sim {} → empty sim, engine in process (SQLite)",
        opts.source_args().join(" ")
    )?;
    let Rig {
        source,
        destination,
        ceiling,
        store,
        engine,
    } = rig(&dir, &opts.source_args(), "", with_curl).await?;
    let handle = engine.handle();

    let want = digest(&http, &source).await?;
    let rss_before = status_kib(None, "VmRSS:");
    let peak_resets = reset_peak_rss();
    // CPU of each process over the sync tells where the wall time goes.
    let pids = [None, source.child.id(), destination.child.id()];
    let cpu_before = pids.map(cpu_seconds);
    let clock = Instant::now();
    let (job, timeline) = run_job(&handle, SYNC).await?;
    let wall = clock.elapsed().as_secs_f64();
    let peak = status_kib(None, "VmHWM:");
    let cpu_after = pids.map(cpu_seconds);
    let cpu: Vec<String> = cpu_before
        .iter()
        .zip(&cpu_after)
        .map(|(b, a)| match (b, a) {
            (Some(b), Some(a)) => format!("{:.1}s", a - b),
            _ => "n/a".into(),
        })
        .collect();
    let (_, resources) = handle.job(job.id).await?;

    outln!()?;
    outln!(
        "{:<40} {:>12} {:>10} {:>7} {:>9} {:>11}",
        "resource",
        "processed",
        "synced",
        "errors",
        "seconds",
        "objects/s"
    )?;
    let mut groups: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for r in &resources {
        let g = groups.entry(group(&r.resource)).or_default();
        g.0 += r.processed;
        g.1 += r.synced;
        g.2 += r.errors;
        let s = timeline.seconds(&r.resource);
        outln!(
            "{:<40} {:>12} {:>10} {:>7} {:>9} {:>11}",
            r.resource,
            r.processed,
            r.synced,
            r.errors,
            secs(s),
            s.map_or_else(|| "n/a".into(), |s| rate(r.synced, s))
        )?;
    }

    let curl_figures = match &ceiling {
        Some(ceiling) => {
            // The ceiling's destination needs the metadata the values refer
            // to; it is synced by syncdeck and not timed.
            run_job(&handle, METADATA_ONLY).await?;
            Some(curl_ceiling(&http, &source, ceiling, &dir, &want).await?)
        }
        None => None,
    };
    engine.shutdown().await;
    store.close().await;

    outln!()?;
    outln!(
        "{:<44} {:>10} {:>9} {:>11}",
        "syncdeck (whole job, wall clock)",
        "synced",
        "seconds",
        "objects/s"
    )?;
    let mut data_values_rate = None;
    for (name, (_, synced, errors)) in &groups {
        let span = timeline.span(|k| group(k) == *name);
        let label = if *errors > 0 {
            format!("  {name} ({errors} errors)")
        } else {
            format!("  {name}")
        };
        outln!(
            "{:<44} {:>10} {:>9} {:>11}",
            label,
            synced,
            secs(span),
            span.map_or_else(|| "n/a".into(), |s| rate(*synced, s))
        )?;
        if *name == "data values" {
            data_values_rate = span.map(|s| *synced as f64 / s);
        }
    }
    outln!(
        "{:<44} {:>10} {:>9.2} {:>11}",
        "  all",
        job.progress.synced,
        wall,
        rate(job.progress.synced, wall)
    )?;
    outln!(
        "syncdeck peak RSS during the sync: {} (RSS before: {}){}",
        mib(peak),
        mib(rss_before),
        if peak_resets {
            ""
        } else {
            " — /proc/self/clear_refs not writable, so the peak includes the start-up"
        }
    )?;

    outln!(
        "CPU during the sync ({wall:.1}s wall, {} cores): syncdeck {}, source sim {}, destination sim {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu.first().map_or("n/a", String::as_str),
        cpu.get(1).map_or("n/a", String::as_str),
        cpu.get(2).map_or("n/a", String::as_str),
    )?;
    outln!(
        "(per-resource seconds come from the engine's progress events: ±0.1 s; \
         trackerDeletions pages every tracker object to find deleted ones)"
    )?;

    if let Some(c) = &curl_figures {
        let total = c.export_s + c.import_s;
        outln!()?;
        outln!(
            "ceiling: curl GET /api/dataValueSets to a file ({:.1} MiB), then one POST of it, into a sim that has the metadata",
            c.bytes as f64 / (1024.0 * 1024.0)
        )?;
        outln!(
            "{:<44} {:>10} {:>9} {:>11}",
            "data values only",
            "values",
            "seconds",
            "values/s"
        )?;
        let sd_span = timeline.span(is_data_values);
        let sd_values = groups.get("data values").map_or(0, |g| g.1);
        outln!(
            "{:<44} {:>10} {:>9} {:>11}",
            "  syncdeck (dataValues:* resources)",
            sd_values,
            secs(sd_span),
            sd_span.map_or_else(|| "n/a".into(), |s| rate(sd_values, s))
        )?;
        outln!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            "  curl export",
            c.values,
            c.export_s,
            rate(c.values, c.export_s)
        )?;
        outln!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            "  curl import (POST)",
            c.values,
            c.import_s,
            rate(c.values, c.import_s)
        )?;
        outln!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            "  curl export + import",
            c.values,
            total,
            rate(c.values, total)
        )?;
        match data_values_rate {
            Some(r) if total > 0.0 => outln!(
                "ratio syncdeck / curl (data values/s): {:.2}",
                r / (c.values as f64 / total)
            )?,
            _ => outln!("ratio syncdeck / curl: n/a")?,
        }
        outln!(
            "curl destination's data values digest: {}",
            if c.digest_equal {
                "equal to the source"
            } else {
                "DIFFERENT from the source"
            }
        )?;
    }

    outln!()?;
    check_digests(&http, &want, &destination).await?;
    if curl_figures.as_ref().is_some_and(|c| !c.digest_equal) {
        bail!("the curl destination's data values differ from the source's");
    }
    Ok(())
}
