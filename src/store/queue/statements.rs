//! Every statement of the queue's tables (`jobs`, `job_resources`), written
//! once for both databases.
//!
//! Conventions, applied by [`render`]:
//! - placeholders are PostgreSQL's `$1`, `$2`…; SQLite gets `?1`, `?2`…, which
//!   binds by the same numbers ([`Sql`]);
//! - `{now}` is "now" in ms since the epoch: `COALESCE($1, <database clock>)`.
//!   A statement that reads the clock therefore takes it as `$1` (NULL = the
//!   database clock; see `clock.rs`) and numbers its own arguments from `$2`.
//!
//! Only the claim differs between the databases (`CLAIM_SQLITE`,
//! `CLAIM_POSTGRES`); the rest is plain SQL both accept. Times are `BIGINT` ms
//! and flags `0`/`1` integers in both schemas (`src/store/migrations/`).

use crate::store::{Sql, Store};

use super::JobFilter;

/// The clock token of these statements.
const NOW: &str = "{now}";

/// `text` as `store`'s database runs it.
pub(super) fn render(store: &Store, text: &str) -> Sql {
    // `CAST`: a NULL bound to `$1` still has a type for COALESCE on both
    // databases (sqlx also declares it INT8 to PostgreSQL).
    let now = format!("COALESCE(CAST($1 AS BIGINT), {})", store.now_expr());
    Sql::new(store, &text.replace(NOW, &now))
}

/// The fence every finish writes under: the run (`$2` = id, `$3` = attempt)
/// must still be the running one.
macro_rules! fence {
    () => {
        "id = $2 AND attempt = $3 AND state = 'running'"
    };
}

/// The claim's candidate rows `j`: due, queued, not waiting for metadata, and,
/// for a keyed job, no running job with its key and no earlier candidate with
/// it, so one claim never takes two jobs of one key. `$2` = queue.
macro_rules! claim_candidates {
    () => {
        "j.queue = $2 AND j.state = 'queued' AND j.run_at <= {now} AND j.wait_for_metadata = 0
         AND (j.exclusive_key IS NULL OR (
             NOT EXISTS (SELECT 1 FROM jobs r
                         WHERE r.exclusive_key = j.exclusive_key AND r.state = 'running')
             AND NOT EXISTS (SELECT 1 FROM jobs o
                         WHERE o.exclusive_key = j.exclusive_key AND o.state = 'queued'
                           AND o.queue = j.queue AND o.run_at <= {now} AND o.wait_for_metadata = 0
                           AND (o.priority, o.run_at, o.id) < (j.priority, j.run_at, j.id))))"
    };
}

/// The claim's `SET`: `$3` = worker, `$4` = lease in ms.
macro_rules! claim_set {
    () => {
        "state = 'running', attempt = attempt + 1, locked_by = $3, lease_until = {now} + $4,
         started_at = COALESCE(started_at, {now})"
    };
}

/// The retry path of a failed or expired run: queued again after the backoff
/// (`$5` ms) if retryable (`$4` = 1) and attempts remain, otherwise `failed`.
/// `$6` = error, `$7` = error kind.
macro_rules! fail_run_set {
    () => {
        "state = CASE WHEN $4 = 1 AND attempt < max_attempts THEN 'queued' ELSE 'failed' END,
         run_at = CASE WHEN $4 = 1 AND attempt < max_attempts THEN {now} + $5 ELSE run_at END,
         finished_at = CASE WHEN $4 = 1 AND attempt < max_attempts THEN NULL ELSE {now} END,
         locked_by = CASE WHEN $4 = 1 AND attempt < max_attempts THEN NULL ELSE locked_by END,
         lease_until = NULL, last_error = $6, error_kind = $7"
    };
}

/// Fresh attempts, due now. The last error stays for the operator to see.
macro_rules! requeue_set {
    () => {
        "state = 'queued', attempt = 0, run_at = {now}, finished_at = NULL, locked_by = NULL,
         lease_until = NULL"
    };
}

// ---- jobs -------------------------------------------------------------------

/// `$2`… = the columns of a new job, `$11` = delay in ms; returns its id.
pub(super) const INSERT_JOB: &str =
    "INSERT INTO jobs (queue, config_id, exclusive_key, kind, reason, resources, state,
                   wait_for_metadata, max_attempts, priority, run_at, created_at)
 VALUES ($2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, {now} + $11, {now})
 RETURNING id";

