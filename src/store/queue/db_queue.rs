//! The queue statements both dialects share (everything but the claim), the
//! one row decoder, and small helpers. Statements are written once with `$N`
//! placeholders ([`Sql`]) and run on the right pool by `on_db!`.

use std::time::Duration;

use super::{
    FailOutcome, Failure, Job, JobFilter, JobKind, JobProgress, JobState, NewJob, Reclaimed,
    ResourceProgress, ResourceStatus, retry_delay_from,
};
use crate::store::{Result, RowExt, Sql, Store, StoreError};

/// Longest delay or lease we write: keeps `now + ms` far from i64 overflow.
const MAX_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(MAX_MS).min(MAX_MS)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Delay in ms before the run after `attempt` runs, plus up to 10% jitter so
/// jobs that failed together (an outage) do not come back in lockstep.
pub(super) fn retry_delay_ms(retry_base: Duration, attempt: u32) -> i64 {
    let base = ms(retry_delay_from(retry_base, attempt));
    let spread = u64::try_from(base / 10).unwrap_or(0);
    base + i64::try_from(rand::random_range(0..=spread)).unwrap_or(0)
}

/// The claim's candidate rows `j`: due, queued, not waiting for metadata, and,
/// for a keyed job, no running job with its key and no earlier candidate with
/// it, so one claim never takes two jobs of one key. `$1` = queue.
pub(super) fn claim_candidates(now: &str) -> String {
    format!(
        "j.queue = $1 AND j.state = 'queued' AND j.run_at <= {now} AND j.wait_for_metadata = 0
         AND (j.exclusive_key IS NULL OR (
             NOT EXISTS (SELECT 1 FROM jobs r
                         WHERE r.exclusive_key = j.exclusive_key AND r.state = 'running')
             AND NOT EXISTS (SELECT 1 FROM jobs o
                         WHERE o.exclusive_key = j.exclusive_key AND o.state = 'queued'
                           AND o.queue = j.queue AND o.run_at <= {now} AND o.wait_for_metadata = 0
                           AND (o.priority, o.run_at, o.id) < (j.priority, j.run_at, j.id))))"
    )
}

/// The claim's `SET`: `$2` = worker, `$3` = lease in ms.
pub(super) fn claim_set(now: &str) -> String {
    format!(
        "state = 'running', attempt = attempt + 1, locked_by = $2, lease_until = {now} + $3,
         started_at = COALESCE(started_at, {now})"
    )
}

