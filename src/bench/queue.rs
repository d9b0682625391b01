//! `syncdeck bench queue`: burn-down throughput of the job queue (the
//! burn-down mode of River's queue benchmark). N no-op jobs are inserted before the
//! clock starts, then W workers claim and complete until the queue is empty.
//! SQLite in a temporary file by default; the `--db` database when given
//! (only the `bench` queue is touched, and emptied before and after).

use crate::output::outln;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::store::queue::{JobKind, NewJob, QueueStore};
use crate::store::{DbTarget, Store};

const QUEUE: &str = "bench";

#[derive(clap::Args, Debug)]
pub struct QueueBenchOptions {
    /// Jobs to insert and then burn down.
    #[arg(long, default_value_t = 20_000)]
    pub jobs: u64,
    /// Concurrent workers, each claiming and completing.
    #[arg(long, default_value_t = 4)]
    pub workers: u32,
    /// Jobs taken per claim.
    #[arg(long, default_value_t = 10)]
    pub claim_batch: u32,
    /// Jobs per insert transaction (1 = one transaction per job).
    #[arg(long, default_value_t = 500)]
    pub insert_batch: u64,
}

pub async fn run(opts: QueueBenchOptions, db: Option<&str>) -> anyhow::Result<()> {
    if opts.workers == 0 || opts.claim_batch == 0 || opts.insert_batch == 0 {
        bail!("--workers, --claim-batch and --insert-batch must be at least 1");
    }
    let (target, _temp) = match db {
        Some(spec) => (DbTarget::parse(spec), None),
        None => {
            // Removed on every way out, errors included.
            let dir = tempfile::Builder::new()
                .prefix("syncdeck-bench-")
                .tempdir()
                .map_err(|e| anyhow::anyhow!("cannot create a temporary directory: {e}"))?;
            (DbTarget::Sqlite(dir.path().join("bench.db")), Some(dir))
        }
    };
    let store = Store::open(&target)
        .await
        .with_context(|| format!("cannot open {}", target.display()))?;
    let queue = store.queue();
    let label = if store.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    outln!(
        "queue bench: {label} {}, {} no-op jobs, {} workers, claim batch {}",
        target.display(),
        opts.jobs,
        opts.workers,
        opts.claim_batch
    )?;
    store.purge_queue(QUEUE).await?;

    let enqueue_time = enqueue(&queue, &opts).await?;
    outln!(
        "enqueue:   {} jobs in {:.2} s = {:.0} jobs/s ({} per transaction)",
        opts.jobs,
        enqueue_time.as_secs_f64(),
        rate(opts.jobs, enqueue_time),
        opts.insert_batch
    )?;

    let (done, burn_time) = burn_down(&queue, &opts).await?;
    outln!(
        "burn-down: {done} jobs in {:.2} s = {:.0} jobs/s (claim + complete, overall)",
        burn_time.as_secs_f64(),
        rate(done, burn_time)
    )?;
    store.purge_queue(QUEUE).await?;
    store.close().await;
    if done != opts.jobs {
        bail!("{done} jobs completed, {} expected", opts.jobs);
    }
    Ok(())
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn noop_job() -> NewJob {
    NewJob {
        queue: QUEUE.into(),
        config_id: None,
        exclusive_key: None,
        kind: JobKind::Noop,
        reason: "bench".into(),
        resources: Vec::new(),
        max_attempts: 1,
        delay: Duration::ZERO,
        wait_for_metadata: false,
        priority: 0,
    }
}

async fn enqueue(
    queue: &Arc<dyn QueueStore>,
    opts: &QueueBenchOptions,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut left = opts.jobs;
    while left > 0 {
        let n = left.min(opts.insert_batch);
        if n == 1 {
            queue.enqueue(&noop_job()).await?;
        } else {
            let jobs = vec![noop_job(); usize::try_from(n)?];
            queue.enqueue_many(&jobs).await?;
        }
        left -= n;
    }
    Ok(start.elapsed())
}

/// Workers claim and complete until a claim comes back empty; a ticker prints
/// the rate every 2 s. Returns the jobs completed and the time taken.
async fn burn_down(
    queue: &Arc<dyn QueueStore>,
    opts: &QueueBenchOptions,
) -> anyhow::Result<(u64, Duration)> {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let ticker = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut last = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = done.load(Ordering::Relaxed);
                // A closed stdout ends the ticker, not the benchmark.
                if outln!(
                    "  {:>5.1} s  {now:>9} done  {:>8.0} jobs/s",
                    start.elapsed().as_secs_f64(),
                    (now - last) as f64 / 2.0
                )
                .is_err()
                {
                    break;
                }
                last = now;
            }
        })
    };
    let mut workers = Vec::new();
    for w in 0..opts.workers {
        let queue = queue.clone();
        let done = done.clone();
        let batch = opts.claim_batch;
        workers.push(tokio::spawn(async move {
            let name = format!("bench-{w}");
            loop {
                let jobs = queue
                    .claim(QUEUE, &name, Duration::from_secs(60), batch)
                    .await?;
                if jobs.is_empty() {
                    return anyhow::Ok(());
                }
                for job in jobs {
                    if !queue.complete(job.id, job.attempt).await? {
                        bail!("job {} was lost while running", job.id);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut result = Ok(());
    for w in workers {
        let outcome = w.await.context("a bench worker panicked")?;
        if result.is_ok() {
            result = outcome;
        }
    }
    let elapsed = start.elapsed();
    ticker.abort();
    result?;
    Ok((done.load(Ordering::Relaxed), elapsed))
}