/// SQLite: one `UPDATE … RETURNING` through the store's single writer
/// connection, so it never races a claim of this process; other processes
/// queue up behind SQLite's write lock (`busy_timeout`). The subquery is
/// evaluated before any row changes and takes at most one job per key, so the
/// unique index on running keys cannot fire. `$5` = limit.
pub(super) const CLAIM_SQLITE: &str = concat!(
    "UPDATE jobs SET ",
    claim_set!(),
    "
     WHERE id IN (SELECT j.id FROM jobs j WHERE ",
    claim_candidates!(),
    "
                  ORDER BY j.priority, j.run_at, j.id LIMIT $5)
     RETURNING *"
);

/// PostgreSQL, shared by several daemons: candidates are locked `FOR UPDATE
/// SKIP LOCKED`, so concurrent claimers take disjoint jobs without waiting on
/// each other. `$5` = limit.
pub(super) const CLAIM_POSTGRES: &str = concat!(
    "WITH picked AS (
         SELECT j.id FROM jobs j WHERE ",
    claim_candidates!(),
    "
         ORDER BY j.priority, j.run_at, j.id LIMIT $5
         FOR UPDATE OF j SKIP LOCKED)
     UPDATE jobs SET ",
    claim_set!(),
    " FROM picked WHERE jobs.id = picked.id
     RETURNING jobs.*"
);

/// `$4` = lease in ms.
pub(super) const HEARTBEAT: &str =
    concat!("UPDATE jobs SET lease_until = {now} + $4 WHERE ", fence!());

/// `$4`… = the job's progress.
pub(super) const SAVE_PROGRESS: &str = concat!(
    "UPDATE jobs SET expected = $4, processed = $5, synced = $6, errors = $7, speed = $8,
        current_step = $9, current_resource = $10, progress_at = {now}
     WHERE ",
    fence!()
);

/// `locked_by` stays: it tells the history which worker ran the job. The
/// errors of earlier attempts are history once the job succeeded.
pub(super) const COMPLETE: &str = concat!(
    "UPDATE jobs SET state = 'completed', finished_at = {now}, lease_until = NULL,
        last_error = NULL, error_kind = NULL
     WHERE ",
    fence!()
);

/// Given back without counting the run; `$4` = reason.
pub(super) const REQUEUE: &str = concat!(
    "UPDATE jobs SET state = 'queued', attempt = attempt - 1, run_at = {now},
        locked_by = NULL, lease_until = NULL, last_error = $4, error_kind = 'requeued'
     WHERE ",
    fence!()
);

/// A run the worker reports failed ([`fail_run_set!`]).
pub(super) const FAIL: &str = concat!(
    "UPDATE jobs SET ",
    fail_run_set!(),
    " WHERE ",
    fence!(),
    " RETURNING state, run_at"
);

/// A run whose lease expired: as [`FAIL`], re-checking the lease so a
/// heartbeat that landed since the reaper looked wins.
pub(super) const FAIL_EXPIRED: &str = concat!(
    "UPDATE jobs SET ",
    fail_run_set!(),
    " WHERE ",
    fence!(),
    " AND lease_until < {now} RETURNING state, run_at"
);

/// Running jobs whose lease expired, except those of worker `$2` (`''` for
/// none: no worker id is empty).
pub(super) const EXPIRED_LEASES: &str = "SELECT id, config_id, attempt, locked_by FROM jobs
 WHERE state = 'running' AND lease_until < {now} AND COALESCE(locked_by, '') <> $2
 ORDER BY id";

pub(super) const GET_JOB: &str = "SELECT * FROM jobs WHERE id = $1";

/// Followed by [`filter`]'s clause, newest first.
pub(super) const LIST_JOBS: &str = "SELECT * FROM jobs";

/// Followed by [`filter`]'s clause.
pub(super) const COUNT_JOBS: &str = "SELECT COUNT(*) FROM jobs";

pub(super) const SYNCED_TOTAL: &str = "SELECT CAST(COALESCE(SUM(synced), 0) AS BIGINT) FROM jobs";

/// `$2` = id.
pub(super) const RETRY_ONE: &str = concat!(
    "UPDATE jobs SET ",
    requeue_set!(),
    " WHERE id = $2 AND state IN ('failed', 'cancelled')"
);

pub(super) const RETRY_ALL_FAILED: &str = concat!(
    "UPDATE jobs SET ",
    requeue_set!(),
    " WHERE state = 'failed'"
);

pub(super) const CLEAR: &str = "DELETE FROM jobs WHERE state IN ('queued', 'failed', 'cancelled')";

/// `$2` = config id.
pub(super) const CANCEL_QUEUED: &str =
    "UPDATE jobs SET state = 'cancelled', finished_at = {now}, error_kind = 'cancelled',
        last_error = 'cancelled before it ran'
 WHERE config_id = $2 AND state = 'queued'";

