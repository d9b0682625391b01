//! Workers: claim due jobs, run them resource by resource (streaming, through
//! the connector), keep the lease alive, persist progress at a bounded rate,
//! save a watermark for each resource that fully succeeded, then complete or
//! fail the job (fenced by attempt) and apply the lifecycle consequences.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::clock::Clock;
use super::connector::{ConflictClass, ConnectorError, PlannedResource, SyncConnector};
use super::events::EngineEvent;
use super::lifecycle;
use super::progress::ProgressTracker;
use crate::config::SyncConfig;
use crate::store::Store;
use crate::store::queue::{
    FailOutcome, Failure, Job, JobKind, JobState, NewJob, QueueStore, ResourceStatus,
};
use crate::store::state::LifecyclePart;

/// Builds the connector of a config (credentials resolved at run time).
#[async_trait::async_trait]
pub trait ConnectorFactory: Send + Sync {
    async fn connector(
        &self,
        config: &SyncConfig,
    ) -> Result<Arc<dyn SyncConnector>, ConnectorError>;
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub concurrency: usize,
    /// A job whose lease is not renewed for this long is reclaimed.
    pub lease: Duration,
    /// Polling interval when nothing wakes the workers.
    pub poll: Duration,
    /// Progress is written to the database at most this often.
    pub persist_every: Duration,
    /// Progress events at most this often per job (latest value wins).
    pub publish_every: Duration,
    pub worker_id: String,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 2,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            persist_every: Duration::from_secs(1),
            publish_every: Duration::from_millis(100),
            worker_id: default_worker_id(),
        }
    }
}

/// `host:pid:random`, unique per process.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}:{}:{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

pub struct Workers {
    pub store: Store,
    pub queue: Arc<dyn QueueStore>,
    pub factory: Arc<dyn ConnectorFactory>,
    pub events: broadcast::Sender<EngineEvent>,
    pub clock: Clock,
    pub options: WorkerOptions,
    pub wake: Notify,
}