/// `RETURNING` order is unspecified: hand jobs out in claim order.
pub(super) fn in_claim_order(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    jobs
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

fn u64_col(r: &impl RowExt, col: &str) -> Result<u64> {
    let v = r.i64(col)?;
    u64::try_from(v).map_err(|_| corrupt(format!("jobs.{col} is negative ({v})")))
}

fn u32_col(r: &impl RowExt, col: &str) -> Result<u32> {
    let v = r.i64(col)?;
    u32::try_from(v).map_err(|_| corrupt(format!("{col} is out of range ({v})")))
}

/// One decoder for `jobs` rows of both dialects.
pub(super) fn job_from_row(r: &impl RowExt) -> Result<Job> {
    let kind = r.text("kind")?;
    let state = r.text("state")?;
    let priority = r.i64("priority")?;
    Ok(Job {
        id: r.i64("id")?,
        queue: r.text("queue")?,
        config_id: r.opt_i64("config_id")?,
        exclusive_key: r.opt_text("exclusive_key")?,
        kind: JobKind::parse(&kind).ok_or_else(|| corrupt(format!("unknown job kind {kind:?}")))?,
        reason: r.text("reason")?,
        resources: r.json("resources")?,
        state: JobState::parse(&state)
            .ok_or_else(|| corrupt(format!("unknown job state {state:?}")))?,
        wait_for_metadata: r.flag("wait_for_metadata")?,
        attempt: u32_col(r, "attempt")?,
        max_attempts: u32_col(r, "max_attempts")?,
        priority: i32::try_from(priority)
            .map_err(|_| corrupt(format!("priority is out of range ({priority})")))?,
        run_at: r.i64("run_at")?,
        locked_by: r.opt_text("locked_by")?,
        lease_until: r.opt_i64("lease_until")?,
        created_at: r.i64("created_at")?,
        started_at: r.opt_i64("started_at")?,
        finished_at: r.opt_i64("finished_at")?,
        progress: JobProgress {
            expected: u64_col(r, "expected")?,
            processed: u64_col(r, "processed")?,
            synced: u64_col(r, "synced")?,
            errors: u64_col(r, "errors")?,
            speed: r.f64("speed")?,
            current_step: r.opt_text("current_step")?,
            current_resource: r.opt_text("current_resource")?,
        },
        progress_at: r.opt_i64("progress_at")?,
        last_error: r.opt_text("last_error")?,
        error_kind: r.opt_text("error_kind")?,
    })
}

fn resource_from_row(r: &impl RowExt) -> Result<ResourceProgress> {
    let status = r.text("status")?;
    Ok(ResourceProgress {
        resource: r.text("resource")?,
        rtype: r.text("rtype")?,
        position: u32_col(r, "position")?,
        status: ResourceStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("unknown resource status {status:?}")))?,
        total: u64_col(r, "total")?,
        processed: u64_col(r, "processed")?,
        synced: u64_col(r, "synced")?,
        errors: u64_col(r, "errors")?,
        speed: r.f64("speed")?,
        message: r.opt_text("message")?,
    })
}

fn insert_sql(store: &Store) -> Sql {
    let now = store.now_expr();
    Sql::new(
        store,
        &format!(
            "INSERT INTO jobs (queue, config_id, exclusive_key, kind, reason, resources, state,
                               wait_for_metadata, max_attempts, priority, run_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, {now} + $10, {now})
             RETURNING id"
        ),
    )
}

/// A checked `NewJob` in column form.
struct JobRow<'a> {
    job: &'a NewJob,
    resources: String,
}