/// `$2` = config id.
pub(super) const RELEASE_METADATA_WAITERS: &str =
    "UPDATE jobs SET wait_for_metadata = 0, run_at = {now}
 WHERE config_id = $2 AND state = 'queued' AND wait_for_metadata = 1";

/// `$1` = config id.
pub(super) const HAS_PENDING: &str = "SELECT COUNT(*) FROM jobs WHERE config_id = $1
   AND (state = 'running' OR (state = 'queued' AND wait_for_metadata = 0))";

/// `$2` = age in ms.
pub(super) const PRUNE_FINISHED: &str =
    "DELETE FROM jobs WHERE state IN ('completed', 'failed', 'cancelled')
   AND finished_at < {now} - $2";

/// `$1` = queue.
pub(super) const PURGE_QUEUE: &str = "DELETE FROM jobs WHERE queue = $1 AND state <> 'running'";

/// A filter's `WHERE` clause (and `ORDER BY`/`LIMIT` for lists), for
/// [`LIST_JOBS`] and [`COUNT_JOBS`].
pub(super) struct Filter<'a> {
    pub(super) clause: String,
    pub(super) args: Vec<Arg<'a>>,
}

/// An argument of a [`Filter`], bound as `$1`, `$2`… in order.
pub(super) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

/// `for_list`: newest first and the filter's limit; a count ignores both.
pub(super) fn filter(filter: &JobFilter, for_list: bool) -> Filter<'_> {
    let mut args = Vec::new();
    let mut clause = String::from(" WHERE 1 = 1");
    if let Some(config_id) = filter.config_id {
        args.push(Arg::Int(config_id));
        clause.push_str(&format!(" AND config_id = ${}", args.len()));
    }
    if let Some(queue) = &filter.queue {
        args.push(Arg::Text(queue));
        clause.push_str(&format!(" AND queue = ${}", args.len()));
    }
    if !filter.states.is_empty() {
        let mut marks = Vec::new();
        for s in &filter.states {
            args.push(Arg::Text(s.as_str()));
            marks.push(format!("${}", args.len()));
        }
        clause.push_str(&format!(" AND state IN ({})", marks.join(", ")));
    }
    if for_list {
        clause.push_str(" ORDER BY id DESC");
        if filter.limit > 0 {
            clause.push_str(&format!(" LIMIT {}", filter.limit));
        }
    }
    Filter { clause, args }
}

// ---- job_resources ----------------------------------------------------------

/// `$1` = job id, `$2`… = the resource's row.
pub(super) const UPSERT_RESOURCE: &str =
    "INSERT INTO job_resources (job_id, resource, rtype, position, status, total, processed,
                            synced, errors, speed, message, label)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
 ON CONFLICT (job_id, resource) DO UPDATE SET
     label = excluded.label, rtype = excluded.rtype, position = excluded.position, status = excluded.status,
     total = excluded.total, processed = excluded.processed, synced = excluded.synced,
     errors = excluded.errors, speed = excluded.speed, message = excluded.message";

/// `$1` = job id.
pub(super) const LIST_RESOURCES: &str =
    "SELECT * FROM job_resources WHERE job_id = $1 ORDER BY position, resource";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement: a clock read means `$1` is the clock, so no other
    /// argument may be numbered `$1`.
    const ALL: &[&str] = &[
        INSERT_JOB,
        CLAIM_SQLITE,
        CLAIM_POSTGRES,
        HEARTBEAT,
        SAVE_PROGRESS,
        COMPLETE,
        REQUEUE,
        FAIL,
        FAIL_EXPIRED,
        EXPIRED_LEASES,
        GET_JOB,
        LIST_JOBS,
        COUNT_JOBS,
        SYNCED_TOTAL,
        RETRY_ONE,
        RETRY_ALL_FAILED,
        CLEAR,
        CANCEL_QUEUED,
        RELEASE_METADATA_WAITERS,
        HAS_PENDING,
        PRUNE_FINISHED,
        PURGE_QUEUE,
        UPSERT_RESOURCE,
        LIST_RESOURCES,
    ];

    #[test]
    fn the_clock_is_always_the_first_argument() {
        for text in ALL {
            let uses_clock = text.contains(NOW);
            let own_first = text
                .match_indices("$1")
                .any(|(at, m)| !text[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
            assert!(
                !(uses_clock && own_first),
                "binds its own $1 but reads the clock: {text}"
            );
            assert!(
                !text.contains('?') && !text.contains("now()"),
                "written for one database only: {text}"
            );
        }
    }
}
