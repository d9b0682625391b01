//! The durable job queue: one [`QueueStore`] trait and one implementation
//! (`db_queue.rs`) for SQLite and PostgreSQL, whose statements are written
//! once (`statements.rs`) and differ only in the claim; one conformance suite
//! runs on both (`tests/it/queue_conformance.rs`).
//!
//! Semantics (README.md, "Jobs live in the database", states them for users):
//! - claims are atomic; a claim sets `state='running'`, `attempt += 1`,
//!   `locked_by`, `lease_until = now + lease`; jobs sharing an
//!   `exclusive_key` never run at the same time (one sync per config);
//! - "now" is the database clock, so due and lease checks agree across hosts
//!   sharing one database; tests bind a [`ManualClock`] instead (`clock.rs`);
//! - every finish (`complete`, `fail`, `heartbeat`, `save_progress`, `requeue`)
//!   is fenced: `WHERE id = ? AND attempt = ? AND state = 'running'`, and
//!   reports whether it still owned the job;
//! - `max_attempts` counts every run, the first included; the delay before run
//!   n+1 is 30 s × 2^(n-1) (30, 60, 120 …, capped at 1 h) plus a little jitter;
//!   exhausted and non-retryable jobs go to `failed`, never back to `queued`;
//! - the reaper sends running jobs whose lease expired down the same retry path
//!   (their attempt was counted at claim).

mod clock;
mod db_queue;
mod statements;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Result, Store};
use clock::Clock;
use db_queue::DbQueue;

pub use clock::ManualClock;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JobKind {
    /// First full sync of a config.
    Initial,
    /// Only what changed since the watermarks.
    Incremental,
    /// Asked for by an operator (`trigger`): initial or incremental as needed.
    Manual,
    /// Deferred re-sync of named resources after import conflicts.
    Resync,
    /// Does nothing (queue benchmark and tests).
    Noop,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Queue name (`sync`; the benchmark uses its own).
    pub queue: String,
    pub config_id: Option<i64>,
    /// Jobs with the same key never run together (sync jobs use the config id).
    pub exclusive_key: Option<String>,
    pub kind: JobKind,
    pub reason: String,
    /// Resource keys to sync; empty = the job plans its own.
    pub resources: Vec<String>,
    pub max_attempts: u32,
    /// Due after this delay (database clock).
    pub delay: Duration,
    /// Held until the config's next metadata sync completes.
    pub wait_for_metadata: bool,
    /// Lower runs first.
    pub priority: i32,
}

impl NewJob {
    /// A sync job of a config, due now, 3 attempts.
    pub fn sync(config_id: i64, kind: JobKind, reason: impl Into<String>) -> NewJob {
        NewJob {
            queue: "sync".into(),
            config_id: Some(config_id),
            exclusive_key: Some(format!("config:{config_id}")),
            kind,
            reason: reason.into(),
            resources: Vec::new(),
            max_attempts: 3,
            delay: Duration::ZERO,
            wait_for_metadata: false,
            priority: 0,
        }
    }

    /// [`NewJob::sync`] for `config`: a pull runs once, since its poller
    /// is the retry (with backoff) and a manual pull should fail at once.
    pub fn for_config(
        config: &crate::config::SyncConfig,
        kind: JobKind,
        reason: impl Into<String>,
    ) -> NewJob {
        let mut job = NewJob::sync(config.id, kind, reason);
        if config.kind == crate::config::SyncKind::HttpPull {
            job.max_attempts = 1;
        }
        job
    }
}

