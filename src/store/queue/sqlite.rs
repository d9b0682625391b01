//! The queue on SQLite. Writes go through the store's single writer
//! connection, so a claim (one `UPDATE … RETURNING` statement) never races
//! another claim of this process; other processes on the same file queue up
//! behind SQLite's write lock (`busy_timeout`).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;

use super::db_queue;
use super::{
    FailOutcome, Failure, Job, JobFilter, JobProgress, NewJob, QueueStore, ResourceProgress,
};
use crate::store::{Result, Sql, Store};

/// [`QueueStore`] on SQLite; made by [`Store::queue`].
#[derive(Debug, Clone)]
pub struct SqliteQueue {
    store: Store,
    write: SqlitePool,
    retry_base: Duration,
}

impl SqliteQueue {
    pub(crate) fn new(store: Store, write: SqlitePool, retry_base: Duration) -> SqliteQueue {
        SqliteQueue {
            store,
            write,
            retry_base,
        }
    }
}

#[async_trait]
impl QueueStore for SqliteQueue {
    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let now = self.store.now_expr();
        // The subquery is evaluated before any row changes, and its candidate
        // rule takes at most one job per exclusive key, so the unique index
        // on running keys cannot fire.
        let sql = Sql::new(
            &self.store,
            &format!(
                "UPDATE jobs SET {set}
                 WHERE id IN (SELECT j.id FROM jobs j WHERE {candidates}
                              ORDER BY j.priority, j.run_at, j.id LIMIT $4)
                 RETURNING *",
                set = db_queue::claim_set(now),
                candidates = db_queue::claim_candidates(now),
            ),
        );
        let jobs = sqlx::query(sql.text())
            .bind(queue)
            .bind(worker)
            .bind(db_queue::ms(lease))
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?
            .iter()
            .map(db_queue::job_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(db_queue::in_claim_order(jobs))
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