impl Workers {
    /// Claims and runs jobs until `cancel`; running jobs are then given back to
    /// the queue (not counted as attempts), so nothing stays `running`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let mut running = JoinSet::new();
        let mut next_reap = tokio::time::Instant::now();
        loop {
            while running.try_join_next().is_some() {}
            if tokio::time::Instant::now() >= next_reap {
                self.reap().await;
                next_reap = tokio::time::Instant::now() + self.options.lease / 2;
            }
            let free = slots.available_permits();
            if free > 0 {
                match self
                    .queue
                    .claim(
                        "sync",
                        &self.options.worker_id,
                        self.options.lease,
                        u32::try_from(free).unwrap_or(1),
                    )
                    .await
                {
                    Ok(jobs) => {
                        let claimed = !jobs.is_empty();
                        for job in jobs {
                            let Ok(permit) = slots.clone().try_acquire_owned() else {
                                break;
                            };
                            let me = self.clone();
                            let token = cancel.child_token();
                            running.spawn(async move {
                                me.run_job(job, token).await;
                                drop(permit);
                            });
                        }
                        if claimed {
                            continue;
                        }
                    }
                    Err(e) => error!(target: "sync_jobs", "cannot claim jobs: {e}"),
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        while running.join_next().await.is_some() {}
    }

    async fn reap(&self) {
        match self.queue.reclaim_expired().await {
            Ok(ids) if !ids.is_empty() => {
                warn!(target: "sync_jobs", "reclaimed jobs {ids:?}: their worker stopped renewing its lease");
            }
            Ok(_) => {}
            Err(e) => error!(target: "sync_jobs", "cannot reclaim expired jobs: {e}"),
        }
    }

    fn publish(&self, event: EngineEvent) {
        // No subscriber is fine: the database is the truth.
        let _ = self.events.send(event);
    }

    fn publish_state(&self, job: &Job, state: JobState, error: Option<String>) {
        self.publish(EngineEvent::JobState {
            job_id: job.id,
            config_id: job.config_id,
            state,
            error,
        });
    }

    async fn run_job(self: Arc<Self>, job: Job, cancel: CancellationToken) {
        self.publish_state(&job, JobState::Running, None);
        info!(target: "sync_jobs", job = job.id, config_id = ?job.config_id, attempt = job.attempt, "job started: {} ({})", job.kind.as_str(), job.reason);
        if job.kind == JobKind::Noop {
            self.finish(&job, None, Ok(RunSummary::default())).await;
            return;
        }
        // Read once: the run and its lifecycle consequences use the same config.
        let config = match job.config_id {
            None => Err(RunError::Permanent(
                "a sync job without a config".into(),
                "error",
            )),
            Some(id) => match self.store.config(id).await {
                Ok(Some(config)) => Ok(config),
                Ok(None) => Err(RunError::Permanent(
                    "the config no longer exists".into(),
                    "error",
                )),
                Err(e) => Err(RunError::Retryable(format!("{e}"), "store")),
            },
        };
        match config {
            Ok(config) => {
                let result = self.sync(&job, &config, &cancel).await;
                self.finish(&job, Some(&config), result).await;
            }
            Err(e) => self.finish(&job, None, Err(e)).await,
        }
    }

    /// The sync itself; `Err` carries the failure that ends the attempt.
    async fn sync(
        &self,
        job: &Job,
        config: &SyncConfig,
        cancel: &CancellationToken,
    ) -> Result<RunSummary, RunError> {
        let config_id = config.id;
        let connector = self
            .factory
            .connector(config)
            .await
            .map_err(RunError::from)?;
        let start_time = connector.server_time().await?;
        let plan = connector.plan().await?;
        let watermarks: std::collections::HashMap<String, String> = self
            .store
            .watermarks(config_id)
            .await
            .map_err(|e| RunError::Retryable(format!("{e}"), "store"))?
            .into_iter()
            .collect();
        let selected = select(&plan, job);
        let previous = self.queue.resources(job.id).await.unwrap_or_default();
        let tracker = Arc::new(ProgressTracker::new(&selected, &previous));

        let reporter = self.spawn_reporter(job.clone(), tracker.clone(), cancel.clone());
        let mut summary = RunSummary::default();
        let mut outcome = Ok(());
        let metadata_total = selected.iter().filter(|r| r.is_metadata).count();
        let mut metadata_ok = 0;
        for resource in &selected {
            if tracker.is_done(&resource.key) {
                // Finished by an earlier attempt of this job: never counted twice.
                metadata_ok += usize::from(resource.is_metadata);
                continue;
            }
            if cancel.is_cancelled() {
                outcome = Err(RunError::Cancelled);
                break;
            }
            tracker.begin(&resource.key);
            let since = watermarks.get(&resource.key).map(String::as_str);
            match connector
                .sync_resource(resource, since, &*tracker, cancel)
                .await
            {
                Ok(result) if result.errors == 0 => {
                    if let Err(e) = self
                        .store
                        .set_watermark(config_id, &resource.key, &start_time)
                        .await
                    {
                        outcome = Err(RunError::Retryable(format!("{e}"), "store"));
                        tracker.finish(&resource.key, ResourceStatus::Failed, Some(e.to_string()));
                        break;
                    }
                    metadata_ok += usize::from(resource.is_metadata);
                    tracker.finish(&resource.key, ResourceStatus::Done, None);
                }
                Ok(result) => {
                    // Conflicts: a per-resource error; no watermark, so the
                    // next run takes these objects again.
                    summary.conflicted.push(resource.key.clone());
                    let message = format!("{} objects refused by the destination", result.errors);
                    warn!(target: "sync_jobs", job = job.id, resource = %resource.key, "{message}");
                    tracker.finish(&resource.key, ResourceStatus::Done, Some(message));
                    self.defer_resync(job, config, resource, &result.conflicts)
                        .await;
                }
                Err(e) => {
                    tracker.finish(&resource.key, ResourceStatus::Failed, Some(e.to_string()));
                    outcome = Err(e.into());
                    break;
                }
            }
            if resource.is_metadata && metadata_ok == metadata_total && metadata_total > 0 {
                // Re-syncs waiting for missing references may run now.
                let _ = self.queue.release_metadata_waiters(config_id).await;
            }
        }
        reporter.cancel();
        let snapshot = tracker.snapshot();
        let _ = self
            .queue
            .save_progress(job.id, job.attempt, &snapshot.job, &snapshot.resources)
            .await;
        summary.synced = snapshot.job.synced;
        summary.errors = snapshot.job.errors;
        outcome.map(|()| summary)
    }

    /// Deferred re-sync of one resource, by the class of its conflicts.
    async fn defer_resync(
        &self,
        job: &Job,
        config: &SyncConfig,
        resource: &PlannedResource,
        conflicts: &[ConflictClass],
    ) {
        let (wait_for_metadata, delay) = if conflicts.contains(&ConflictClass::MissingReference) {
            (true, Duration::ZERO)
        } else if conflicts.contains(&ConflictClass::Lock) {
            (false, Duration::from_secs(30))
        } else {
            return;
        };
        if job.kind == JobKind::Resync && job.resources == [resource.key.clone()] {
            // A re-sync that conflicts again waits for the next regular run.
            return;
        }
        let mut new = NewJob::sync(
            config.id,
            JobKind::Resync,
            format!(
                "re-sync of {} after conflicts in job {}",
                resource.key, job.id
            ),
        );
        new.resources = vec![resource.key.clone()];
        new.wait_for_metadata = wait_for_metadata;
        new.delay = delay;
        match self.queue.enqueue(&new).await {
            Ok(id) => {
                info!(target: "sync_jobs", job = id, resource = %resource.key, "deferred re-sync queued ({})", if wait_for_metadata { "after the next metadata sync" } else { "in 30s" })
            }
            Err(e) => {
                error!(target: "sync_jobs", "cannot queue a re-sync of {}: {e}", resource.key)
            }
        }
    }

    /// Renews the lease, persists progress (bounded rate) and publishes
    /// coalesced progress events while the job runs. Losing the lease cancels
    /// the run: another worker owns the job now.
    fn spawn_reporter(
        &self,
        job: Job,
        tracker: Arc<ProgressTracker>,
        run: CancellationToken,
    ) -> CancellationToken {
        let stop = CancellationToken::new();
        let queue = self.queue.clone();
        let events = self.events.clone();
        let options = self.options.clone();
        let stop_task = stop.clone();
        tokio::spawn(async move {
            let mut last_persist = tokio::time::Instant::now();
            let mut last_renew = tokio::time::Instant::now();
            let (mut published, mut persisted) = (0, 0);
            loop {
                tokio::select! {
                    _ = stop_task.cancelled() => return,
                    _ = tokio::time::sleep(options.publish_every) => {}
                }
                let snap = tracker.snapshot();
                if snap.version != published {
                    published = snap.version;
                    let _ = events.send(EngineEvent::Progress {
                        job_id: job.id,
                        config_id: job.config_id,
                        progress: snap.job.clone(),
                        resources: snap.resources.clone(),
                        eta_secs: snap.eta.map(|d| d.as_secs()),
                    });
                }
                let now = tokio::time::Instant::now();
                if now - last_renew >= options.lease / 3 {
                    last_renew = now;
                    match queue.heartbeat(job.id, job.attempt, options.lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            warn!(target: "sync_jobs", job = job.id, "lease lost: another worker took the job; stopping this run");
                            run.cancel();
                            return;
                        }
                        Err(e) => {
                            warn!(target: "sync_jobs", job = job.id, "cannot renew the lease: {e}")
                        }
                    }
                }
                if snap.version != persisted && now - last_persist >= options.persist_every {
                    last_persist = now;
                    persisted = snap.version;
                    let _ = queue
                        .save_progress(job.id, job.attempt, &snap.job, &snap.resources)
                        .await;
                }
            }
        });
        stop
    }

    /// Ends the attempt in the queue and applies the lifecycle consequences.
    async fn finish(
        &self,
        job: &Job,
        config: Option<&SyncConfig>,
        result: Result<RunSummary, RunError>,
    ) {
        let now = self.clock.now_ms();
        match result {
            Ok(summary) => match self.queue.complete(job.id, job.attempt).await {
                Ok(true) => {
                    info!(target: "sync_jobs", job = job.id, synced = summary.synced, errors = summary.errors, "job completed");
                    self.publish_state(job, JobState::Completed, None);
                    if let Some(config) = config {
                        let text = if summary.errors == 0 {
                            format!("completed: {} synced", summary.synced)
                        } else {
                            format!(
                                "completed: {} synced, {} refused in {}",
                                summary.synced,
                                summary.errors,
                                summary.conflicted.join(", ")
                            )
                        };
                        self.update_lifecycle(config.id, |s| {
                            s.initial_done = true;
                            s.last_result = Some(text);
                            s.last_error = None;
                        })
                        .await;
                    }
                }
                Ok(false) => {
                    warn!(target: "sync_jobs", job = job.id, "finished, but the job had been reclaimed by another worker; result not recorded")
                }
                Err(e) => {
                    error!(target: "sync_jobs", job = job.id, "cannot record completion: {e}")
                }
            },
            Err(RunError::Cancelled) => {
                match self
                    .queue
                    .requeue(job.id, job.attempt, "stopped with the process")
                    .await
                {
                    Ok(_) => {
                        info!(target: "sync_jobs", job = job.id, "stopped; the job is queued again and resumes where it stopped")
                    }
                    Err(e) => {
                        error!(target: "sync_jobs", job = job.id, "cannot give the job back: {e}")
                    }
                }
                self.publish_state(job, JobState::Queued, None);
            }
            Err(err) => {
                let failure = err.failure();
                let (message, kind) = match &failure {
                    Failure::Retryable { error, kind } | Failure::Permanent { error, kind } => {
                        (error.clone(), kind.clone())
                    }
                };
                match self.queue.fail(job.id, job.attempt, &failure).await {
                    Ok(FailOutcome::Retrying { run_at }) => {
                        warn!(target: "sync_jobs", job = job.id, attempt = job.attempt, "attempt failed ({kind}): {message}; retry in {}s", (run_at - now).max(0) / 1000);
                        self.publish_state(job, JobState::Queued, Some(message));
                    }
                    Ok(FailOutcome::Failed) => {
                        error!(target: "sync_jobs", job = job.id, attempt = job.attempt, "job failed ({kind}): {message}");
                        self.publish_state(job, JobState::Failed, Some(message.clone()));
                        if let Some(config) = config {
                            let until =
                                lifecycle::cooldown_after_failure(config.auto.as_ref(), now);
                            self.update_lifecycle(config.id, |s| {
                                s.cooldown_until = until;
                                s.last_result = Some("failed".into());
                                s.last_error = Some(message);
                            })
                            .await;
                        }
                    }
                    Ok(FailOutcome::Lost) => {
                        warn!(target: "sync_jobs", job = job.id, "failed, but the job had been reclaimed by another worker")
                    }
                    Err(e) => {
                        error!(target: "sync_jobs", job = job.id, "cannot record the failure: {e}")
                    }
                }
            }
        }
    }

    async fn update_lifecycle(
        &self,
        config_id: i64,
        change: impl FnOnce(&mut crate::store::state::LifecycleState),
    ) {
        match self.store.lifecycle(config_id).await {
            Ok(mut state) => {
                change(&mut state);
                if let Err(e) = self
                    .store
                    .save_lifecycle(config_id, &state, LifecyclePart::Outcome)
                    .await
                {
                    error!(target: "auto_sync", config_id, "cannot save the lifecycle state: {e}");
                }
            }
            Err(e) => {
                error!(target: "auto_sync", config_id, "cannot read the lifecycle state: {e}")
            }
        }
        self.publish(EngineEvent::ConfigsChanged);
    }
}

/// Which resources of the plan a job syncs: a re-sync or an incremental job
/// its named resources; anything else the whole plan (each resource from its
/// own watermark, so a full run after a partial one resumes).
fn select(plan: &[PlannedResource], job: &Job) -> Vec<PlannedResource> {
    if job.resources.is_empty() {
        return plan.to_vec();
    }
    plan.iter()
        .filter(|r| job.resources.contains(&r.key))
        .cloned()
        .collect()
}

#[derive(Debug, Default)]
struct RunSummary {
    synced: u64,
    errors: u64,
    conflicted: Vec<String>,
}

#[derive(Debug)]
enum RunError {
    Retryable(String, &'static str),
    Permanent(String, &'static str),
    Cancelled,
}

impl From<ConnectorError> for RunError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Auth(m) => RunError::Permanent(m, "auth"),
            ConnectorError::Config(m) => RunError::Permanent(m, "config"),
            ConnectorError::Cancelled => RunError::Cancelled,
            other @ (ConnectorError::Transient(_) | ConnectorError::Other(_)) => {
                RunError::Retryable(other.to_string(), other.kind())
            }
        }
    }
}

impl RunError {
    fn failure(self) -> Failure {
        match self {
            RunError::Retryable(error, kind) => Failure::Retryable {
                error,
                kind: kind.into(),
            },
            RunError::Permanent(error, kind) => Failure::Permanent {
                error,
                kind: kind.into(),
            },
            RunError::Cancelled => Failure::Retryable {
                error: "cancelled".into(),
                kind: "cancelled".into(),
            },
        }
    }
}
