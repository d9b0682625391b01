//! Watermarks, lifecycle state and detection history: what lets a restart
//! resume where it stopped.

use serde::{Deserialize, Serialize};

use super::{Result, RowExt, Sql, Store};

/// Per-config lifecycle: initial sync done, cooldown, throttle window, the
/// scheduler's next check, the last result. Times in ms since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleState {
    pub initial_done: bool,
    pub cooldown_until: Option<i64>,
    /// Start times of the syncs of the last hour (throttle window).
    pub recent_syncs: Vec<i64>,
    pub throttled_until: Option<i64>,
    pub next_check_at: Option<i64>,
    pub last_check_at: Option<i64>,
    pub last_result: Option<String>,
    pub last_error: Option<String>,
}

/// Which columns of `lifecycle_state` a writer owns. The scheduler and the
/// workers (possibly in other processes) update the same row concurrently;
/// each writes only its part, so neither can undo the other's change (a
/// cooldown set by a failed job must survive the scheduler's next save).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecyclePart {
    /// next/last check, throttle window: written by the scheduler.
    Schedule,
    /// initial sync done, cooldown, last result and error: written after jobs
    /// (and by the supervisor for a crashed scheduler).
    Outcome,
}

impl LifecyclePart {
    fn columns(self) -> &'static [&'static str] {
        match self {
            LifecyclePart::Schedule => &[
                "recent_syncs",
                "throttled_until",
                "next_check_at",
                "last_check_at",
            ],
            LifecyclePart::Outcome => &[
                "initial_done",
                "cooldown_until",
                "last_result",
                "last_error",
            ],
        }
    }
}

/// One row of change-detection history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    pub config_id: i64,
    pub at: i64,
    pub resource: String,
    pub changed_count: u64,
    /// `false` when the count is a lower bound (data values have no count API).
    pub exact: bool,
    /// The watermark the count was taken from (None = never synced).
    pub since: Option<String>,
    /// The resource for people (the plan's label); empty in older rows.
    #[serde(default)]
    pub label: String,
}

