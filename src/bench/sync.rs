//! `syncdeck bench sync`: a whole sync of a `--size large` simulator into an
//! empty one, through the real engine (SQLite store, queue, worker) in this
//! process: objects/s per resource type and peak RSS of syncdeck. Then the
//! ceiling: the same data values moved by plain `curl` (one export to a file,
//! one POST of it) into a third simulator that holds the metadata only.
//! Both destinations are checked against the source's digest.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::export::data_sets_and_root;
use super::{SimChild, cpu_seconds, mib, reset_peak_rss, spawn_sim_with, status_kib};
use crate::commands::open_engine;
use crate::connectors::dhis2::{ClientOptions, Credentials, Dhis2Client};
use crate::engine::{EngineEvent, EngineHandle, EngineOptions};
use crate::store::DbTarget;
use crate::store::queue::{Job, JobState, ResourceProgress, ResourceStatus};

const USER: &str = "admin";
const PASSWORD: &str = "district";
/// The sync under test and the one that gives curl's destination its metadata.
const SYNC: &str = "bench";
const METADATA_ONLY: &str = "bench-metadata";

#[derive(clap::Args, Debug)]
pub struct SyncBenchOptions {
    /// Aggregate data values in the source (metadata and tracker data are
    /// those of `--size large`).
    #[arg(long, default_value_t = 1_000_000)]
    pub data_values: usize,
    /// Seed of the source's dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the curl ceiling (syncdeck's figures only).
    #[arg(long)]
    pub no_curl: bool,
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
            event = events.recv() => match event {
                Ok(EngineEvent::Progress { job_id, resources, .. }) if job_id == id => {
                    timeline.observe(&resources);
                    None
                }
                Ok(EngineEvent::JobState { job_id, state, .. }) if job_id == id => Some(state),
                Ok(_) | Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => bail!("the engine stopped while job {id} ran"),
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

fn config_toml(source: &str, destination: &str, ceiling: Option<&str>, pw: &Path) -> String {
    let pw = pw.display().to_string().replace('\\', "\\\\");
    let instance = |name: &str, url: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nurl = \"{url}\"\nusername = \"{USER}\"\npassword_file = \"{pw}\"\n\n"
        )
    };
    let mut toml = instance("source", source) + &instance("destination", destination);
    toml += &format!(
        "[[sync]]\nname = \"{SYNC}\"\nkind = \"dhis2\"\nsource = \"source\"\ndestination = \"destination\"\n\
         mode = \"manual\"\nmetadata = [\"*\"]\ndata_sets = [\"*\"]\nprograms = [\"*\"]\n\n"
    );
    if let Some(ceiling) = ceiling {
        toml += &instance("ceiling", ceiling);
        toml += &format!(
            "[[sync]]\nname = \"{METADATA_ONLY}\"\nkind = \"dhis2\"\nsource = \"source\"\ndestination = \"ceiling\"\n\
             mode = \"manual\"\nmetadata = [\"*\"]\ndata_sets = []\nprograms = []\n"
        );
    }
    toml
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
fn differences(want: &BTreeMap<String, Value>, got: &BTreeMap<String, Value>) -> Vec<String> {
    want.iter()
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
            println!("note: no `curl` on PATH; the curl ceiling is skipped");
        }
        found
    };

    // Database, password file and exports; removed on every way out.
    let temp = tempfile::Builder::new()
        .prefix("syncdeck-bench-sync-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let dir = temp.path().to_path_buf();

    println!(
        "syncdeck bench sync: sim --size large --data-values {} --seed {} → empty sim, engine in process (SQLite)",
        opts.data_values, opts.seed
    );
    let started = Instant::now();
    let source = spawn_sim_with(&[
        "--size",
        "large",
        "--data-values",
        &opts.data_values.to_string(),
        "--seed",
        &opts.seed.to_string(),
    ])
    .await?;
    let destination = spawn_sim_with(&["--empty"]).await?;
    let ceiling = if with_curl {
        Some(spawn_sim_with(&["--empty"]).await?)
    } else {
        None
    };
    println!(
        "simulators up in {:.1}s (source {}, destination {})",
        started.elapsed().as_secs_f64(),
        source.url,
        destination.url
    );

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

    println!();
    println!(
        "{:<40} {:>12} {:>10} {:>7} {:>9} {:>11}",
        "resource", "processed", "synced", "errors", "seconds", "objects/s"
    );
    let mut groups: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for r in &resources {
        let g = groups.entry(group(&r.resource)).or_default();
        g.0 += r.processed;
        g.1 += r.synced;
        g.2 += r.errors;
        let s = timeline.seconds(&r.resource);
        println!(
            "{:<40} {:>12} {:>10} {:>7} {:>9} {:>11}",
            r.resource,
            r.processed,
            r.synced,
            r.errors,
            secs(s),
            s.map_or_else(|| "n/a".into(), |s| rate(r.synced, s))
        );
    }

    let got = digest(&http, &destination).await?;
    let diff = differences(&want, &got);

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

    println!();
    println!(
        "{:<44} {:>10} {:>9} {:>11}",
        "syncdeck (whole job, wall clock)", "synced", "seconds", "objects/s"
    );
    let mut data_values_rate = None;
    for (name, (_, synced, errors)) in &groups {
        let span = timeline.span(|k| group(k) == *name);
        let label = if *errors > 0 {
            format!("  {name} ({errors} errors)")
        } else {
            format!("  {name}")
        };
        println!(
            "{:<44} {:>10} {:>9} {:>11}",
            label,
            synced,
            secs(span),
            span.map_or_else(|| "n/a".into(), |s| rate(*synced, s))
        );
        if *name == "data values" {
            data_values_rate = span.map(|s| *synced as f64 / s);
        }
    }
    println!(
        "{:<44} {:>10} {:>9.2} {:>11}",
        "  all",
        job.progress.synced,
        wall,
        rate(job.progress.synced, wall)
    );
    println!(
        "syncdeck peak RSS during the sync: {} (RSS before: {}){}",
        mib(peak),
        mib(rss_before),
        if peak_resets {
            ""
        } else {
            " — /proc/self/clear_refs not writable, so the peak includes the start-up"
        }
    );

    println!(
        "CPU during the sync ({wall:.1}s wall, {} cores): syncdeck {}, source sim {}, destination sim {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu.first().map_or("n/a", String::as_str),
        cpu.get(1).map_or("n/a", String::as_str),
        cpu.get(2).map_or("n/a", String::as_str),
    );
    println!(
        "(per-resource seconds come from the engine's progress events: ±0.1 s; \
         trackerDeletions pages every tracker object to find deleted ones)"
    );

    if let Some(c) = &curl_figures {
        let total = c.export_s + c.import_s;
        println!();
        println!(
            "ceiling: curl GET /api/dataValueSets to a file ({:.1} MiB), then one POST of it, into a sim that has the metadata",
            c.bytes as f64 / (1024.0 * 1024.0)
        );
        println!(
            "{:<44} {:>10} {:>9} {:>11}",
            "data values only", "values", "seconds", "values/s"
        );
        let sd_span = timeline.span(is_data_values);
        let sd_values = groups.get("data values").map_or(0, |g| g.1);
        println!(
            "{:<44} {:>10} {:>9} {:>11}",
            "  syncdeck (dataValues:* resources)",
            sd_values,
            secs(sd_span),
            sd_span.map_or_else(|| "n/a".into(), |s| rate(sd_values, s))
        );
        println!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            "  curl export",
            c.values,
            c.export_s,
            rate(c.values, c.export_s)
        );
        println!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            "  curl import (POST)",
            c.values,
            c.import_s,
            rate(c.values, c.import_s)
        );
        println!(
            "{:<44} {:>10} {:>9.2} {:>11}",
            "  curl export + import",
            c.values,
            total,
            rate(c.values, total)
        );
        match data_values_rate {
            Some(r) if total > 0.0 => println!(
                "ratio syncdeck / curl (data values/s): {:.2}",
                r / (c.values as f64 / total)
            ),
            _ => println!("ratio syncdeck / curl: n/a"),
        }
        println!(
            "curl destination's data values digest: {}",
            if c.digest_equal {
                "equal to the source"
            } else {
                "DIFFERENT from the source"
            }
        );
    }

    println!();
    if diff.is_empty() {
        println!(
            "digests: source = destination ({} resource types)",
            want.len()
        );
    } else {
        for d in &diff {
            println!("digest mismatch: {d}");
        }
    }
    if !diff.is_empty() {
        bail!(
            "the destination differs from the source in {} resource type(s)",
            diff.len()
        );
    }
    if curl_figures.as_ref().is_some_and(|c| !c.digest_equal) {
        bail!("the curl destination's data values differ from the source's");
    }
    Ok(())
}
