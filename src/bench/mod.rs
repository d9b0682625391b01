//! `syncdeck bench export`: streams N data values from a simulator (a separate
//! process) through the DHIS2 client, and prints throughput and peak memory of
//! both sides. The point it makes: client memory stays flat as N grows.

pub mod queue;

use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::connectors::dhis2::{
    ClientOptions, Credentials, DataValueQuery, Dhis2Client, MetadataQuery,
};

#[derive(clap::Args, Debug)]
pub struct ExportBenchOptions {
    /// Data value counts to export, one simulator per count.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub values: Vec<usize>,
    /// Values per batch handed to the consumer.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
}

struct SimChild {
    child: Child,
    url: String,
}

async fn spawn_sim(values: usize) -> anyhow::Result<SimChild> {
    let exe = std::env::current_exe().context("cannot find the syncdeck executable")?;
    let mut child = Command::new(exe)
        .args([
            "sim",
            "--port",
            "0",
            "--size",
            "large",
            "--data-values",
            &values.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the simulator")?;
    let stdout = child.stdout.take().context("simulator has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("simulator did not start (said {line:?})"))?
        .to_string();
    Ok(SimChild { child, url })
}

/// A `/proc/PID/status` field in KiB (VmHWM = peak resident set, VmRSS = now).
fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Linux resets the peak (VmHWM) to the current RSS when "5" is written here,
/// so each run's peak is its own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

pub async fn export(opts: ExportBenchOptions) -> anyhow::Result<()> {
    println!(
        "syncdeck bench export: GET /api/dataValueSets streamed through the client, batch {}",
        opts.batch
    );
    println!(
        "{:>10} {:>9} {:>12} {:>16} {:>18} {:>18}",
        "values", "seconds", "values/s", "client peak RSS", "sim RSS before", "sim RSS after"
    );
    let mut peak_resets = true;
    for &n in &opts.values {
        let sim = spawn_sim(n).await?;
        let client = Dhis2Client::new(
            &sim.url,
            Credentials::basic("admin", "district"),
            ClientOptions::default(),
        )?;
        let root = client
            .me()
            .await?
            .organisation_units
            .into_iter()
            .next()
            .context("the simulator's user has no org unit")?;
        let mut data_sets = Vec::new();
        let mut pages = client.metadata_pages(
            "dataSets",
            MetadataQuery {
                fields: Some("id".into()),
                page_size: 1000,
                ..MetadataQuery::default()
            },
        )?;
        while let Some(page) = pages.next_page().await {
            for ds in page?.items {
                if let Some(id) = ds.get("id").and_then(|v| v.as_str()) {
                    data_sets.push(id.to_string());
                }
            }
        }
        let query = DataValueQuery {
            data_sets,
            org_units: vec![root],
            children: true,
            start_date: NaiveDate::from_ymd_opt(1900, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2100, 12, 31),
            ..DataValueQuery::default()
        };
        let sim_pid = sim.child.id();
        let sim_before = status_kib(sim_pid, "VmRSS:");
        peak_resets &= reset_peak_rss();
        let started = Instant::now();
        let mut stream = client.data_values(&query, opts.batch).await?;
        let mut count = 0usize;
        while let Some(batch) = stream.next_batch().await {
            count += batch?.len();
        }
        let seconds = started.elapsed().as_secs_f64();
        let client_peak = status_kib(None, "VmHWM:");
        let sim_after = status_kib(sim_pid, "VmRSS:");
        if count != n {
            bail!("exported {count} values, expected {n}");
        }
        println!(
            "{:>10} {:>9.2} {:>12.0} {:>16} {:>18} {:>18}",
            n,
            seconds,
            n as f64 / seconds,
            mib(client_peak),
            mib(sim_before),
            mib(sim_after)
        );
        drop(sim);
    }
    if !peak_resets {
        println!(
            "note: /proc/self/clear_refs is not writable here, so each client peak includes earlier runs"
        );
    }
    Ok(())
}