/// Progress of a job as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub expected: u64,
    pub processed: u64,
    pub synced: u64,
    pub errors: u64,
    /// Objects per second, smoothed.
    pub speed: f64,
    pub current_step: Option<String>,
    pub current_resource: Option<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ResourceStatus {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

stored_names!(JobState, JobKind, ResourceStatus);

/// Progress and result of one resource of a job (`job_resources`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceProgress {
    /// Resource key, e.g. `metadata:dataElements`, `dataValues:<dataSet>`.
    pub resource: String,
    /// For people: the plan's label (`Data values: ANC monthly`); empty in
    /// rows stored before labels were kept.
    #[serde(default)]
    pub label: String,
    /// `metadata` or `data`.
    pub rtype: String,
    /// Order within the job.
    pub position: u32,
    pub status: ResourceStatus,
    pub total: u64,
    pub processed: u64,
    pub synced: u64,
    pub errors: u64,
    pub speed: f64,
    pub message: Option<String>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub queue: String,
    pub config_id: Option<i64>,
    pub exclusive_key: Option<String>,
    pub kind: JobKind,
    pub reason: String,
    pub resources: Vec<String>,
    pub state: JobState,
    pub wait_for_metadata: bool,
    /// Runs started so far (the current one included while running).
    pub attempt: u32,
    pub max_attempts: u32,
    pub priority: i32,
    /// ms since the epoch (database clock), like every time below.
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub progress: JobProgress,
    pub progress_at: Option<i64>,
    pub last_error: Option<String>,
    /// `auth`, `transient`, `conflict`, `lease_expired`, `cancelled`,
    /// `requeued` (given back at shutdown; `last_error` holds the reason), …
    pub error_kind: Option<String>,
}

/// How a run ended, from the worker's side.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Worth another attempt (network, 5xx, timeout) if attempts remain.
    Retryable { error: String, kind: String },
    /// Never retried (auth, bad configuration).
    Permanent { error: String, kind: String },
}

/// What [`QueueStore::fail`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, due at `run_at` (ms, database clock).
    Retrying { run_at: i64 },
    /// Moved to `failed`.
    Failed,
    /// The job was no longer ours (lease lost, reclaimed): nothing written.
    Lost,
}

/// A running job whose lease expired, sent down the retry path by
/// [`QueueStore::reclaim_expired`].
#[derive(Debug, Clone, PartialEq)]
pub struct Reclaimed {
    pub id: i64,
    pub config_id: Option<i64>,
    /// The run that expired.
    pub attempt: u32,
    /// `Retrying` or `Failed` (never `Lost`: those are not reported).
    pub outcome: FailOutcome,
    /// What was recorded as the run's error.
    pub error: String,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub config_id: Option<i64>,
    pub states: Vec<JobState>,
    pub queue: Option<String>,
    /// Newest first; at most this many (0 = no limit).
    pub limit: u32,
}

/// The job queue on one database. Every method is one short transaction.
#[async_trait]
pub trait QueueStore: Send + Sync + std::fmt::Debug {
    /// Adds a job; returns its id.
    async fn enqueue(&self, job: &NewJob) -> Result<i64>;

