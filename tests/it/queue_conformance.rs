//! One conformance suite for every `QueueStore` (River's pattern): each test
//! is written once against `Arc<dyn QueueStore>` and instantiated for SQLite
//! (a temp file) and PostgreSQL (see `common/pg.rs`).
//!
//! Time is controlled, not waited for: the queue under test reads "now" from
//! a `ManualClock` the tests move forward (`src/store/queue/clock.rs`), so due
//! times and leases are exact and no test races a timer. `database_clock`
//! runs the same statements on the database clock, as production does.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection;
use syncdeck::store::queue::{
    FailOutcome, Failure, Job, JobFilter, JobKind, JobProgress, JobState, ManualClock, NewJob,
    QueueStore, ResourceProgress, ResourceStatus,
};
use syncdeck::store::{DbTarget, Store};

use crate::common;

const LONG: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(200);
/// Slack for comparing times: none, as every statement of the queue under
/// test reads the manual clock.
const SLACK_MS: i64 = 0;

struct Ctx {
    /// The queue under test, on `clock`.
    q: Arc<dyn QueueStore>,
    clock: ManualClock,
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

impl Ctx {
    async fn sqlite() -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DbTarget::Sqlite(dir.path().join("q.db")))
            .await
            .unwrap();
        Ctx::on_manual_clock(store, Some(dir)).await
    }

    async fn postgres() -> Option<Ctx> {
        let url = common::pg::database().await?;
        let store = Store::open(&DbTarget::Postgres(url)).await.unwrap();
        Some(Ctx::on_manual_clock(store, None).await)
    }

    /// The queue on a manual clock starting at the database's time.
    #[allow(clippy::disallowed_methods)] // the test clock, for tests
    async fn on_manual_clock(store: Store, dir: Option<tempfile::TempDir>) -> Ctx {
        let clock = ManualClock::starting_at(store.now_ms().await.unwrap());
        Ctx {
            q: store.queue_on_manual_clock(&clock),
            clock,
            store,
            _dir: dir,
        }
    }

    /// A sync config row (jobs.config_id references it), written on a side
    /// connection: the store has no config API yet.
    async fn config(&self, name: &str) -> i64 {
        let instance =
            "INSERT INTO instances (name, url, auth_kind, secret_kind, secret_ref, updated_at)
                        VALUES ('src-' || $1, 'http://x', 'basic', 'env', 'X', 0) RETURNING id";
        let config = "INSERT INTO sync_configs (name, kind, source_id, mode, selection, updated_at)
                      VALUES ($1, 'dhis2', $2, 'manual', '{}', 0) RETURNING id";
        match self.store.target() {
            DbTarget::Sqlite(path) => {
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                let src: i64 = sqlx::query_scalar(instance)
                    .bind(name)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                sqlx::query_scalar(config)
                    .bind(name)
                    .bind(src)
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
            }
            DbTarget::Postgres(url) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let src: i64 = sqlx::query_scalar(instance)
                    .bind(name)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                sqlx::query_scalar(config)
                    .bind(name)
                    .bind(src)
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
            }
        }
    }

    /// The queue's "now".
    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Moves the clock to the due time of job `id`, which must be queued
    /// (instead of sleeping through its delay or backoff).
    async fn until_due(&self, id: i64) {
        let job = self.job(id).await;
        assert_eq!(job.state, JobState::Queued, "job {id} is not queued");
        self.clock.advance_to(job.run_at);
    }

    async fn job(&self, id: i64) -> Job {
        self.q.get(id).await.unwrap().unwrap()
    }

    async fn claim_one(&self, queue: &str) -> Job {
        let mut jobs = self.q.claim(queue, "w1", LONG, 1).await.unwrap();
        assert_eq!(jobs.len(), 1, "expected one claimable job in {queue}");
        jobs.remove(0)
    }

    async fn claim_none(&self, queue: &str) {
        let jobs = self.q.claim(queue, "w1", LONG, 10).await.unwrap();
        assert!(jobs.is_empty(), "expected nothing claimable, got {jobs:?}");
    }
}

fn new_job(queue: &str) -> NewJob {
    NewJob {
        queue: queue.into(),
        config_id: None,
        exclusive_key: None,
        kind: JobKind::Noop,
        reason: "test".into(),
        resources: Vec::new(),
        max_attempts: 3,
        delay: Duration::ZERO,
        wait_for_metadata: false,
        priority: 0,
    }
}

