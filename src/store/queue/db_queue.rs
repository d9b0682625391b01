//! The one [`QueueStore`]: the statements of `statements.rs` on the store's
//! database, which differ between SQLite and PostgreSQL only in the claim.

use std::time::Duration;

use async_trait::async_trait;

use super::clock::{Clock, ms};
use super::statements::{self as st, Arg};
use super::{
    FailOutcome, Failure, Job, JobFilter, JobKind, JobProgress, JobState, NewJob, QueueStore,
    Reclaimed, ResourceProgress, ResourceStatus, retry_delay_from,
};
use crate::store::{Db, Result, RowExt, Sql, Store, StoreError};

/// How many times a PostgreSQL claim that lost a race on an exclusive key is
/// retried.
const CLAIM_TRIES: u32 = 5;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Delay in ms before the run after `attempt` runs, plus up to 10% jitter so
/// jobs that failed together (an outage) do not come back in lockstep.
fn retry_delay_ms(retry_base: Duration, attempt: u32) -> i64 {
    let base = ms(retry_delay_from(retry_base, attempt));
    let spread = u64::try_from(base / 10).unwrap_or(0);
    base + i64::try_from(rand::random_range(0..=spread)).unwrap_or(0)
}

/// `RETURNING` order is unspecified: hand jobs out in claim order.
fn in_claim_order(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    jobs
}

/// The queue on one database, reading "now" from its [`Clock`]; made by
/// [`Store::queue`] and its siblings.
#[derive(Debug, Clone)]
pub(super) struct DbQueue {
    store: Store,
    retry_base: Duration,
    clock: Clock,
}

impl DbQueue {
    pub(super) fn new(store: Store, retry_base: Duration, clock: Clock) -> DbQueue {
        DbQueue {
            store,
            retry_base,
            clock,
        }
    }

    fn sql(&self, text: &str) -> Sql {
        st::render(&self.store, text)
    }

    /// Runs a write statement that reads the clock, with `$2…` bound to
    /// `args`; returns the rows affected.
    async fn execute_at_now(&self, text: &str, args: &[i64]) -> Result<u64> {
        let sql = self.sql(text);
        let now = self.clock.bind();
        let n = on_db!(self.store, write, |pool| {
            let mut q = sqlx::query(sql.text()).bind(now);
            for v in args {
                q = q.bind(*v);
            }
            q.execute(pool).await?.rows_affected()
        });
        Ok(n)
    }

    /// A fenced write (`$2` = id, `$3` = attempt, `$4…` = `extra`); `true` if
    /// it still owned the job.
    async fn fenced(&self, text: &str, id: i64, attempt: u32, extra: &[i64]) -> Result<bool> {
        let mut args = vec![id, i64::from(attempt)];
        args.extend_from_slice(extra);
        Ok(self.execute_at_now(text, &args).await? == 1)
    }

