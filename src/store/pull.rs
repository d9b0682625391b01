//! What the last pull of each `http_pull` config found: the exposed state
//! (`status --json`, the console) and the failure count its backoff uses.

use serde::{Deserialize, Serialize};

use super::{Result, RowExt, Sql, Store};

/// One `pull_state` row. Times in ms since the epoch; hashes MD5 hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullState {
    /// The last pull that ended, either way.
    pub last_sync_at: Option<i64>,
    /// `None` before the first pull.
    pub last_sync_ok: Option<bool>,
    pub last_sync_error: Option<String>,
    /// Of the document in `target`.
    pub current_hash: Option<String>,
    /// As the backend last announced it (its hash field, or the document's).
    pub backend_hash: Option<String>,
    /// When `target` last changed.
    pub config_updated_at: Option<i64>,
    /// Devices of the current document (or its top-level entries).
    pub items: Option<u64>,
    /// What `items` counts: `devices`, `syncs` or `entries`.
    pub items_kind: Option<String>,
    /// The backend hash of a document refused as invalid (not applied); the
    /// same document is not refused again every poll.
    pub refused_hash: Option<String>,
    /// Consecutive failed pulls.
    pub failures: u32,
}

impl Store {
    /// The state of config `config_id` (all empty before its first pull).
    pub async fn pull_state(&self, config_id: i64) -> Result<PullState> {
        let sql = Sql::new(
            self,
            "SELECT last_sync_at, last_sync_ok, last_sync_error, current_hash, backend_hash,
                    config_updated_at, items, items_kind, refused_hash, failures
             FROM pull_state WHERE config_id = $1",
        );
        on_db!(self, read, |pool| {
            let row = sqlx::query(sql.text())
                .bind(config_id)
                .fetch_optional(pool)
                .await?;
            match row {
                None => Ok(PullState::default()),
                Some(r) => Ok(PullState {
                    last_sync_at: r.opt_i64("last_sync_at")?,
                    last_sync_ok: r.opt_i64("last_sync_ok")?.map(|v| v != 0),
                    last_sync_error: r.opt_text("last_sync_error")?,
                    current_hash: r.opt_text("current_hash")?,
                    backend_hash: r.opt_text("backend_hash")?,
                    config_updated_at: r.opt_i64("config_updated_at")?,
                    items: r.opt_i64("items")?.map(|n| u64::try_from(n).unwrap_or(0)),
                    items_kind: r.opt_text("items_kind")?,
                    refused_hash: r.opt_text("refused_hash")?,
                    failures: u32::try_from(r.i64("failures")?).unwrap_or(u32::MAX),
                }),
            }
        })
    }

    /// Replaces the state of config `config_id`.
    pub async fn save_pull_state(&self, config_id: i64, state: &PullState) -> Result<()> {
        let sql = Sql::new(
            self,
            "INSERT INTO pull_state (config_id, last_sync_at, last_sync_ok, last_sync_error,
                 current_hash, backend_hash, config_updated_at, items, items_kind, refused_hash, failures)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (config_id) DO UPDATE SET last_sync_at = excluded.last_sync_at,
                 last_sync_ok = excluded.last_sync_ok, last_sync_error = excluded.last_sync_error,
                 current_hash = excluded.current_hash, backend_hash = excluded.backend_hash,
                 config_updated_at = excluded.config_updated_at, items = excluded.items,
                 items_kind = excluded.items_kind, refused_hash = excluded.refused_hash,
                 failures = excluded.failures",
        );
        on_db!(self, write, |pool| {
            sqlx::query(sql.text())
                .bind(config_id)
                .bind(state.last_sync_at)
                .bind(state.last_sync_ok.map(i64::from))
                .bind(&state.last_sync_error)
                .bind(&state.current_hash)
                .bind(&state.backend_hash)
                .bind(state.config_updated_at)
                .bind(state.items.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
                .bind(&state.items_kind)
                .bind(&state.refused_hash)
                .bind(i64::from(state.failures))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_saved_state_reads_back_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&super::super::DbTarget::Sqlite(dir.path().join("s.db")))
            .await
            .unwrap();
        assert_eq!(store.pull_state(1).await.unwrap(), PullState::default());
        let file = crate::config::file::parse(
            std::path::Path::new("t.toml"),
            r#"
[[instance]]
name = "backend"
url = "http://127.0.0.1:1/config/{token}"
token_env = "T"

[[sync]]
name = "site"
kind = "http_pull"
source = "backend"
mode = "automatic"
[sync.pull]
target = "/tmp/site.json"
"#,
            &Default::default(),
        )
        .unwrap();
        store.apply(&file, false, false).await.unwrap();
        let id = store.config_by_name("site").await.unwrap().unwrap().id;
        let state = PullState {
            last_sync_at: Some(5),
            last_sync_ok: Some(false),
            last_sync_error: Some("backend answered 500".into()),
            current_hash: Some("a".repeat(32)),
            backend_hash: None,
            config_updated_at: Some(3),
            items: Some(2),
            items_kind: Some("devices".into()),
            refused_hash: None,
            failures: 2,
        };
        store.save_pull_state(id, &state).await.unwrap();
        assert_eq!(store.pull_state(id).await.unwrap(), state);
    }
}
