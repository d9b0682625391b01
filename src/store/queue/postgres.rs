//! The queue on PostgreSQL, shared by several daemons. A claim locks its
//! candidates with `FOR UPDATE SKIP LOCKED`, so concurrent claimers take
//! disjoint jobs without waiting on each other.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::db_queue;
use super::{
    FailOutcome, Failure, Job, JobFilter, JobProgress, NewJob, QueueStore, ResourceProgress,
};
use crate::store::{Result, Sql, Store};

/// How many times a claim that lost a race on an exclusive key is retried.
const CLAIM_TRIES: u32 = 5;

/// [`QueueStore`] on PostgreSQL; made by [`Store::queue`].
#[derive(Debug, Clone)]
pub struct PgQueue {
    store: Store,
    pool: PgPool,
    retry_base: Duration,
}

impl PgQueue {
    pub(crate) fn new(store: Store, pool: PgPool, retry_base: Duration) -> PgQueue {
        PgQueue {
            store,
            pool,
            retry_base,
        }
    }

    async fn try_claim(
        &self,
        sql: &Sql,
        queue: &str,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query(sql.text())
            .bind(queue)
            .bind(worker)
            .bind(db_queue::ms(lease))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
    }
}

#[async_trait]
impl QueueStore for PgQueue {
    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let now = self.store.now_expr();
        let sql = Sql::new(
            &self.store,
            &format!(
                "WITH picked AS (
                     SELECT j.id FROM jobs j WHERE {candidates}
                     ORDER BY j.priority, j.run_at, j.id LIMIT $4
                     FOR UPDATE OF j SKIP LOCKED)
                 UPDATE jobs SET {set} FROM picked WHERE jobs.id = picked.id
                 RETURNING jobs.*",
                set = db_queue::claim_set(now),
                candidates = db_queue::claim_candidates(now),
            ),
        );
        // The candidate rule sees a snapshot: two claimers can still each pick
        // a different job of one key (e.g. one enqueued meanwhile with a higher
        // priority). The unique index on running keys then rejects the later
        // one; its whole claim rolled back, so it simply tries again.
        for tries in 1.. {
            match self.try_claim(&sql, queue, worker, lease, limit).await {
                Ok(rows) => {
                    let jobs = rows
                        .iter()
                        .map(db_queue::job_from_row)
                        .collect::<Result<Vec<_>>>()?;
                    return Ok(db_queue::in_claim_order(jobs));
                }
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

    async fn enqueue(&self, job: &NewJob) -> Result<i64> {
        db_queue::enqueue(&self.store, job).await
    }

    async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        db_queue::enqueue_many(&self.store, jobs).await
    }

    async fn heartbeat(&self, id: i64, attempt: u32, lease: Duration) -> Result<bool> {
        db_queue::heartbeat(&self.store, id, attempt, lease).await
    }

    async fn save_progress(
        &self,
        id: i64,
        attempt: u32,
        progress: &JobProgress,
        resources: &[ResourceProgress],
    ) -> Result<bool> {
        db_queue::save_progress(&self.store, id, attempt, progress, resources).await
    }

    async fn complete(&self, id: i64, attempt: u32) -> Result<bool> {
        db_queue::complete(&self.store, id, attempt).await
    }

    async fn fail(&self, id: i64, attempt: u32, failure: &Failure) -> Result<FailOutcome> {
        db_queue::fail(&self.store, self.retry_base, id, attempt, failure).await
    }

    async fn requeue(&self, id: i64, attempt: u32, reason: &str) -> Result<bool> {
        db_queue::requeue(&self.store, id, attempt, reason).await
    }

    async fn reclaim_expired(&self, own_worker: Option<&str>) -> Result<Vec<super::Reclaimed>> {
        db_queue::reclaim_expired(&self.store, self.retry_base, own_worker).await
    }

    async fn get(&self, id: i64) -> Result<Option<Job>> {
        db_queue::get(&self.store, id).await
    }

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        db_queue::list(&self.store, filter).await
    }

    async fn count(&self, filter: &JobFilter) -> Result<u64> {
        db_queue::count(&self.store, filter).await
    }

    async fn synced_total(&self) -> Result<u64> {
        db_queue::synced_total(&self.store).await
    }

    async fn resources(&self, id: i64) -> Result<Vec<ResourceProgress>> {
        db_queue::resources(&self.store, id).await
    }

    async fn retry(&self, id: i64) -> Result<bool> {
        db_queue::retry(&self.store, id).await
    }

    async fn retry_all_failed(&self) -> Result<u64> {
        db_queue::retry_all_failed(&self.store).await
    }

    async fn clear(&self) -> Result<u64> {
        db_queue::clear(&self.store).await
    }

    async fn cancel_queued(&self, config_id: i64) -> Result<u64> {
        db_queue::cancel_queued(&self.store, config_id).await
    }

    async fn release_metadata_waiters(&self, config_id: i64) -> Result<u64> {
        db_queue::release_metadata_waiters(&self.store, config_id).await
    }

    async fn has_pending(&self, config_id: i64) -> Result<bool> {
        db_queue::has_pending(&self.store, config_id).await
    }

    async fn prune_finished(&self, age: Duration) -> Result<u64> {
        db_queue::prune_finished(&self.store, age).await
    }
}
