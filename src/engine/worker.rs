//! Workers: claim due jobs, run them resource by resource (streaming, through
//! the connector), keep the lease alive, persist progress at a bounded rate,
//! save a watermark for each resource that fully succeeded, then complete or
//! fail the job (fenced by attempt) and apply the lifecycle consequences.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
use crate::store::rejections::NewRejection;
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
    /// A failed run is retried after this, then twice as long, ….
    pub retry_base: Duration,
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
            retry_base: crate::store::queue::DEFAULT_RETRY_BASE,
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
                            let shutdown = cancel.clone();
                            running.spawn(async move {
                                me.run_job(job, shutdown).await;
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

    /// Takes back jobs whose worker stopped renewing the lease. Each one ends
    /// its run here as any other failed run does: one line, and the cooldown
    /// when it was the last attempt.
    async fn reap(&self) {
        let reclaimed = match self
            .queue
            .reclaim_expired(Some(&self.options.worker_id))
            .await
        {
            Ok(reclaimed) => reclaimed,
            Err(e) => {
                error!(target: "sync_jobs", "cannot reclaim expired jobs: {e}");
                return;
            }
        };
        let now = self.clock.now_ms();
        for r in reclaimed {
            let (state, error) = match r.outcome {
                FailOutcome::Retrying { run_at } => {
                    warn!(target: "sync_jobs", job = r.id, attempt = r.attempt, "attempt failed (lease_expired): {}; retry {}", r.error, crate::text::relative_sentence(run_at, now));
                    (JobState::Queued, r.error.clone())
                }
                _ => {
                    let config = match r.config_id {
                        Some(config_id) => match self.store.config(config_id).await {
                            Ok(config) => config,
                            Err(e) => {
                                error!(target: "auto_sync", config_id, "cannot read the config of failed job {}: {e}", r.id);
                                None
                            }
                        },
                        None => None,
                    };
                    let note = self
                        .after_final_failure(r.id, config.as_ref(), now, &r.error)
                        .await;
                    error!(target: "sync_jobs", job = r.id, attempt = r.attempt, "job failed (lease_expired): {note}");
                    (JobState::Failed, note)
                }
            };
            self.publish(EngineEvent::JobState {
                job_id: r.id,
                config_id: r.config_id,
                state,
                error: Some(error),
            });
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

    async fn run_job(self: Arc<Self>, job: Job, shutdown: CancellationToken) {
        // The run stops at shutdown and when the lease is lost.
        let cancel = shutdown.child_token();
        // Renewed from the claim on: set-up (connector, server time, plan)
        // can take longer than a lease against a slow or failing source.
        let lease = self.keep_lease(&job, cancel.clone());
        self.publish_state(&job, JobState::Running, None);
        info!(target: "sync_jobs", job = job.id, config_id = job.config_id, attempt = job.attempt, "job started: {} ({})", job.kind.as_str(), job.reason);
        let (config, result) = self.run_attempt(&job, &cancel).await;
        lease.finishing();
        self.finish(&job, config.as_ref(), result, &shutdown).await;
        lease.stop();
    }

    /// Runs one attempt; returns the config it used (for the lifecycle
    /// consequences) and how it ended.
    async fn run_attempt(
        &self,
        job: &Job,
        cancel: &CancellationToken,
    ) -> (Option<SyncConfig>, Result<RunSummary, RunError>) {
        if job.kind == JobKind::Noop {
            return (None, Ok(RunSummary::default()));
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
                let result = self.sync(job, &config, cancel).await;
                (Some(config), result)
            }
            Err(e) => (None, Err(e)),
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

        let reporter = self.spawn_reporter(job.clone(), tracker.clone());
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
            // Stored at once, so an attempt after a crash knows this resource
            // was started (its objects may already be at the destination).
            self.persist(job, &tracker, None).await;
            let since = watermarks.get(&resource.key).map(String::as_str);
            match connector
                .sync_resource(resource, since, &*tracker, cancel)
                .await
            {
                Ok(result) => {
                    self.record_rejections(job, &resource.key, &result, cancel)
                        .await;
                    let message = (result.errors > 0).then(|| {
                        summary.conflicted.push(resource.key.clone());
                        let message = refused_message(&result);
                        warn!(target: "sync_jobs", job = job.id, resource = %resource.key, "{message}");
                        message
                    });
                    if !result.watermark_may_move() {
                        // Conflicts that may heal: no watermark, so the next
                        // run takes these objects again.
                        tracker.finish(&resource.key, ResourceStatus::Done, message);
                        self.defer_resync(job, config, resource, &result.classes())
                            .await;
                    } else {
                        // Clean, or refused only for good (permanent): the
                        // watermark moves, so the refused are not re-sent.
                        // "Done" is stored before the watermark moves: a crash in
                        // between re-sends the changes next time (harmless), where
                        // the other order would resume this resource from the new
                        // watermark and count almost nothing of what it moved.
                        tracker.finish(&resource.key, ResourceStatus::Done, message);
                        self.persist(job, &tracker, Some(cancel)).await;
                        if let Err(e) = self
                            .store
                            .set_watermark(config_id, &resource.key, &start_time)
                            .await
                        {
                            outcome = Err(RunError::Retryable(format!("{e}"), "store"));
                            tracker.finish(
                                &resource.key,
                                ResourceStatus::Failed,
                                Some(e.to_string()),
                            );
                            break;
                        }
                        metadata_ok += usize::from(resource.is_metadata);
                    }
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
        // After any save the reporter still has in flight (same lock), so
        // an older snapshot never lands last.
        let _in_order = tracker.save_order.lock().await;
        let snapshot = tracker.snapshot();
        // The final counts are part of the result: kept trying like the result.
        self.record(job, "the final progress", cancel, || {
            self.queue
                .save_progress(job.id, job.attempt, &snapshot.job, &snapshot.resources)
        })
        .await;
        summary.synced = snapshot.job.synced;
        summary.errors = snapshot.job.errors;
        outcome.map(|()| summary)
    }

    /// Stores the job's progress now; with `insist`, retried like a result
    /// (until stored, or the run is cancelled).
    async fn persist(
        &self,
        job: &Job,
        tracker: &ProgressTracker,
        insist: Option<&CancellationToken>,
    ) {
        let _in_order = tracker.save_order.lock().await;
        let snap = tracker.snapshot();
        let save = || {
            self.queue
                .save_progress(job.id, job.attempt, &snap.job, &snap.resources)
        };
        match insist {
            Some(cancel) => {
                self.record(job, "the progress", cancel, save).await;
            }
            None => {
                if let Err(e) = save().await {
                    warn!(target: "sync_jobs", job = job.id, "cannot store the progress: {e}");
                }
            }
        }
    }

    /// Stores what the destination refused (kept trying like a result: a
    /// permanent refusal is shown only here once its watermark moved).
    async fn record_rejections(
        &self,
        job: &Job,
        resource: &str,
        result: &super::connector::Outcome,
        cancel: &CancellationToken,
    ) {
        if result.rejections.is_empty() {
            return;
        }
        let rows: Vec<NewRejection> = result
            .rejections
            .iter()
            .map(|r| NewRejection {
                object_key: r.object.clone().unwrap_or_default(),
                error_code: r.code.clone().unwrap_or_default(),
                class: r.class.as_str().to_string(),
                message: r.message.clone(),
            })
            .collect();
        self.record(job, "the rejections", cancel, || {
            self.store.record_rejections(job.id, resource, &rows)
        })
        .await;
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

    /// Renews the job's lease every third of it until stopped. Losing the
    /// lease cancels `run`: another worker owns the job now.
    fn keep_lease(&self, job: &Job, run: CancellationToken) -> LeaseKeeper {
        let keeper = LeaseKeeper {
            stop: CancellationToken::new(),
            finishing: Arc::new(AtomicBool::new(false)),
        };
        let (stop, finishing) = (keeper.stop.clone(), keeper.finishing.clone());
        let queue = self.queue.clone();
        let lease = self.options.lease;
        let (id, attempt) = (job.id, job.attempt);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(lease / 3) => {}
                }
                match queue.heartbeat(id, attempt, lease).await {
                    Ok(true) => {}
                    // Recording the result ends the `running` state itself.
                    Ok(false) if finishing.load(Ordering::Acquire) => return,
                    Ok(false) => {
                        warn!(target: "sync_jobs", job = id, "lease lost: another worker took the job; stopping this run");
                        run.cancel();
                        return;
                    }
                    Err(e) => warn!(target: "sync_jobs", job = id, "cannot renew the lease: {e}"),
                }
            }
        });
        keeper
    }

    /// Persists progress (bounded rate) and publishes coalesced progress
    /// events while the job runs.
    fn spawn_reporter(&self, job: Job, tracker: Arc<ProgressTracker>) -> CancellationToken {
        let stop = CancellationToken::new();
        let queue = self.queue.clone();
        let events = self.events.clone();
        let options = self.options.clone();
        let stop_task = stop.clone();
        tokio::spawn(async move {
            let mut last_persist = tokio::time::Instant::now();
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
                if snap.version != persisted && now - last_persist >= options.persist_every {
                    last_persist = now;
                    // Snapshot taken under the lock: saves land in the order
                    // of their snapshots, so a resource stored as started
                    // never reads "pending" again after a slow save.
                    let _in_order = tracker.save_order.lock().await;
                    let snap = tracker.snapshot();
                    // A failed write is retried by the next one (and the
                    // final save insists): progress is not the result.
                    if let Ok(true) = queue
                        .save_progress(job.id, job.attempt, &snap.job, &snap.resources)
                        .await
                    {
                        persisted = snap.version;
                    }
                }
            }
        });
        stop
    }

    /// Runs a write of the job's result until the database takes it: a full
    /// disk or a lost connection must not turn a finished run into a "lease
    /// expired" one. Gives up only at shutdown (after a few tries), leaving
    /// the job to the reaper. `None` = not recorded.
    async fn record<T, F, Fut>(
        &self,
        job: &Job,
        what: &str,
        shutdown: &CancellationToken,
        mut write: F,
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = crate::store::Result<T>>,
    {
        let mut delay = Duration::from_millis(500);
        let mut tries = 0u32;
        loop {
            tries += 1;
            match write().await {
                Ok(v) => {
                    if tries > 1 {
                        info!(target: "sync_jobs", job = job.id, "recorded {what} after {tries} tries");
                    }
                    return Some(v);
                }
                Err(e) if shutdown.is_cancelled() && tries >= 3 => {
                    error!(target: "sync_jobs", job = job.id, "cannot record {what}: {e}; giving up at shutdown (the job is retried when its lease expires)");
                    return None;
                }
                Err(e) => {
                    if tries == 1 {
                        error!(target: "sync_jobs", job = job.id, "cannot record {what}: {e}; retrying until the database takes it");
                    }
                    if shutdown.is_cancelled() {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    } else {
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = shutdown.cancelled() => {}
                        }
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }
    }

    /// Ends the attempt in the queue and applies the lifecycle consequences.
    async fn finish(
        &self,
        job: &Job,
        config: Option<&SyncConfig>,
        result: Result<RunSummary, RunError>,
        shutdown: &CancellationToken,
    ) {
        let now = self.clock.now_ms();
        match result {
            Ok(summary) => {
                let recorded = self
                    .record(job, "the completion", shutdown, || {
                        self.queue.complete(job.id, job.attempt)
                    })
                    .await;
                match recorded {
                    Some(true) => {
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
                                // The source answers again: a cooldown an
                                // earlier failure set would only hold back
                                // the next automatic sync.
                                s.cooldown_until = None;
                            })
                            .await;
                        }
                    }
                    Some(false) => {
                        warn!(target: "sync_jobs", job = job.id, "finished, but the job had been reclaimed by another worker; result not recorded")
                    }
                    None => {}
                }
            }
            Err(RunError::Cancelled) => {
                let recorded = self
                    .record(job, "the hand-back", shutdown, || {
                        self.queue
                            .requeue(job.id, job.attempt, "stopped with the process")
                    })
                    .await;
                match recorded {
                    Some(true) => {
                        info!(target: "sync_jobs", job = job.id, "stopped; the job is queued again and resumes where it stopped");
                        self.publish_state(job, JobState::Queued, None);
                    }
                    Some(false) => {
                        info!(target: "sync_jobs", job = job.id, "stopped; the job had been taken over by another worker")
                    }
                    None => {}
                }
            }
            Err(err) => {
                let failure = err.failure();
                let (message, kind) = match &failure {
                    Failure::Retryable { error, kind } | Failure::Permanent { error, kind } => {
                        (error.clone(), kind.clone())
                    }
                };
                let recorded = self
                    .record(job, "the failure", shutdown, || {
                        self.queue.fail(job.id, job.attempt, &failure)
                    })
                    .await;
                match recorded {
                    Some(FailOutcome::Retrying { run_at }) => {
                        warn!(target: "sync_jobs", job = job.id, attempt = job.attempt, "attempt failed ({kind}): {message}; retry {}", crate::text::relative_sentence(run_at, now));
                        self.publish_state(job, JobState::Queued, Some(message));
                    }
                    Some(FailOutcome::Failed) => {
                        let note = self
                            .after_final_failure(job.id, config, now, &message)
                            .await;
                        error!(target: "sync_jobs", job = job.id, attempt = job.attempt, "job failed ({kind}): {note}");
                        self.publish_state(job, JobState::Failed, Some(note));
                    }
                    Some(FailOutcome::Lost) => {
                        warn!(target: "sync_jobs", job = job.id, "failed, but the job had been reclaimed by another worker")
                    }
                    None => {}
                }
            }
        }
    }

    /// A job that will not run again: the config cools down and shows why.
    /// Returns what the failure says from now on (log, console, status):
    /// the cause, that nothing retries it, and what to do.
    async fn after_final_failure(
        &self,
        job_id: i64,
        config: Option<&SyncConfig>,
        now: i64,
        message: &str,
    ) -> String {
        let Some(config) = config else {
            return final_failure_note(job_id, message, None);
        };
        let until = lifecycle::cooldown_after_failure(config.auto.as_ref(), now);
        let cooldown = until.map(|u| (config.name.as_str(), u - now));
        let note = final_failure_note(job_id, message, cooldown);
        let error = note.clone();
        self.update_lifecycle(config.id, |s| {
            s.cooldown_until = until;
            s.last_result = Some("failed".into());
            s.last_error = Some(error);
        })
        .await;
        note
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

/// A final failure in words: `message`, that the job will not be retried,
/// how to run it again, and the cooldown it starts (config name, ms) with
/// how to end it.
fn final_failure_note(job_id: i64, message: &str, cooldown: Option<(&str, i64)>) -> String {
    let pause = cooldown.map_or_else(String::new, |(name, ms)| {
        format!(
            "; automatic syncs of {name} pause for {} (`syncdeck cooldown clear {name}` ends the pause)",
            crate::text::duration_sentence(u64::try_from(ms / 1000).unwrap_or(0))
        )
    });
    format!(
        "{message}; will not be retried: fix the cause, then `syncdeck jobs retry {job_id}` or trigger the config again{pause}"
    )
}

/// "N objects refused by the destination (M permanently: not re-sent)".
fn refused_message(result: &super::connector::Outcome) -> String {
    if result.permanent == 0 {
        format!("{} objects refused by the destination", result.errors)
    } else {
        format!(
            "{} objects refused by the destination ({} permanently: recorded, not re-sent)",
            result.errors, result.permanent
        )
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

/// The lease renewal of one running job.
struct LeaseKeeper {
    stop: CancellationToken,
    /// Set before the result is recorded: from then on a refused renewal
    /// means "recorded", not "taken over".
    finishing: Arc<AtomicBool>,
}

impl LeaseKeeper {
    fn finishing(&self) {
        self.finishing.store(true, Ordering::Release);
    }

    fn stop(&self) {
        self.stop.cancel();
    }
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

#[cfg(test)]
mod tests {
    use super::final_failure_note;

    #[test]
    fn a_final_failure_says_it_will_not_be_retried_and_what_to_do() {
        let note = final_failure_note(
            7,
            "source: temporary failure: cannot connect to http://h/api/system/info",
            Some(("copy", 30 * 60_000)),
        );
        assert_eq!(
            note,
            "source: temporary failure: cannot connect to http://h/api/system/info; will not be \
             retried: fix the cause, then `syncdeck jobs retry 7` or trigger the config again; \
             automatic syncs of copy pause for 30m (`syncdeck cooldown clear copy` ends the pause)"
        );
        let manual = final_failure_note(8, "bad password", None);
        assert!(manual.ends_with("`syncdeck jobs retry 8` or trigger the config again"));
        assert!(!manual.contains("will be retried") && !manual.contains("cooldown"));
    }
}
