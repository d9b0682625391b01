//! `bench events`: what SSE clients of the daemon's API cost a running
//! engine. The same syncs (one source, N empty destinations, all at once)
//! run twice: with no event client, then with `--clients` clients reading
//! `/api/v1/events` over loopback. Printed: objects/s of each run, the
//! difference, and the bytes each client received per second.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{SimChild, spawn_sim_with};
use crate::api::{ApiOptions, Listen, Token};
use crate::commands::open_engine;
use crate::engine::{EngineHandle, EngineOptions, WorkerOptions};
use crate::output::outln;
use crate::store::DbTarget;
use crate::store::queue::JobState;

#[derive(clap::Args, Debug, Clone)]
pub struct EventsBenchOptions {
    /// Syncs running at the same time (one empty destination each).
    #[arg(long, default_value_t = 5)]
    pub syncs: usize,
    /// Event-stream clients in the second run.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Aggregate data values of the source.
    #[arg(long, default_value_t = 100_000)]
    pub data_values: usize,
    /// Runs of each kind, alternating (one run differs from the next by
    /// ±10 % on 2 cores); the medians are compared.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

struct Run {
    objects: u64,
    seconds: f64,
    bytes: u64,
}

fn config(source: &str, destinations: &[SimChild], pw: &std::path::Path) -> String {
    let pw = pw.display();
    let mut text = format!(
        "[[instance]]\nname = \"source\"\nurl = \"{source}\"\nusername = \"admin\"\npassword_file = \"{pw}\"\n\n"
    );
    for (i, d) in destinations.iter().enumerate() {
        text += &format!(
            "[[instance]]\nname = \"dest{i}\"\nurl = \"{}\"\nusername = \"admin\"\npassword_file = \"{pw}\"\n\n\
             [[sync]]\nname = \"sync{i}\"\nsource = \"source\"\ndestination = \"dest{i}\"\nmode = \"manual\"\n\n",
            d.url
        );
    }
    text
}

async fn one_run(opts: &EventsBenchOptions, source: &str, clients: usize) -> anyhow::Result<Run> {
    let mut destinations = Vec::new();
    for _ in 0..opts.syncs {
        destinations.push(spawn_sim_with(&["--empty"]).await?);
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let pw = dir.path().join("password");
    std::fs::write(&pw, "district")?;
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, config(source, &destinations, &pw))?;
    let file = crate::config::file::load(&path, &BTreeSet::new())
        .map_err(|e| anyhow::anyhow!("the bench config is invalid:\n{e}"))?;
    let (store, engine) = open_engine(
        &DbTarget::Sqlite(dir.path().join("bench.db")),
        EngineOptions {
            workers: true,
            worker: WorkerOptions {
                concurrency: opts.syncs,
                ..WorkerOptions::default()
            },
            ..EngineOptions::default()
        },
    )
    .await?;
    store.apply(&file, false, false).await?;
    let handle = engine.handle();
    let token = Token::load_or_create(&dir.path().join("token")).map_err(anyhow::Error::msg)?;
    let stop = CancellationToken::new();
    let api = crate::api::start(
        handle.clone(),
        ApiOptions {
            listen: vec![Listen::Tcp(([127, 0, 0, 1], 0).into())],
            token: token.clone(),
            logs: None,
            tail: None,
            schedulers: false,
        },
        stop.clone(),
    )
    .await?;
    let Some(Listen::Tcp(addr)) = api.addresses.first().cloned() else {
        anyhow::bail!("the API did not listen on TCP");
    };
    let bytes = Arc::new(AtomicU64::new(0));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .build()
        .context("cannot build the HTTP client")?;
    let mut readers = Vec::new();
    for _ in 0..clients {
        let (http, bytes, token, stop) = (http.clone(), bytes.clone(), token.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let resp = http
                .get(format!("http://{addr}/api/v1/events"))
                .bearer_auth(token.expose())
                .send()
                .await;
            let Ok(resp) = resp else { return };
            let mut body = resp.bytes_stream();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    chunk = body.next() => match chunk {
                        Some(Ok(c)) => { bytes.fetch_add(c.len() as u64, Ordering::Relaxed); }
                        _ => return,
                    },
                }
            }
        }));
    }
    // Let every client connect before the syncs start.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let mut jobs = Vec::new();
    for i in 0..opts.syncs {
        jobs.push(handle.trigger(&format!("sync{i}")).await?);
    }
    let objects = wait_all(&handle, &jobs).await?;
    let seconds = started.elapsed().as_secs_f64();
    stop.cancel();
    for r in readers {
        let _ = r.await;
    }
    api.finish().await;
    engine.shutdown().await;
    store.close().await;
    Ok(Run {
        objects,
        seconds,
        bytes: bytes.load(Ordering::Relaxed),
    })
}

/// Waits for every job to complete; the objects they synced.
async fn wait_all(handle: &EngineHandle, jobs: &[i64]) -> anyhow::Result<u64> {
    loop {
        let mut synced = 0;
        let mut done = true;
        for &id in jobs {
            let (job, _) = handle.job(id).await?;
            match job.state {
                JobState::Completed => synced += job.progress.synced,
                JobState::Failed | JobState::Cancelled => anyhow::bail!(
                    "job {id} ended {}: {}",
                    job.state.as_str(),
                    job.last_error.as_deref().unwrap_or("-")
                ),
                _ => done = false,
            }
        }
        if done {
            return Ok(synced);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run(opts: EventsBenchOptions) -> anyhow::Result<()> {
    let values = opts.data_values.to_string();
    let source = spawn_sim_with(&["--size", "medium", "--data-values", &values]).await?;
    outln!(
        "{} syncs at once from one source ({} data values) into empty destinations",
        opts.syncs,
        opts.data_values
    )?;
    let (mut quiet_runs, mut watched_runs) = (Vec::new(), Vec::new());
    for _ in 0..opts.rounds.max(1) {
        quiet_runs.push(one_run(&opts, &source.url, 0).await?);
        watched_runs.push(one_run(&opts, &source.url, opts.clients).await?);
    }
    let speed = |r: &Run| r.objects as f64 / r.seconds;
    let median = |mut runs: Vec<Run>| {
        runs.sort_by(|a, b| speed(a).total_cmp(&speed(b)));
        let all: Vec<String> = runs.iter().map(|r| format!("{:.0}", speed(r))).collect();
        (runs.swap_remove(runs.len() / 2), all.join(", "))
    };
    let (quiet, quiet_all) = median(quiet_runs);
    let (watched, watched_all) = median(watched_runs);
    for (label, r, clients, all) in [
        ("no event client", &quiet, 0, quiet_all),
        ("with clients", &watched, opts.clients, watched_all),
    ] {
        let per_client = if clients == 0 {
            String::new()
        } else {
            format!(
                ", {:.0} B/s per client ({} clients, {} bytes in all)",
                r.bytes as f64 / r.seconds / clients as f64,
                clients,
                r.bytes
            )
        };
        outln!(
            "{label:>16}: median {} objects in {:.1}s = {:.0} objects/s{per_client} (runs: {all} objects/s)",
            r.objects,
            r.seconds,
            speed(r)
        )?;
    }
    let change =
        (watched.objects as f64 / watched.seconds) / (quiet.objects as f64 / quiet.seconds) - 1.0;
    outln!(
        "sync speed with {} event clients: {:+.1} % (goal: no drop beyond 5 %)",
        opts.clients,
        change * 100.0
    )?;
    Ok(())
}