fn keyed(queue: &str, key: &str) -> NewJob {
    NewJob {
        exclusive_key: Some(key.into()),
        ..new_job(queue)
    }
}

fn retryable() -> Failure {
    Failure::Retryable {
        error: "HTTP 503".into(),
        kind: "transient".into(),
    }
}

/// The ids `reclaim_expired` reports.
async fn reclaimed_ids(q: &Arc<dyn QueueStore>) -> Vec<i64> {
    q.reclaim_expired(None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}

fn assert_near(actual: i64, expected: i64, slack: i64, what: &str) {
    assert!(
        (actual - expected).abs() <= slack,
        "{what}: {actual} is not within {slack} ms of {expected}"
    );
}

async fn enqueue_claim_complete(cx: &Ctx) {
    let cfg = cx.config("c1").await;
    let mut job = NewJob::sync(cfg, JobKind::Incremental, "changes detected");
    job.resources = vec!["metadata:dataElements".into(), "dataValues:ds1".into()];
    let before = cx.now();
    let id = cx.q.enqueue(&job).await.unwrap();
    let stored = cx.job(id).await;
    assert_eq!(stored.state, JobState::Queued);
    assert_eq!(stored.attempt, 0);
    assert_eq!(stored.max_attempts, 3);
    assert_eq!(stored.config_id, Some(cfg));
    assert_eq!(
        stored.exclusive_key.as_deref(),
        Some(&*format!("config:{cfg}"))
    );
    assert_eq!(stored.kind, JobKind::Incremental);
    assert_eq!(stored.reason, "changes detected");
    assert_eq!(stored.resources, job.resources);
    assert_near(stored.created_at, before, SLACK_MS, "created_at");
    assert!(stored.started_at.is_none() && stored.lease_until.is_none());

    let claimed = cx.claim_one("sync").await;
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.attempt, 1);
    assert_eq!(claimed.locked_by.as_deref(), Some("w1"));
    let now = cx.now();
    assert_near(
        claimed.lease_until.unwrap(),
        now + 30_000,
        SLACK_MS,
        "lease_until",
    );
    assert!(claimed.started_at.is_some());
    assert_eq!(cx.job(id).await, claimed);
    cx.claim_none("sync").await;
    cx.claim_none("other").await;

    assert!(cx.q.complete(id, 1).await.unwrap());
    let done = cx.job(id).await;
    assert_eq!(done.state, JobState::Completed);
    assert!(done.finished_at.is_some());
    assert!(done.lease_until.is_none());
    assert!(!cx.q.complete(id, 1).await.unwrap(), "completing twice");
    cx.claim_none("sync").await;
    assert!(cx.q.get(id + 1000).await.unwrap().is_none());
}

async fn claim_order(cx: &Ctx) {
    let with_priority = |p| NewJob {
        priority: p,
        ..new_job("q")
    };
    let late =
        cx.q.enqueue(&NewJob {
            delay: Duration::from_millis(5),
            ..with_priority(1)
        })
        .await
        .unwrap();
    let early = cx.q.enqueue(&with_priority(1)).await.unwrap();
    let low = cx.q.enqueue(&with_priority(5)).await.unwrap();
    let urgent = cx.q.enqueue(&with_priority(-1)).await.unwrap();
    let plain_a = cx.q.enqueue(&with_priority(0)).await.unwrap();
    let plain_b = cx.q.enqueue(&with_priority(0)).await.unwrap();
    // `late` has the lower id but becomes due after `early`: run_at wins.
    assert!(cx.job(late).await.run_at > cx.job(early).await.run_at);
    cx.until_due(late).await;
    let expected = [urgent, plain_a, plain_b, early, late, low];

    let first_two = cx.q.claim("q", "w1", LONG, 2).await.unwrap();
    assert_eq!(
        first_two.iter().map(|j| j.id).collect::<Vec<_>>(),
        expected[..2]
    );
    let mut rest = Vec::new();
    for _ in 2..expected.len() {
        rest.push(cx.claim_one("q").await.id);
    }
    assert_eq!(rest, expected[2..]);
    cx.claim_none("q").await;
}

async fn delayed_jobs_wait(cx: &Ctx) {
    let later =
        cx.q.enqueue(&NewJob {
            delay: Duration::from_secs(60),
            ..new_job("q")
        })
        .await
        .unwrap();
    let now = cx.now();
    assert_near(cx.job(later).await.run_at, now + 60_000, SLACK_MS, "run_at");
    let soon =
        cx.q.enqueue(&NewJob {
            delay: Duration::from_millis(300),
            ..new_job("q")
        })
        .await
        .unwrap();
    cx.claim_none("q").await;
    cx.advance(Duration::from_millis(299));
    cx.claim_none("q").await;
    // Due at its run_at exactly.
    cx.advance(Duration::from_millis(1));
    assert_eq!(cx.claim_one("q").await.id, soon);
    cx.claim_none("q").await;
    cx.until_due(later).await;
    assert_eq!(cx.claim_one("q").await.id, later);
}