    /// Adds several jobs in one transaction (all or none); returns their ids
    /// in order.
    async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(jobs.len());
        for job in jobs {
            ids.push(self.enqueue(job).await?);
        }
        Ok(ids)
    }

    /// Atomically claims up to `limit` due jobs of `queue` for `worker`
    /// (skipping jobs waiting for metadata and jobs whose exclusive key is
    /// running), ordered by priority, run_at, id.
    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>>;

    /// Extends the lease; `false` = the job is no longer ours: stop working on it.
    async fn heartbeat(&self, id: i64, attempt: u32, lease: Duration) -> Result<bool>;

    /// Stores progress and per-resource rows (fenced). `false` = lost.
    async fn save_progress(
        &self,
        id: i64,
        attempt: u32,
        progress: &JobProgress,
        resources: &[ResourceProgress],
    ) -> Result<bool>;

    /// Marks completed (fenced). `false` = lost.
    async fn complete(&self, id: i64, attempt: u32) -> Result<bool>;

    /// Records a failed run: retry with backoff, or `failed` (fenced).
    async fn fail(&self, id: i64, attempt: u32, failure: &Failure) -> Result<FailOutcome>;

    /// Gives a running job back without counting the run (clean shutdown):
    /// queued again, due now, attempt decremented. `false` = lost.
    async fn requeue(&self, id: i64, attempt: u32, reason: &str) -> Result<bool>;

    /// Sends running jobs whose lease expired down the retry path; returns
    /// what happened to each. Jobs locked by `own_worker` are left alone:
    /// the caller runs them, so a lease it could not renew (database full or
    /// unreachable) does not make it give up its own live run.
    async fn reclaim_expired(&self, own_worker: Option<&str>) -> Result<Vec<Reclaimed>>;

    async fn get(&self, id: i64) -> Result<Option<Job>>;
    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>>;
    /// How many jobs match (`limit` ignored).
    async fn count(&self, filter: &JobFilter) -> Result<u64>;
    /// Objects synced by every job still in the table (the console's total).
    async fn synced_total(&self) -> Result<u64>;
    async fn resources(&self, id: i64) -> Result<Vec<ResourceProgress>>;

    /// A failed (or cancelled) job queued again with fresh attempts; `false` if
    /// it was not failed/cancelled.
    async fn retry(&self, id: i64) -> Result<bool>;
    /// Every failed job queued again; returns how many.
    async fn retry_all_failed(&self) -> Result<u64>;
    /// Deletes queued, failed and cancelled jobs (never running ones); returns how many.
    async fn clear(&self) -> Result<u64>;
    /// Cancels the queued jobs of a config (`stop`); returns how many.
    async fn cancel_queued(&self, config_id: i64) -> Result<u64>;
    /// Jobs waiting for a metadata sync of `config_id` become due now.
    async fn release_metadata_waiters(&self, config_id: i64) -> Result<u64>;
    /// Whether the config has a queued or running job (not waiting for metadata).
    async fn has_pending(&self, config_id: i64) -> Result<bool>;
    /// Deletes finished jobs older than `age` (history pruning); returns how many.
    async fn prune_finished(&self, age: Duration) -> Result<u64>;
}

impl Store {
    /// The job queue on this database, on the database clock.
    pub fn queue(&self) -> Arc<dyn QueueStore> {
        self.queue_with_retry_base(DEFAULT_RETRY_BASE)
    }

    /// The job queue on the database clock, retrying failed runs after
    /// `base`, 2 × `base`, ….
    pub fn queue_with_retry_base(&self, base: Duration) -> Arc<dyn QueueStore> {
        Arc::new(DbQueue::new(self.clone(), base, Clock::Database))
    }

    /// The job queue reading "now" from `clock` instead of the database, with
    /// the default retry delays: for tests, which move time forward instead of
    /// sleeping. Times the store writes elsewhere still use the database clock.
    pub fn queue_on_manual_clock(&self, clock: &ManualClock) -> Arc<dyn QueueStore> {
        Arc::new(DbQueue::new(
            self.clone(),
            DEFAULT_RETRY_BASE,
            Clock::Manual(clock.clone()),
        ))
    }

    /// Deletes every job of `queue` that is not running (benchmarks, tools);
    /// returns how many.
    pub async fn purge_queue(&self, queue: &str) -> Result<u64> {
        db_queue::purge_queue(self, queue).await
    }
}

/// The first retry delay unless a daemon is told otherwise (`--retry-delay`).
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(30);

/// Delay before the run after `attempt` runs: 30 s × 2^(attempt-1), capped at 1 h.
pub fn retry_delay(attempt: u32) -> Duration {
    retry_delay_from(DEFAULT_RETRY_BASE, attempt)
}

/// `base` × 2^(attempt-1), capped at 1 h.
pub fn retry_delay_from(base: Duration, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(7);
    (base * (1u32 << exp)).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names stored in `jobs.state`, `jobs.kind` and `job_resources.status`
    /// are the serde names (what `--json` prints), in both directions.
    #[test]
    fn stored_names_round_trip_and_match_serde() {
        crate::assert_stored_names::<JobState>();
        crate::assert_stored_names::<JobKind>();
        crate::assert_stored_names::<ResourceStatus>();
        assert_eq!(JobState::Cancelled.as_str(), "cancelled");
        assert_eq!(JobState::parse("Queued"), None, "exact names only");
    }

    #[test]
    fn retry_delays_double_from_30s() {
        let secs: Vec<u64> = (1..=9).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
