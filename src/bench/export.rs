//! `syncdeck bench export`: streams N data values from a simulator (a separate
//! process) through the DHIS2 client, and prints throughput and peak memory of
//! both sides. The point it makes: client memory stays flat as N grows.

use crate::output::outln;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;

use super::{mib, reset_peak_rss, spawn_sim, status_kib};
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

pub async fn export(opts: ExportBenchOptions) -> anyhow::Result<()> {
    outln!(
        "syncdeck bench export: GET /api/dataValueSets streamed through the client, batch {}",
        opts.batch
    )?;
    outln!(
        "{:>10} {:>9} {:>12} {:>16} {:>18} {:>18}",
        "values",
        "seconds",
        "values/s",
        "client peak RSS",
        "sim RSS before",
        "sim RSS after"
    )?;
    let mut peak_resets = true;
    for &n in &opts.values {
        let sim = spawn_sim(n).await?;
        let client = Dhis2Client::new(
            &sim.url,
            Credentials::basic("admin", "district"),
            ClientOptions::default(),
        )?;
        let (data_sets, root) = data_sets_and_root(&client).await?;
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
        outln!(
            "{:>10} {:>9.2} {:>12.0} {:>16} {:>18} {:>18}",
            n,
            seconds,
            n as f64 / seconds,
            mib(client_peak),
            mib(sim_before),
            mib(sim_after)
        )?;
        drop(sim);
    }
    if !peak_resets {
        outln!(
            "note: /proc/self/clear_refs is not writable here, so each client peak includes earlier runs"
        )?;
    }
    Ok(())
}

/// Every data set id of the source and the user's root org unit: together
/// they select all of its aggregate data values.
pub(crate) async fn data_sets_and_root(
    client: &Dhis2Client,
) -> anyhow::Result<(Vec<String>, String)> {
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
    Ok((data_sets, root))
}