async fn exclusive_key(cx: &Ctx) {
    let k1 = cx.q.enqueue(&keyed("q", "k")).await.unwrap();
    let k2 = cx.q.enqueue(&keyed("q", "k")).await.unwrap();
    let k3 = cx.q.enqueue(&keyed("q", "k")).await.unwrap();
    let other = cx.q.enqueue(&keyed("q", "other")).await.unwrap();
    let free = cx.q.enqueue(&new_job("q")).await.unwrap();
    // One batch never takes two jobs of one key.
    let batch = cx.q.claim("q", "w1", LONG, 10).await.unwrap();
    let mut ids: Vec<i64> = batch.iter().map(|j| j.id).collect();
    ids.sort();
    assert_eq!(ids, [k1, other, free]);
    cx.claim_none("q").await;
    // A running key also blocks jobs of it in other queues.
    let elsewhere = cx.q.enqueue(&keyed("q2", "k")).await.unwrap();
    cx.claim_none("q2").await;

    assert!(cx.q.complete(k1, 1).await.unwrap());
    assert_eq!(cx.claim_one("q").await.id, k2);
    cx.claim_none("q").await;
    cx.claim_none("q2").await;
    assert!(matches!(
        cx.q.fail(k2, 1, &retryable()).await.unwrap(),
        FailOutcome::Retrying { .. }
    ));
    // k2 waits for its backoff; the key is free, so k3 may run meanwhile.
    assert_eq!(cx.claim_one("q").await.id, k3);
    assert!(cx.q.complete(k3, 1).await.unwrap());
    assert_eq!(cx.claim_one("q2").await.id, elsewhere);
}

async fn wait_for_metadata(cx: &Ctx) {
    let cfg = cx.config("c1").await;
    let other_cfg = cx.config("c2").await;
    let mut job = NewJob::sync(cfg, JobKind::Resync, "missing reference");
    job.wait_for_metadata = true;
    let id = cx.q.enqueue(&job).await.unwrap();
    assert!(cx.job(id).await.wait_for_metadata);
    cx.claim_none("sync").await;
    assert!(!cx.q.has_pending(cfg).await.unwrap());
    assert_eq!(cx.q.release_metadata_waiters(other_cfg).await.unwrap(), 0);
    cx.claim_none("sync").await;
    assert_eq!(cx.q.release_metadata_waiters(cfg).await.unwrap(), 1);
    assert!(cx.q.has_pending(cfg).await.unwrap());
    assert_eq!(cx.q.release_metadata_waiters(cfg).await.unwrap(), 0);
    let claimed = cx.claim_one("sync").await;
    assert_eq!(claimed.id, id);
    assert!(!claimed.wait_for_metadata);
    assert!(
        cx.q.has_pending(cfg).await.unwrap(),
        "running counts as pending"
    );
    assert!(cx.q.complete(id, 1).await.unwrap());
    assert!(!cx.q.has_pending(cfg).await.unwrap());
}

async fn heartbeat(cx: &Ctx) {
    let id = cx.q.enqueue(&new_job("q")).await.unwrap();
    let job = cx.q.claim("q", "w1", SHORT, 1).await.unwrap().remove(0);
    assert!(
        cx.q.heartbeat(id, job.attempt, Duration::from_secs(10))
            .await
            .unwrap()
    );
    let now = cx.now();
    assert_near(
        cx.job(id).await.lease_until.unwrap(),
        now + 10_000,
        SLACK_MS,
        "renewed lease",
    );
    cx.advance(Duration::from_millis(300));
    assert!(
        reclaimed_ids(&cx.q).await.is_empty(),
        "renewed lease expired"
    );
    assert!(
        !cx.q.heartbeat(id, job.attempt + 1, LONG).await.unwrap(),
        "wrong attempt"
    );
    assert!(cx.q.heartbeat(id, job.attempt, SHORT).await.unwrap());
    cx.advance(Duration::from_millis(300));
    assert_eq!(reclaimed_ids(&cx.q).await, [id]);
    assert!(
        !cx.q.heartbeat(id, job.attempt, LONG).await.unwrap(),
        "lost job renewed"
    );
    assert_eq!(cx.job(id).await.state, JobState::Queued);
}

