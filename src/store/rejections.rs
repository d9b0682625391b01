//! Objects the destination refused, per job: the record behind
//! `jobs show ID --rejections`. A permanent rejection is not re-sent (the
//! resource's watermark moves past it), so this is where it stays visible.

use serde::{Deserialize, Serialize};

use super::{Result, RowExt, Sql, Store};

/// One refusal as the worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRejection {
    /// The object's UID, or a data value's `de/pe/ou/coc/aoc`; empty when the
    /// report named none.
    pub object_key: String,
    /// DHIS2's code (`E7640`…); empty when the report gave none.
    pub error_code: String,
    /// `permanent`, `reference`, `lock` or `other`.
    pub class: String,
    pub message: String,
}

/// A stored refusal. Times in ms since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub job_id: i64,
    pub resource: String,
    pub object_key: String,
    pub error_code: String,
    pub class: String,
    pub message: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub times_seen: u64,
}

impl Store {
    /// Records refusals of one resource in one job; one seen again (a retried
    /// attempt) counts once more and keeps its first time.
    pub async fn record_rejections(
        &self,
        job_id: i64,
        resource: &str,
        rows: &[NewRejection],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let sql = Sql::new(
            self,
            &format!(
                "INSERT INTO rejections (job_id, resource, object_key, error_code, class, message,
                     first_seen, last_seen, times_seen)
                 VALUES ($1, $2, $3, $4, $5, $6, {now}, {now}, 1)
                 ON CONFLICT (job_id, resource, object_key, error_code) DO UPDATE SET
                     class = excluded.class, message = excluded.message,
                     last_seen = excluded.last_seen, times_seen = rejections.times_seen + 1",
                now = self.now_expr()
            ),
        );
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            for r in rows {
                sqlx::query(sql.text())
                    .bind(job_id)
                    .bind(resource)
                    .bind(&r.object_key)
                    .bind(&r.error_code)
                    .bind(&r.class)
                    .bind(&r.message)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A job's refusals, by resource, code and object.
    pub async fn rejections(&self, job_id: i64) -> Result<Vec<Rejection>> {
        let sql = Sql::new(
            self,
            "SELECT job_id, resource, object_key, error_code, class, message, first_seen,
                    last_seen, times_seen
             FROM rejections WHERE job_id = $1 ORDER BY resource, error_code, object_key",
        );
        on_db!(self, read, |pool| {
            let rows = sqlx::query(sql.text()).bind(job_id).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(Rejection {
                        job_id: r.i64("job_id")?,
                        resource: r.text("resource")?,
                        object_key: r.text("object_key")?,
                        error_code: r.text("error_code")?,
                        class: r.text("class")?,
                        message: r.text("message")?,
                        first_seen: r.i64("first_seen")?,
                        last_seen: r.i64("last_seen")?,
                        times_seen: u64::try_from(r.i64("times_seen")?).unwrap_or(0),
                    })
                })
                .collect()
        })
    }
}