impl Store {
    /// Watermarks of a config: resource key → source server time (DHIS2 format).
    pub async fn watermarks(&self, config_id: i64) -> Result<Vec<(String, String)>> {
        let sql = Sql::new(
            self,
            "SELECT resource, server_time FROM watermarks WHERE config_id = $1 ORDER BY resource",
        );
        on_db!(self, read, |pool| {
            let rows = sqlx::query(sql.text())
                .bind(config_id)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok((r.text("resource")?, r.text("server_time")?)))
                .collect()
        })
    }

    pub async fn set_watermark(
        &self,
        config_id: i64,
        resource: &str,
        server_time: &str,
    ) -> Result<()> {
        let sql = Sql::new(
            self,
            &format!(
                "INSERT INTO watermarks (config_id, resource, server_time, updated_at)
                 VALUES ($1, $2, $3, {now})
                 ON CONFLICT (config_id, resource)
                 DO UPDATE SET server_time = excluded.server_time, updated_at = excluded.updated_at",
                now = self.now_expr()
            ),
        );
        on_db!(self, write, |pool| {
            sqlx::query(sql.text())
                .bind(config_id)
                .bind(resource)
                .bind(server_time)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn lifecycle(&self, config_id: i64) -> Result<LifecycleState> {
        let sql = Sql::new(
            self,
            "SELECT initial_done, cooldown_until, recent_syncs, throttled_until, next_check_at,
                    last_check_at, last_result, last_error
             FROM lifecycle_state WHERE config_id = $1",
        );
        on_db!(self, read, |pool| {
            let row = sqlx::query(sql.text())
                .bind(config_id)
                .fetch_optional(pool)
                .await?;
            match row {
                None => Ok(LifecycleState::default()),
                Some(r) => Ok(LifecycleState {
                    initial_done: r.flag("initial_done")?,
                    cooldown_until: r.opt_i64("cooldown_until")?,
                    recent_syncs: r.json("recent_syncs")?,
                    throttled_until: r.opt_i64("throttled_until")?,
                    next_check_at: r.opt_i64("next_check_at")?,
                    last_check_at: r.opt_i64("last_check_at")?,
                    last_result: r.opt_text("last_result")?,
                    last_error: r.opt_text("last_error")?,
                }),
            }
        })
    }

    /// Ends a config's cooldown now (an operator's `syncdeck cooldown clear`);
    /// returns when it would have ended (`None`: no cooldown was set). Only
    /// that column: the scheduler's part and the last result stay.
    pub async fn clear_cooldown(&self, config_id: i64) -> Result<Option<i64>> {
        let before = self.lifecycle(config_id).await?.cooldown_until;
        let sql = Sql::new(
            self,
            &format!(
                "UPDATE lifecycle_state SET cooldown_until = NULL, updated_at = {now} WHERE config_id = $1",
                now = self.now_expr()
            ),
        );
        on_db!(self, write, |pool| {
            sqlx::query(sql.text())
                .bind(config_id)
                .execute(pool)
                .await?;
        });
        Ok(before)
    }

    /// Saves `part` of the state (a missing row is created from the whole).
    pub async fn save_lifecycle(
        &self,
        config_id: i64,
        state: &LifecycleState,
        part: LifecyclePart,
    ) -> Result<()> {
        let recent = serde_json::to_string(&state.recent_syncs)
            .map_err(|e| super::StoreError::Invalid(e.to_string()))?;
        let updates: Vec<String> = part
            .columns()
            .iter()
            .chain(&["updated_at"])
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let sql = Sql::new(
            self,
            &format!(
                "INSERT INTO lifecycle_state (config_id, initial_done, cooldown_until, recent_syncs,
                     throttled_until, next_check_at, last_check_at, last_result, last_error, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {now})
                 ON CONFLICT (config_id) DO UPDATE SET {updates}",
                now = self.now_expr(),
                updates = updates.join(", ")
            ),
        );
        on_db!(self, write, |pool| {
            sqlx::query(sql.text())
                .bind(config_id)
                .bind(i64::from(state.initial_done))
                .bind(state.cooldown_until)
                .bind(&recent)
                .bind(state.throttled_until)
                .bind(state.next_check_at)
                .bind(state.last_check_at)
                .bind(&state.last_result)
                .bind(&state.last_error)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn record_detections(&self, rows: &[Detection]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let sql = Sql::new(
            self,
            "INSERT INTO detections (config_id, at, resource, changed_count, exact, since, label)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        );
        on_db!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            for d in rows {
                sqlx::query(sql.text())
                    .bind(d.config_id)
                    .bind(d.at)
                    .bind(&d.resource)
                    .bind(i64::try_from(d.changed_count).unwrap_or(i64::MAX))
                    .bind(i64::from(d.exact))
                    .bind(&d.since)
                    .bind(&d.label)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Newest first; `config_id` None = all configs.
    pub async fn detections(&self, config_id: Option<i64>, limit: u32) -> Result<Vec<Detection>> {
        let sql = Sql::new(
            self,
            "SELECT config_id, at, resource, changed_count, exact, since, label FROM detections
             WHERE ($1 IS NULL OR config_id = $1) ORDER BY at DESC, id DESC LIMIT $2",
        );
        on_db!(self, read, |pool| {
            let rows = sqlx::query(sql.text())
                .bind(config_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Detection {
                        config_id: r.i64("config_id")?,
                        at: r.i64("at")?,
                        resource: r.text("resource")?,
                        changed_count: u64::try_from(r.i64("changed_count")?).unwrap_or(0),
                        exact: r.flag("exact")?,
                        since: r.opt_text("since")?,
                        label: r.text("label")?,
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbTarget;

    #[tokio::test]
    async fn scheduler_and_worker_saves_do_not_undo_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DbTarget::Sqlite(dir.path().join("t.db")))
            .await
            .unwrap();
        on_db!(store, write, |pool| {
            sqlx::raw_sql(
                "INSERT INTO instances (id, name, url, auth_kind, secret_kind, secret_ref, updated_at)
                     VALUES (1, 'a', 'http://a', 'basic', 'env', 'A', 0);
                 INSERT INTO sync_configs (id, name, kind, source_id, mode, selection, updated_at)
                     VALUES (1, 'c', 'dhis2', 1, 'automatic', '{}', 0);",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        // The scheduler read the row before a job failed…
        let stale = store.lifecycle(1).await.unwrap();
        let failed = LifecycleState {
            cooldown_until: Some(99),
            last_error: Some("boom".into()),
            ..stale.clone()
        };
        store
            .save_lifecycle(1, &failed, LifecyclePart::Outcome)
            .await
            .unwrap();
        // …and saves its next check afterwards.
        let scheduled = LifecycleState {
            next_check_at: Some(42),
            ..stale
        };
        store
            .save_lifecycle(1, &scheduled, LifecyclePart::Schedule)
            .await
            .unwrap();
        let now = store.lifecycle(1).await.unwrap();
        assert_eq!(now.cooldown_until, Some(99), "the cooldown survives");
        assert_eq!(now.last_error.as_deref(), Some("boom"));
        assert_eq!(now.next_check_at, Some(42));

        // An operator ends a cooldown: only the cooldown goes.
        let until = store.now_ms().await.unwrap() + 600_000;
        let cooling = LifecycleState {
            cooldown_until: Some(until),
            ..now
        };
        store
            .save_lifecycle(1, &cooling, LifecyclePart::Outcome)
            .await
            .unwrap();
        assert_eq!(store.clear_cooldown(1).await.unwrap(), Some(until));
        let after = store.lifecycle(1).await.unwrap();
        assert_eq!(after.cooldown_until, None);
        assert_eq!(after.last_error.as_deref(), Some("boom"));
        assert_eq!(after.next_check_at, Some(42));
        assert_eq!(
            store.clear_cooldown(1).await.unwrap(),
            None,
            "nothing left to end"
        );
    }
}