async fn lease_expiry_and_fencing(cx: &Ctx) {
    let id =
        cx.q.enqueue(&NewJob {
            max_attempts: 2,
            ..new_job("q")
        })
        .await
        .unwrap();
    let first = cx.q.claim("q", "w1", SHORT, 1).await.unwrap().remove(0);
    assert_eq!(first.attempt, 1);
    cx.advance(Duration::from_millis(300));
    assert!(
        cx.q.reclaim_expired(Some("w1")).await.unwrap().is_empty(),
        "a worker never reclaims its own live run"
    );
    assert_eq!(reclaimed_ids(&cx.q).await, [id]);
    let reclaimed = cx.job(id).await;
    assert_eq!(reclaimed.state, JobState::Queued);
    assert_eq!(reclaimed.attempt, 1, "the expired run counts");
    assert_eq!(reclaimed.error_kind.as_deref(), Some("lease_expired"));
    assert!(reclaimed.locked_by.is_none() && reclaimed.lease_until.is_none());
    let now = cx.now();
    assert!(
        reclaimed.run_at >= now + 30_000 - SLACK_MS && reclaimed.run_at <= now + 33_000 + SLACK_MS
    );
    assert!(reclaimed_ids(&cx.q).await.is_empty());

    // The old worker wakes up: all of its writes are refused.
    assert!(!cx.q.complete(id, 1).await.unwrap());
    assert_eq!(
        cx.q.fail(id, 1, &retryable()).await.unwrap(),
        FailOutcome::Lost
    );
    assert!(!cx.q.requeue(id, 1, "shutdown").await.unwrap());
    assert!(
        !cx.q
            .save_progress(id, 1, &JobProgress::default(), &[])
            .await
            .unwrap()
    );

    cx.claim_none("q").await;
    cx.until_due(id).await;
    let second = cx.q.claim("q", "w2", SHORT, 1).await.unwrap().remove(0);
    assert_eq!(second.attempt, 2);
    assert!(
        !cx.q.complete(id, 1).await.unwrap(),
        "late completion of run 1"
    );
    assert_eq!(cx.job(id).await.state, JobState::Running);
    cx.advance(Duration::from_millis(300));
    // Exhausted: failed, never queued again, and reported as final so the
    // worker can log it and apply the cooldown.
    let reclaimed = cx.q.reclaim_expired(None).await.unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(
        (reclaimed[0].id, reclaimed[0].attempt, reclaimed[0].outcome),
        (id, 2, FailOutcome::Failed)
    );
    assert!(reclaimed[0].error.contains("w2"), "{}", reclaimed[0].error);
    let failed = cx.job(id).await;
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error_kind.as_deref(), Some("lease_expired"));
    assert!(failed.finished_at.is_some());
    assert!(!cx.q.complete(id, 2).await.unwrap());
    cx.claim_none("q").await;
}

async fn completion_clears_earlier_errors(cx: &Ctx) {
    let id = cx.q.enqueue(&new_job("q")).await.unwrap();
    let first = cx.claim_one("q").await;
    cx.q.fail(id, first.attempt, &retryable()).await.unwrap();
    assert_eq!(cx.job(id).await.last_error.as_deref(), Some("HTTP 503"));
    cx.until_due(id).await;
    let second = cx.claim_one("q").await;
    assert!(cx.q.complete(id, second.attempt).await.unwrap());
    let done = cx.job(id).await;
    assert_eq!(done.state, JobState::Completed);
    assert_eq!((done.last_error, done.error_kind), (None, None));
}