impl<'a> JobRow<'a> {
    fn new(job: &'a NewJob) -> Result<JobRow<'a>> {
        if job.max_attempts == 0 {
            return Err(StoreError::Invalid(
                "a job needs max_attempts of at least 1".into(),
            ));
        }
        let resources = serde_json::to_string(&job.resources)
            .map_err(|e| StoreError::Invalid(format!("job resources: {e}")))?;
        Ok(JobRow { job, resources })
    }
}

/// Binds a [`JobRow`] to the statement of [`insert_sql`].
macro_rules! bind_job {
    ($query:expr, $row:expr) => {
        $query
            .bind($row.job.queue.as_str())
            .bind($row.job.config_id)
            .bind($row.job.exclusive_key.as_deref())
            .bind($row.job.kind.as_str())
            .bind($row.job.reason.as_str())
            .bind($row.resources.as_str())
            .bind(i64::from($row.job.wait_for_metadata))
            .bind(i64::from($row.job.max_attempts))
            .bind(i64::from($row.job.priority))
            .bind(ms($row.job.delay))
    };
}

pub(super) async fn enqueue(store: &Store, job: &NewJob) -> Result<i64> {
    let row = JobRow::new(job)?;
    let sql = insert_sql(store);
    let id: i64 = on_db!(store, write, |pool| bind_job!(
        sqlx::query_scalar(sql.text()),
        row
    )
    .fetch_one(pool)
    .await?);
    Ok(id)
}

pub(super) async fn enqueue_many(store: &Store, jobs: &[NewJob]) -> Result<Vec<i64>> {
    let rows = jobs.iter().map(JobRow::new).collect::<Result<Vec<_>>>()?;
    let sql = insert_sql(store);
    let mut ids = Vec::with_capacity(rows.len());
    on_db!(store, write, |pool| {
        let mut tx = pool.begin().await?;
        for row in &rows {
            let id: i64 = bind_job!(sqlx::query_scalar(sql.text()), row)
                .fetch_one(&mut *tx)
                .await?;
            ids.push(id);
        }
        tx.commit().await?;
    });
    Ok(ids)
}

/// The fence every finish writes under.
const FENCE: &str = "id = $1 AND attempt = $2 AND state = 'running'";

/// Runs a fenced `UPDATE jobs SET {set} WHERE {FENCE}` with `$3…` bound to
/// `extra` (i64 values); `true` if it still owned the job.
async fn fenced_update(
    store: &Store,
    set: &str,
    id: i64,
    attempt: u32,
    extra: &[i64],
) -> Result<bool> {
    let sql = Sql::new(store, &format!("UPDATE jobs SET {set} WHERE {FENCE}"));
    let n = on_db!(store, write, |pool| {
        let mut q = sqlx::query(sql.text()).bind(id).bind(i64::from(attempt));
        for v in extra {
            q = q.bind(*v);
        }
        q.execute(pool).await?.rows_affected()
    });
    Ok(n == 1)
}

pub(super) async fn heartbeat(
    store: &Store,
    id: i64,
    attempt: u32,
    lease: Duration,
) -> Result<bool> {
    let set = format!("lease_until = {} + $3", store.now_expr());
    fenced_update(store, &set, id, attempt, &[ms(lease)]).await
}

pub(super) async fn complete(store: &Store, id: i64, attempt: u32) -> Result<bool> {
    // locked_by stays: it tells the history which worker ran the job.
    // The errors of earlier attempts are history once the job succeeded.
    let set = format!(
        "state = 'completed', finished_at = {}, lease_until = NULL, last_error = NULL,
         error_kind = NULL",
        store.now_expr()
    );
    fenced_update(store, &set, id, attempt, &[]).await
}

pub(super) async fn requeue(store: &Store, id: i64, attempt: u32, reason: &str) -> Result<bool> {
    let sql = Sql::new(
        store,
        &format!(
            "UPDATE jobs SET state = 'queued', attempt = attempt - 1, run_at = {},
                    locked_by = NULL, lease_until = NULL, last_error = $3, error_kind = 'requeued'
             WHERE {FENCE}",
            store.now_expr()
        ),
    );
    let n = on_db!(store, write, |pool| sqlx::query(sql.text())
        .bind(id)
        .bind(i64::from(attempt))
        .bind(reason)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// The retry path of `fail` and `reclaim_expired`: queued again after the
/// backoff if retryable and attempts remain, otherwise `failed`. `guard` is
/// an extra condition (the reaper re-checks the lease, so a heartbeat that
/// landed in between wins).
async fn fail_run(
    store: &Store,
    retry_base: Duration,
    id: i64,
    attempt: u32,
    failure: &Failure,
    guard: &str,
) -> Result<FailOutcome> {
    let (retryable, error, kind) = match failure {
        Failure::Retryable { error, kind } => (1i64, error, kind),
        Failure::Permanent { error, kind } => (0i64, error, kind),
    };
    let now = store.now_expr();
    let retry = "$3 = 1 AND attempt < max_attempts";
    let sql = Sql::new(
        store,
        &format!(
            "UPDATE jobs SET
                 state = CASE WHEN {retry} THEN 'queued' ELSE 'failed' END,
                 run_at = CASE WHEN {retry} THEN {now} + $4 ELSE run_at END,
                 finished_at = CASE WHEN {retry} THEN NULL ELSE {now} END,
                 locked_by = CASE WHEN {retry} THEN NULL ELSE locked_by END,
                 lease_until = NULL, last_error = $5, error_kind = $6
             WHERE {FENCE} {guard}
             RETURNING state, run_at"
        ),
    );
    let delay = retry_delay_ms(retry_base, attempt);
    let row: Option<(String, i64)> = on_db!(store, write, |pool| {
        // `fetch_all`, not `fetch_optional`: SQLite commits an autocommit
        // statement when it is stepped to the end, and a commit that fails
        // (disk full) is only reported there. Stopping after the first
        // RETURNING row would report a change that was rolled back.
        let rows = sqlx::query(sql.text())
            .bind(id)
            .bind(i64::from(attempt))
            .bind(retryable)
            .bind(delay)
            .bind(error.as_str())
            .bind(kind.as_str())
            .fetch_all(pool)
            .await?;
        match rows.first() {
            Some(r) => Some((r.text("state")?, r.i64("run_at")?)),
            None => None,
        }
    });
    Ok(match row {
        None => FailOutcome::Lost,
        Some((state, run_at)) if state == "queued" => FailOutcome::Retrying { run_at },
        Some(_) => FailOutcome::Failed,
    })
}

pub(super) async fn fail(
    store: &Store,
    retry_base: Duration,
    id: i64,
    attempt: u32,
    failure: &Failure,
) -> Result<FailOutcome> {
    fail_run(store, retry_base, id, attempt, failure, "").await
}

pub(super) async fn reclaim_expired(
    store: &Store,
    retry_base: Duration,
    own_worker: Option<&str>,
) -> Result<Vec<Reclaimed>> {
    let now = store.now_expr();
    let expired = format!("state = 'running' AND lease_until < {now}");
    // `own_worker` is bound as text ('' for none): no worker id is empty.
    let sql = Sql::new(
        store,
        &format!(
            "SELECT id, config_id, attempt, locked_by FROM jobs
             WHERE {expired} AND COALESCE(locked_by, '') <> $1
             ORDER BY id"
        ),
    );
    let candidates: Vec<(i64, Option<i64>, u32, Option<String>)> = on_db!(store, read, |pool| {
        sqlx::query(sql.text())
            .bind(own_worker.unwrap_or(""))
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.i64("id")?,
                    r.opt_i64("config_id")?,
                    u32_col(r, "attempt")?,
                    r.opt_text("locked_by")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?
    });
    let guard = format!("AND lease_until < {now}");
    let mut reclaimed = Vec::new();
    // One fenced update per job: each has its own attempt (so its own
    // backoff), and a job finished or renewed meanwhile is left alone.
    for (id, config_id, attempt, worker) in candidates {
        let error = format!(
            "the lease expired: worker {} stopped renewing it (crashed, hung or cut off)",
            worker.as_deref().unwrap_or("?")
        );
        let failure = Failure::Retryable {
            error: error.clone(),
            kind: "lease_expired".into(),
        };
        let outcome = fail_run(store, retry_base, id, attempt, &failure, &guard).await?;
        if outcome != FailOutcome::Lost {
            reclaimed.push(Reclaimed {
                id,
                config_id,
                attempt,
                outcome,
                error,
            });
        }
    }
    Ok(reclaimed)
}

pub(super) async fn save_progress(
    store: &Store,
    id: i64,
    attempt: u32,
    progress: &JobProgress,
    resources: &[ResourceProgress],
) -> Result<bool> {
    let job_sql = Sql::new(
        store,
        &format!(
            "UPDATE jobs SET expected = $3, processed = $4, synced = $5, errors = $6, speed = $7,
                    current_step = $8, current_resource = $9, progress_at = {}
             WHERE {FENCE}",
            store.now_expr()
        ),
    );
    let res_sql = Sql::new(
        store,
        "INSERT INTO job_resources (job_id, resource, rtype, position, status, total, processed,
                                    synced, errors, speed, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (job_id, resource) DO UPDATE SET
             rtype = excluded.rtype, position = excluded.position, status = excluded.status,
             total = excluded.total, processed = excluded.processed, synced = excluded.synced,
             errors = excluded.errors, speed = excluded.speed, message = excluded.message",
    );
    let owned = on_db!(store, write, |pool| {
        // One transaction: a reader never sees job totals from one save and
        // resource rows from another.
        let mut tx = pool.begin().await?;
        let n = sqlx::query(job_sql.text())
            .bind(id)
            .bind(i64::from(attempt))
            .bind(to_i64(progress.expected))
            .bind(to_i64(progress.processed))
            .bind(to_i64(progress.synced))
            .bind(to_i64(progress.errors))
            .bind(progress.speed)
            .bind(progress.current_step.as_deref())
            .bind(progress.current_resource.as_deref())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            for r in resources {
                sqlx::query(res_sql.text())
                    .bind(id)
                    .bind(r.resource.as_str())
                    .bind(r.rtype.as_str())
                    .bind(i64::from(r.position))
                    .bind(r.status.as_str())
                    .bind(to_i64(r.total))
                    .bind(to_i64(r.processed))
                    .bind(to_i64(r.synced))
                    .bind(to_i64(r.errors))
                    .bind(r.speed)
                    .bind(r.message.as_deref())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        n == 1
    });
    Ok(owned)
}

pub(super) async fn get(store: &Store, id: i64) -> Result<Option<Job>> {
    let sql = Sql::new(store, "SELECT * FROM jobs WHERE id = $1");
    let job = on_db!(store, read, |pool| {
        match sqlx::query(sql.text())
            .bind(id)
            .fetch_optional(pool)
            .await?
        {
            Some(r) => Some(job_from_row(&r)?),
            None => None,
        }
    });
    Ok(job)
}

/// A filter's `WHERE` clause and its arguments.
enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

fn filter_where(filter: &JobFilter) -> (String, Vec<Arg<'_>>) {
    let mut args = Vec::new();
    let mut text = String::from(" WHERE 1 = 1");
    if let Some(config_id) = filter.config_id {
        args.push(Arg::Int(config_id));
        text.push_str(&format!(" AND config_id = ${}", args.len()));
    }
    if let Some(queue) = &filter.queue {
        args.push(Arg::Text(queue));
        text.push_str(&format!(" AND queue = ${}", args.len()));
    }
    if !filter.states.is_empty() {
        let mut marks = Vec::new();
        for s in &filter.states {
            args.push(Arg::Text(s.as_str()));
            marks.push(format!("${}", args.len()));
        }
        text.push_str(&format!(" AND state IN ({})", marks.join(", ")));
    }
    (text, args)
}

/// Binds [`filter_where`]'s arguments.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(*v),
            };
        }
        q
    }};
}