    /// The retry path of `fail` ([`st::FAIL`]) and the reaper
    /// ([`st::FAIL_EXPIRED`]).
    async fn fail_run(
        &self,
        text: &str,
        id: i64,
        attempt: u32,
        failure: &Failure,
    ) -> Result<FailOutcome> {
        let (retryable, error, kind) = match failure {
            Failure::Retryable { error, kind } => (1i64, error, kind),
            Failure::Permanent { error, kind } => (0i64, error, kind),
        };
        let sql = self.sql(text);
        let now = self.clock.bind();
        let delay = retry_delay_ms(self.retry_base, attempt);
        let row: Option<(String, i64)> = on_db!(self.store, write, |pool| {
            // `fetch_all`, not `fetch_optional`: SQLite commits an autocommit
            // statement when it is stepped to the end, and a commit that fails
            // (disk full) is only reported there. Stopping after the first
            // RETURNING row would report a change that was rolled back.
            let rows = sqlx::query(sql.text())
                .bind(now)
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

    /// PostgreSQL's claim ([`st::CLAIM_POSTGRES`]). Its candidate rule sees a
    /// snapshot: two claimers can still each pick a different job of one key
    /// (e.g. one enqueued meanwhile with a higher priority). The unique index
    /// on running keys then rejects the later one; its whole claim rolled
    /// back, so it simply tries again.
    async fn claim_postgres(
        &self,
        pool: &sqlx::PgPool,
        queue: &str,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let sql = self.sql(st::CLAIM_POSTGRES);
        for tries in 1.. {
            let claimed = sqlx::query(sql.text())
                .bind(self.clock.bind())
                .bind(queue)
                .bind(worker)
                .bind(ms(lease))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await;
            match claimed {
                Ok(rows) => return rows.iter().map(job_from_row).collect(),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    if tries >= CLAIM_TRIES {
                        // Someone else runs these keys; the next poll takes the rest.
                        return Ok(Vec::new());
                    }
                    let pause = rand::random_range(2..12);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Vec::new())
    }
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

/// Binds the clock and a [`JobRow`] to [`st::INSERT_JOB`].
macro_rules! bind_job {
    ($query:expr, $now:expr, $row:expr) => {
        $query
            .bind($now)
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

/// Binds a [`st::Filter`]'s arguments.
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

#[async_trait]
impl QueueStore for DbQueue {
    async fn enqueue(&self, job: &NewJob) -> Result<i64> {
        let row = JobRow::new(job)?;
        let sql = self.sql(st::INSERT_JOB);
        let now = self.clock.bind();
        let id: i64 = on_db!(self.store, write, |pool| bind_job!(
            sqlx::query_scalar(sql.text()),
            now,
            row
        )
        .fetch_one(pool)
        .await?);
        Ok(id)
    }

    async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        let rows = jobs.iter().map(JobRow::new).collect::<Result<Vec<_>>>()?;
        let sql = self.sql(st::INSERT_JOB);
        let now = self.clock.bind();
        let mut ids = Vec::with_capacity(rows.len());
        on_db!(self.store, write, |pool| {
            let mut tx = pool.begin().await?;
            for row in &rows {
                let id: i64 = bind_job!(sqlx::query_scalar(sql.text()), now, row)
                    .fetch_one(&mut *tx)
                    .await?;
                ids.push(id);
            }
            tx.commit().await?;
        });
        Ok(ids)
    }

    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let jobs = match &self.store.db {
            Db::Sqlite { write, .. } => sqlx::query(self.sql(st::CLAIM_SQLITE).text())
                .bind(self.clock.bind())
                .bind(queue)
                .bind(worker)
                .bind(ms(lease))
                .bind(i64::from(limit))
                .fetch_all(write)
                .await?
                .iter()
                .map(job_from_row)
                .collect::<Result<Vec<_>>>()?,
            Db::Postgres(pool) => {
                self.claim_postgres(pool, queue, worker, lease, limit)
                    .await?
            }
        };
        Ok(in_claim_order(jobs))
    }

    async fn heartbeat(&self, id: i64, attempt: u32, lease: Duration) -> Result<bool> {
        self.fenced(st::HEARTBEAT, id, attempt, &[ms(lease)]).await
    }

    async fn save_progress(
        &self,
        id: i64,
        attempt: u32,
        progress: &JobProgress,
        resources: &[ResourceProgress],
    ) -> Result<bool> {
        let job_sql = self.sql(st::SAVE_PROGRESS);
        let res_sql = self.sql(st::UPSERT_RESOURCE);
        let now = self.clock.bind();
        let owned = on_db!(self.store, write, |pool| {
            // One transaction: a reader never sees job totals from one save and
            // resource rows from another.
            let mut tx = pool.begin().await?;
            let n = sqlx::query(job_sql.text())
                .bind(now)
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
                        .bind(r.label.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            n == 1
        });
        Ok(owned)
    }

    async fn complete(&self, id: i64, attempt: u32) -> Result<bool> {
        self.fenced(st::COMPLETE, id, attempt, &[]).await
    }

    async fn fail(&self, id: i64, attempt: u32, failure: &Failure) -> Result<FailOutcome> {
        self.fail_run(st::FAIL, id, attempt, failure).await
    }

    async fn requeue(&self, id: i64, attempt: u32, reason: &str) -> Result<bool> {
        let sql = self.sql(st::REQUEUE);
        let now = self.clock.bind();
        let n = on_db!(self.store, write, |pool| sqlx::query(sql.text())
            .bind(now)
            .bind(id)
            .bind(i64::from(attempt))
            .bind(reason)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    async fn reclaim_expired(&self, own_worker: Option<&str>) -> Result<Vec<Reclaimed>> {
        let sql = self.sql(st::EXPIRED_LEASES);
        let now = self.clock.bind();
        let candidates: Vec<(i64, Option<i64>, u32, Option<String>)> =
            on_db!(self.store, read, |pool| {
                sqlx::query(sql.text())
                    .bind(now)
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
            let outcome = self
                .fail_run(st::FAIL_EXPIRED, id, attempt, &failure)
                .await?;
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

    async fn get(&self, id: i64) -> Result<Option<Job>> {
        let sql = self.sql(st::GET_JOB);
        let job = on_db!(self.store, read, |pool| {
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

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let f = st::filter(filter, true);
        let sql = self.sql(&format!("{}{}", st::LIST_JOBS, f.clause));
        let jobs = on_db!(self.store, read, |pool| {
            bind_args!(sqlx::query(sql.text()), &f.args)
                .fetch_all(pool)
                .await?
                .iter()
                .map(job_from_row)
                .collect::<Result<Vec<_>>>()?
        });
        Ok(jobs)
    }

    async fn count(&self, filter: &JobFilter) -> Result<u64> {
        let f = st::filter(filter, false);
        let sql = self.sql(&format!("{}{}", st::COUNT_JOBS, f.clause));
        let n: i64 = on_db!(self.store, read, |pool| bind_args!(
            sqlx::query_scalar(sql.text()),
            &f.args
        )
        .fetch_one(pool)
        .await?);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn synced_total(&self) -> Result<u64> {
        let sql = self.sql(st::SYNCED_TOTAL);
        let n: i64 = on_db!(self.store, read, |pool| sqlx::query_scalar(sql.text())
            .fetch_one(pool)
            .await?);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn resources(&self, id: i64) -> Result<Vec<ResourceProgress>> {
        let sql = self.sql(st::LIST_RESOURCES);
        let rows = on_db!(self.store, read, |pool| sqlx::query(sql.text())
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>>>()?);
        Ok(rows)
    }

    async fn retry(&self, id: i64) -> Result<bool> {
        Ok(self.execute_at_now(st::RETRY_ONE, &[id]).await? == 1)
    }

    async fn retry_all_failed(&self) -> Result<u64> {
        self.execute_at_now(st::RETRY_ALL_FAILED, &[]).await
    }

    async fn clear(&self) -> Result<u64> {
        let sql = self.sql(st::CLEAR);
        let n = on_db!(self.store, write, |pool| sqlx::query(sql.text())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n)
    }

    async fn cancel_queued(&self, config_id: i64) -> Result<u64> {
        self.execute_at_now(st::CANCEL_QUEUED, &[config_id]).await
    }

    async fn release_metadata_waiters(&self, config_id: i64) -> Result<u64> {
        self.execute_at_now(st::RELEASE_METADATA_WAITERS, &[config_id])
            .await
    }

    async fn has_pending(&self, config_id: i64) -> Result<bool> {
        let sql = self.sql(st::HAS_PENDING);
        let n: i64 = on_db!(self.store, read, |pool| sqlx::query_scalar(sql.text())
            .bind(config_id)
            .fetch_one(pool)
            .await?);
        Ok(n > 0)
    }

    async fn prune_finished(&self, age: Duration) -> Result<u64> {
        self.execute_at_now(st::PRUNE_FINISHED, &[ms(age)]).await
    }
}

/// Deletes every job of `queue` that is not running (benchmarks, tools).
pub(super) async fn purge_queue(store: &Store, queue: &str) -> Result<u64> {
    let sql = st::render(store, st::PURGE_QUEUE);
    let n = on_db!(store, write, |pool| sqlx::query(sql.text())
        .bind(queue)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n)
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

/// One decoder for `jobs` rows of both databases.
fn job_from_row(r: &impl RowExt) -> Result<Job> {
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
        label: r.text("label")?,
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