async fn retry_backoff(cx: &Ctx) {
    let id = cx.q.enqueue(&new_job("q")).await.unwrap();
    // Run n fails: due again after 30 s × 2^(n-1), plus at most 10% jitter.
    for (attempt, base) in [(1u32, 30_000i64), (2, 60_000)] {
        let job = cx.claim_one("q").await;
        assert_eq!(job.attempt, attempt);
        let FailOutcome::Retrying { run_at } = cx.q.fail(id, attempt, &retryable()).await.unwrap()
        else {
            panic!("run {attempt} should be retried");
        };
        let now = cx.now();
        assert!(
            run_at >= now + base - SLACK_MS && run_at <= now + base + base / 10 + SLACK_MS,
            "run {attempt}: due in {} ms",
            run_at - now
        );
        let stored = cx.job(id).await;
        assert_eq!(stored.state, JobState::Queued);
        assert_eq!(stored.run_at, run_at);
        assert_eq!(stored.attempt, attempt);
        assert_eq!(stored.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(stored.error_kind.as_deref(), Some("transient"));
        assert!(stored.finished_at.is_none() && stored.locked_by.is_none());
        cx.claim_none("q").await;
        cx.until_due(id).await;
    }
    let job = cx.claim_one("q").await;
    assert_eq!(job.attempt, 3);
    assert_eq!(
        cx.q.fail(id, 3, &retryable()).await.unwrap(),
        FailOutcome::Failed
    );
    let failed = cx.job(id).await;
    assert_eq!(failed.state, JobState::Failed);
    assert!(failed.finished_at.is_some());
    assert_eq!(
        cx.q.fail(id, 3, &retryable()).await.unwrap(),
        FailOutcome::Lost
    );
    // Failed for good: not queued, and not claimable however late it gets.
    assert_ne!(cx.job(id).await.state, JobState::Queued);
    cx.advance(Duration::from_secs(24 * 3600));
    cx.claim_none("q").await;
}

async fn permanent_failure(cx: &Ctx) {
    let id = cx.q.enqueue(&new_job("q")).await.unwrap();
    cx.claim_one("q").await;
    let auth = Failure::Permanent {
        error: "HTTP 401".into(),
        kind: "auth".into(),
    };
    assert_eq!(cx.q.fail(id, 1, &auth).await.unwrap(), FailOutcome::Failed);
    let job = cx.job(id).await;
    assert_eq!((job.state, job.attempt), (JobState::Failed, 1));
    assert_eq!(job.error_kind.as_deref(), Some("auth"));
    cx.claim_none("q").await;
}

async fn requeue(cx: &Ctx) {
    let id = cx.q.enqueue(&new_job("q")).await.unwrap();
    assert_eq!(cx.claim_one("q").await.attempt, 1);
    assert!(cx.q.requeue(id, 1, "daemon shutting down").await.unwrap());
    let job = cx.job(id).await;
    assert_eq!((job.state, job.attempt), (JobState::Queued, 0));
    assert!(job.locked_by.is_none() && job.lease_until.is_none());
    assert!(!cx.q.requeue(id, 1, "again").await.unwrap());
    let again = cx.claim_one("q").await;
    assert_eq!(
        (again.id, again.attempt),
        (id, 1),
        "due at once, run not counted"
    );
}

async fn retry_clear_cancel(cx: &Ctx) {
    let cfg = cx.config("c1").await;
    let other = cx.config("c2").await;
    let permanent = Failure::Permanent {
        error: "bad".into(),
        kind: "config".into(),
    };
    let sync_job = |config_id| NewJob {
        exclusive_key: None,
        ..NewJob::sync(config_id, JobKind::Manual, "t")
    };
    let failed_a = cx.q.enqueue(&sync_job(cfg)).await.unwrap();
    let failed_b = cx.q.enqueue(&sync_job(other)).await.unwrap();
    let running = cx.q.enqueue(&sync_job(cfg)).await.unwrap();
    let completed = cx.q.enqueue(&sync_job(other)).await.unwrap();
    for _ in 0..4 {
        cx.claim_one("sync").await;
    }
    cx.q.fail(failed_a, 1, &permanent).await.unwrap();
    cx.q.fail(failed_b, 1, &permanent).await.unwrap();
    assert!(cx.q.complete(completed, 1).await.unwrap());
    let queued = cx.q.enqueue(&sync_job(cfg)).await.unwrap();
    let queued_other = cx.q.enqueue(&sync_job(other)).await.unwrap();

    // retry one
    assert!(cx.q.retry(failed_a).await.unwrap());
    let job = cx.job(failed_a).await;
    assert_eq!((job.state, job.attempt), (JobState::Queued, 0));
    assert!(job.finished_at.is_none());
    assert!(!cx.q.retry(failed_a).await.unwrap(), "already queued");
    assert!(!cx.q.retry(running).await.unwrap());
    assert!(!cx.q.retry(completed).await.unwrap());

    // cancel_queued: only queued jobs of that config
    assert_eq!(cx.q.cancel_queued(cfg).await.unwrap(), 2); // failed_a (retried) + queued
    assert_eq!(cx.job(queued).await.state, JobState::Cancelled);
    assert_eq!(cx.job(running).await.state, JobState::Running);
    assert_eq!(cx.job(queued_other).await.state, JobState::Queued);
    assert!(cx.q.has_pending(cfg).await.unwrap(), "running job");
    assert!(
        cx.q.retry(queued).await.unwrap(),
        "cancelled jobs can be retried"
    );
    assert_eq!(cx.q.cancel_queued(cfg).await.unwrap(), 1);

    // retry all
    let failed_c = cx.q.enqueue(&sync_job(other)).await.unwrap();
    cx.q.cancel_queued(other).await.unwrap(); // queued_other, failed_c → cancelled
    assert_eq!(cx.q.retry_all_failed().await.unwrap(), 1, "failed_b only");
    assert_eq!(cx.job(failed_b).await.state, JobState::Queued);
    assert_eq!(cx.job(failed_c).await.state, JobState::Cancelled);

    // clear: queued, failed, cancelled; never running (or completed)
    assert_eq!(cx.q.clear().await.unwrap(), 5);
    let left: Vec<i64> =
        cx.q.list(&JobFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
    assert_eq!(left, [completed, running]);
    assert!(cx.q.complete(running, 1).await.unwrap());
}

async fn prune_finished(cx: &Ctx) {
    let done = cx.q.enqueue(&new_job("q")).await.unwrap();
    let failed = cx.q.enqueue(&new_job("q")).await.unwrap();
    let running = cx.q.enqueue(&new_job("q")).await.unwrap();
    cx.q.claim("q", "w1", LONG, 3).await.unwrap();
    let queued = cx.q.enqueue(&new_job("q")).await.unwrap();
    cx.q.complete(done, 1).await.unwrap();
    let auth = Failure::Permanent {
        error: "401".into(),
        kind: "auth".into(),
    };
    cx.q.fail(failed, 1, &auth).await.unwrap();
    assert_eq!(
        cx.q.prune_finished(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    cx.advance(Duration::from_millis(20));
    assert_eq!(cx.q.prune_finished(Duration::ZERO).await.unwrap(), 2);
    let mut left: Vec<i64> =
        cx.q.list(&JobFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
    left.sort();
    assert_eq!(left, [running, queued]);
}

fn resource(name: &str, position: u32, status: ResourceStatus, synced: u64) -> ResourceProgress {
    ResourceProgress {
        resource: name.into(),
        label: format!("Label of {name}"),
        rtype: if name.starts_with("metadata") {
            "metadata"
        } else {
            "data"
        }
        .into(),
        position,
        status,
        total: 1_000,
        processed: synced + 2,
        synced,
        errors: 2,
        speed: 123.5,
        message: (status == ResourceStatus::Failed).then(|| "conflict".to_string()),
    }
}

async fn save_progress(cx: &Ctx) {
    let id = cx.q.enqueue(&new_job("q")).await.unwrap();
    let job = cx.claim_one("q").await;
    assert!(job.progress_at.is_none());
    let progress = JobProgress {
        expected: 5_000,
        processed: 1_200,
        synced: 1_150,
        errors: 50,
        speed: 321.25,
        current_step: Some("data values".into()),
        current_resource: Some("dataValues:ds1".into()),
    };
    let resources = vec![
        resource("metadata:dataElements", 0, ResourceStatus::Done, 1_000),
        resource("dataValues:ds1", 1, ResourceStatus::Running, 150),
    ];
    assert!(
        cx.q.save_progress(id, 1, &progress, &resources)
            .await
            .unwrap()
    );
    let stored = cx.job(id).await;
    assert_eq!(stored.progress, progress);
    assert!(stored.progress_at.is_some());
    assert_eq!(cx.q.resources(id).await.unwrap(), resources);

    // Upsert: one row changes, one is added, the untouched one stays.
    let progress2 = JobProgress {
        processed: 2_000,
        current_step: None,
        ..progress.clone()
    };
    let update = vec![
        resource("dataValues:ds1", 1, ResourceStatus::Failed, 900),
        resource("dataValues:ds2", 2, ResourceStatus::Pending, 0),
    ];
    assert!(
        cx.q.save_progress(id, 1, &progress2, &update)
            .await
            .unwrap()
    );
    let mut expected = vec![resources[0].clone()];
    expected.extend(update.clone());
    assert_eq!(cx.q.resources(id).await.unwrap(), expected);
    assert_eq!(cx.job(id).await.progress, progress2);

    // Fenced: a stale attempt changes nothing, not even resource rows.
    let stale = vec![resource("dataValues:ds3", 3, ResourceStatus::Done, 1)];
    assert!(!cx.q.save_progress(id, 2, &progress, &stale).await.unwrap());
    assert_eq!(cx.q.resources(id).await.unwrap(), expected);
    assert_eq!(cx.job(id).await.progress, progress2);
    assert!(cx.q.resources(id + 1000).await.unwrap().is_empty());
}

async fn list_filters(cx: &Ctx) {
    let a = cx.config("a").await;
    let b = cx.config("b").await;
    let unkeyed = |cfg| NewJob {
        exclusive_key: None,
        ..NewJob::sync(cfg, JobKind::Incremental, "t")
    };
    let a1 = cx.q.enqueue(&unkeyed(a)).await.unwrap();
    let a2 = cx.q.enqueue(&unkeyed(a)).await.unwrap();
    let b1 = cx.q.enqueue(&unkeyed(b)).await.unwrap();
    let bench = cx.q.enqueue(&new_job("bench")).await.unwrap();
    assert_eq!(cx.claim_one("sync").await.id, a1);
    let ids = |jobs: Vec<Job>| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    let list = |f: JobFilter| async move { ids(cx.q.list(&f).await.unwrap()) };

    assert_eq!(list(JobFilter::default()).await, [bench, b1, a2, a1]);
    assert_eq!(
        list(JobFilter {
            config_id: Some(a),
            ..Default::default()
        })
        .await,
        [a2, a1]
    );
    assert_eq!(
        list(JobFilter {
            states: vec![JobState::Running],
            ..Default::default()
        })
        .await,
        [a1]
    );
    assert_eq!(
        list(JobFilter {
            states: vec![JobState::Queued, JobState::Failed],
            queue: Some("sync".into()),
            ..Default::default()
        })
        .await,
        [b1, a2]
    );
    let count = |f: JobFilter| async move { cx.q.count(&f).await.unwrap() };
    assert_eq!(count(JobFilter::default()).await, 4);
    assert_eq!(
        count(JobFilter {
            config_id: Some(a),
            states: vec![JobState::Queued],
            limit: 1,
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        list(JobFilter {
            config_id: Some(b),
            states: vec![JobState::Queued],
            queue: Some("sync".into()),
            limit: 5,
        })
        .await,
        [b1]
    );
    assert_eq!(
        list(JobFilter {
            limit: 2,
            ..Default::default()
        })
        .await,
        [bench, b1]
    );
    assert!(
        list(JobFilter {
            queue: Some("none".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
}

/// Production binds no time: the same statements on the database clock
/// (`COALESCE(NULL, <database now>)`) for enqueue, claim, heartbeat, the
/// reaper's retry path and completion. Times are bounded by the database's
/// clock read before and after each step.
async fn database_clock(cx: &Ctx) {
    let q = cx.store.queue();
    let db_now = || async { cx.store.now_ms().await.unwrap() };
    let within = |actual: i64, from: i64, to: i64, what: &str| {
        assert!(
            (from..=to).contains(&actual),
            "{what}: {actual} is not within {from}..={to}"
        );
    };
    let t0 = db_now().await;
    let due = q.enqueue(&new_job("db")).await.unwrap();
    let later = q
        .enqueue(&NewJob {
            delay: Duration::from_secs(3600),
            ..new_job("db")
        })
        .await
        .unwrap();
    let t1 = db_now().await;
    let job = q.get(due).await.unwrap().unwrap();
    within(job.created_at, t0, t1, "created_at");
    within(job.run_at, t0, t1, "run_at");
    let job = q.get(later).await.unwrap().unwrap();
    within(job.run_at, t0 + 3_600_000, t1 + 3_600_000, "delayed run_at");

    let claimed = q.claim("db", "w1", LONG, 10).await.unwrap();
    let t2 = db_now().await;
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [due]);
    within(
        claimed[0].lease_until.unwrap(),
        t1 + 30_000,
        t2 + 30_000,
        "lease_until",
    );
    assert!(q.reclaim_expired(None).await.unwrap().is_empty());

    // A lease of zero expires as soon as the database clock moves on: poll
    // the reaper until it does (never more than a few ms).
    assert!(q.heartbeat(due, 1, Duration::ZERO).await.unwrap());
    let t3 = db_now().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let reclaimed = loop {
        let reclaimed = q.reclaim_expired(None).await.unwrap();
        if !reclaimed.is_empty() {
            break reclaimed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a zero lease did not expire on the database clock within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let t4 = db_now().await;
    assert_eq!(
        (reclaimed.len(), reclaimed[0].id, reclaimed[0].attempt),
        (1, due, 1)
    );
    let FailOutcome::Retrying { run_at } = reclaimed[0].outcome else {
        panic!("the expired run should be retried: {reclaimed:?}");
    };
    within(run_at, t3 + 30_000, t4 + 33_000, "retry run_at");
    assert!(q.claim("db", "w1", LONG, 10).await.unwrap().is_empty());

    let id = q.enqueue(&new_job("db2")).await.unwrap();
    let job = q.claim("db2", "w1", LONG, 1).await.unwrap().remove(0);
    assert!(q.complete(id, job.attempt).await.unwrap());
    let t5 = db_now().await;
    within(
        q.get(id).await.unwrap().unwrap().finished_at.unwrap(),
        t4,
        t5,
        "finished_at",
    );
}

/// `workers` tasks claim (batches of `batch`) and complete until the queue
/// is empty; returns the completed ids.
async fn burn_down(q: &Arc<dyn QueueStore>, queue: &str, workers: usize, batch: u32) -> Vec<i64> {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let q = q.clone();
        let queue = queue.to_string();
        tasks.push(tokio::spawn(async move {
            let name = format!("w{w}");
            let mut done = Vec::new();
            loop {
                let jobs = q.claim(&queue, &name, LONG, batch).await.unwrap();
                if jobs.is_empty() {
                    break;
                }
                for job in jobs {
                    assert_eq!(job.attempt, 1, "job {} claimed twice", job.id);
                    assert!(q.complete(job.id, job.attempt).await.unwrap());
                    done.push(job.id);
                }
            }
            done
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn racing_workers(cx: &Ctx) {
    // 4 workers claiming one at a time, then 8 claiming batches of 7.
    for (round, workers, batch) in [(0, 4, 1), (1, 8, 7)] {
        let queue = format!("race{round}");
        let jobs: Vec<NewJob> = (0..500).map(|_| new_job(&queue)).collect();
        let mut ids = cx.q.enqueue_many(&jobs).await.unwrap();
        assert_eq!(ids.len(), 500);
        let mut done = burn_down(&cx.q, &queue, workers, batch).await;
        done.sort();
        ids.sort();
        assert_eq!(done, ids, "{workers} workers: every job exactly once");
        let completed =
            cx.q.list(&JobFilter {
                states: vec![JobState::Completed],
                queue: Some(queue),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(completed.len(), 500);
        assert!(completed.iter().all(|j| j.attempt == 1));
    }
}

/// Workers racing on keyed jobs: a key never runs twice at once, and every
/// job still runs exactly once.
async fn racing_workers_exclusive_keys(cx: &Ctx) {
    let jobs: Vec<NewJob> = (0..100)
        .map(|i| keyed("race", &format!("k{}", i % 5)))
        .collect();
    let ids = cx.q.enqueue_many(&jobs).await.unwrap();
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..6 {
        let q = cx.q.clone();
        let running = running.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("w{w}");
            let mut done = Vec::new();
            let mut idle = 0;
            while idle < 50 {
                let jobs = q.claim("race", &name, LONG, 3).await.unwrap();
                if jobs.is_empty() {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                idle = 0;
                for job in &jobs {
                    let key = job.exclusive_key.clone().unwrap();
                    assert!(running.lock().unwrap().insert(key), "key ran twice at once");
                }
                tokio::task::yield_now().await;
                for job in jobs {
                    // Release before completing: the next job of the key can
                    // only be claimed once the completion commits.
                    running
                        .lock()
                        .unwrap()
                        .remove(job.exclusive_key.as_deref().unwrap());
                    assert!(q.complete(job.id, job.attempt).await.unwrap());
                    done.push(job.id);
                }
            }
            done
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.extend(t.await.unwrap());
    }
    done.sort();
    let mut expected = ids;
    expected.sort();
    assert_eq!(done, expected);
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let cx = super::Ctx::sqlite().await;
                    super::$name(&cx).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(cx) = super::Ctx::postgres().await else { return };
                    super::$name(&cx).await;
                }
            )*
        }
    };
}

conformance!(
    enqueue_claim_complete,
    claim_order,
    delayed_jobs_wait,
    exclusive_key,
    wait_for_metadata,
    heartbeat,
    lease_expiry_and_fencing,
    retry_backoff,
    completion_clears_earlier_errors,
    permanent_failure,
    requeue,
    retry_clear_cancel,
    prune_finished,
    save_progress,
    list_filters,
    database_clock,
    racing_workers,
    racing_workers_exclusive_keys,
);