pub(super) async fn list(store: &Store, filter: &JobFilter) -> Result<Vec<Job>> {
    let (clause, args) = filter_where(filter);
    let mut text = format!("SELECT * FROM jobs{clause} ORDER BY id DESC");
    if filter.limit > 0 {
        text.push_str(&format!(" LIMIT {}", filter.limit));
    }
    let sql = Sql::new(store, &text);
    let jobs = on_db!(store, read, |pool| {
        bind_args!(sqlx::query(sql.text()), &args)
            .fetch_all(pool)
            .await?
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>>>()?
    });
    Ok(jobs)
}

/// How many jobs match (the filter's `limit` is ignored).
pub(super) async fn count(store: &Store, filter: &JobFilter) -> Result<u64> {
    let (clause, args) = filter_where(filter);
    let sql = Sql::new(store, &format!("SELECT COUNT(*) FROM jobs{clause}"));
    let n: i64 = on_db!(store, read, |pool| bind_args!(
        sqlx::query_scalar(sql.text()),
        &args
    )
    .fetch_one(pool)
    .await?);
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn synced_total(store: &Store) -> Result<u64> {
    let sql = Sql::new(
        store,
        "SELECT CAST(COALESCE(SUM(synced), 0) AS BIGINT) FROM jobs",
    );
    let n: i64 = on_db!(store, read, |pool| sqlx::query_scalar(sql.text())
        .fetch_one(pool)
        .await?);
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn resources(store: &Store, id: i64) -> Result<Vec<ResourceProgress>> {
    let sql = Sql::new(
        store,
        "SELECT * FROM job_resources WHERE job_id = $1 ORDER BY position, resource",
    );
    let rows = on_db!(store, read, |pool| sqlx::query(sql.text())
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(resource_from_row)
        .collect::<Result<Vec<_>>>()?);
    Ok(rows)
}

/// Runs one write statement with i64 arguments; returns the rows affected.
async fn execute(store: &Store, text: &str, args: &[i64]) -> Result<u64> {
    let sql = Sql::new(store, text);
    let n = on_db!(store, write, |pool| {
        let mut q = sqlx::query(sql.text());
        for v in args {
            q = q.bind(*v);
        }
        q.execute(pool).await?.rows_affected()
    });
    Ok(n)
}

/// Fresh attempts, due now. The last error stays for the operator to see.
fn requeue_set(store: &Store) -> String {
    format!(
        "state = 'queued', attempt = 0, run_at = {}, finished_at = NULL, locked_by = NULL,
         lease_until = NULL",
        store.now_expr()
    )
}

pub(super) async fn retry(store: &Store, id: i64) -> Result<bool> {
    let text = format!(
        "UPDATE jobs SET {} WHERE id = $1 AND state IN ('failed', 'cancelled')",
        requeue_set(store)
    );
    Ok(execute(store, &text, &[id]).await? == 1)
}

pub(super) async fn retry_all_failed(store: &Store) -> Result<u64> {
    let text = format!(
        "UPDATE jobs SET {} WHERE state = 'failed'",
        requeue_set(store)
    );
    execute(store, &text, &[]).await
}

pub(super) async fn clear(store: &Store) -> Result<u64> {
    execute(
        store,
        "DELETE FROM jobs WHERE state IN ('queued', 'failed', 'cancelled')",
        &[],
    )
    .await
}

pub(super) async fn cancel_queued(store: &Store, config_id: i64) -> Result<u64> {
    let text = format!(
        "UPDATE jobs SET state = 'cancelled', finished_at = {}, error_kind = 'cancelled',
                last_error = 'cancelled before it ran'
         WHERE config_id = $1 AND state = 'queued'",
        store.now_expr()
    );
    execute(store, &text, &[config_id]).await
}

pub(super) async fn release_metadata_waiters(store: &Store, config_id: i64) -> Result<u64> {
    let text = format!(
        "UPDATE jobs SET wait_for_metadata = 0, run_at = {}
         WHERE config_id = $1 AND state = 'queued' AND wait_for_metadata = 1",
        store.now_expr()
    );
    execute(store, &text, &[config_id]).await
}

pub(super) async fn has_pending(store: &Store, config_id: i64) -> Result<bool> {
    let sql = Sql::new(
        store,
        "SELECT COUNT(*) FROM jobs WHERE config_id = $1
           AND (state = 'running' OR (state = 'queued' AND wait_for_metadata = 0))",
    );
    let n: i64 = on_db!(store, read, |pool| sqlx::query_scalar(sql.text())
        .bind(config_id)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}

pub(super) async fn prune_finished(store: &Store, age: Duration) -> Result<u64> {
    let text = format!(
        "DELETE FROM jobs WHERE state IN ('completed', 'failed', 'cancelled')
           AND finished_at < {} - $1",
        store.now_expr()
    );
    execute(store, &text, &[ms(age)]).await
}

/// Makes a queued job due now (tests and tools; skips backoff delays).
pub(super) async fn make_due(store: &Store, id: i64) -> Result<bool> {
    let text = format!(
        "UPDATE jobs SET run_at = {} WHERE id = $1 AND state = 'queued'",
        store.now_expr()
    );
    Ok(execute(store, &text, &[id]).await? == 1)
}

pub(super) async fn purge_queue(store: &Store, queue: &str) -> Result<u64> {
    let sql = Sql::new(
        store,
        "DELETE FROM jobs WHERE queue = $1 AND state <> 'running'",
    );
    let n = on_db!(store, write, |pool| sqlx::query(sql.text())
        .bind(queue)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n)
}
