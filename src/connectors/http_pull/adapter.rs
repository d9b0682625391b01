//! The config-pull connector seen from the engine. Its plan is one resource,
//! the document. A change check (the scheduler's poll) is one conditional
//! GET; a job pulls, applies and writes. Both record what they found in the
//! store's pull state, which `status --json` and the console show.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::fetch::{Document, Fetched, PullClient, PullError};
use super::{RESOURCE_KEY, on_change, syncdeck_apply, target};
use crate::config::model::{PullApply, PullSettings};
use crate::config::{Instance, SyncConfig};
use crate::connectors::dhis2::secrets;
use crate::engine::connector::{
    ChangeCount, ConflictClass, ConnectorError, Outcome, PlannedResource, Rejection,
    ResourceProgressSink, SyncConnector,
};
use crate::engine::worker::ConnectorFactory;
use crate::store::Store;
use crate::store::pull::PullState;

const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
const DEFAULT_TOTAL: Duration = Duration::from_secs(60);

/// Builds `http_pull` connectors from the stored configs and instances.
pub struct HttpPullConnectors {
    store: Store,
}

impl HttpPullConnectors {
    pub fn new(store: Store) -> HttpPullConnectors {
        HttpPullConnectors { store }
    }
}

#[async_trait]
impl ConnectorFactory for HttpPullConnectors {
    async fn connector(
        &self,
        config: &SyncConfig,
    ) -> Result<Arc<dyn SyncConnector>, ConnectorError> {
        let pull = config.pull.clone().ok_or_else(|| {
            ConnectorError::Config(format!(
                "{} has no [sync.pull] table; add one and run syncdeck apply again",
                config.name
            ))
        })?;
        let instance: Instance = self
            .store
            .instance(config.source_id)
            .await
            .map_err(|e| {
                ConnectorError::Transient(format!("cannot read the backend instance: {e}"))
            })?
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "the backend instance #{} no longer exists",
                    config.source_id
                ))
            })?;
        let name = instance.name.clone();
        let timeouts = instance.timeouts;
        let url = instance.url.clone();
        let credentials = tokio::task::spawn_blocking(move || secrets::credentials(&instance))
            .await
            .map_err(|e| ConnectorError::Other(e.to_string()))?
            .map_err(|e| ConnectorError::Config(e.to_string()))?;
        let connect = timeouts.connect.unwrap_or(DEFAULT_CONNECT);
        let total = match (timeouts.first_byte, timeouts.idle) {
            (None, None) => DEFAULT_TOTAL,
            (f, i) => f.unwrap_or(DEFAULT_TOTAL) + i.unwrap_or(Duration::ZERO),
        };
        let client = PullClient::new(&url, credentials, connect, total)
            .map_err(|e| ConnectorError::Config(format!("instance {name}: {e}")))?;
        Ok(Arc::new(HttpPullConnector {
            store: self.store.clone(),
            config_id: config.id,
            name: config.name.clone(),
            pull,
            client,
        }))
    }
}

struct HttpPullConnector {
    store: Store,
    config_id: i64,
    name: String,
    pull: PullSettings,
    client: PullClient,
}

/// What one pull found, before anything is written.
enum Found {
    UpToDate(Option<Document>),
    /// The same document was refused before; `why` is that refusal.
    StillRefused {
        hash: String,
    },
    Changed {
        local: Option<Document>,
        new: Document,
    },
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

impl HttpPullConnector {
    async fn state(&self) -> Result<PullState, ConnectorError> {
        self.store
            .pull_state(self.config_id)
            .await
            .map_err(|e| ConnectorError::Transient(format!("cannot read the pull state: {e}")))
    }

    async fn save(&self, state: &PullState) -> Result<(), ConnectorError> {
        self.store
            .save_pull_state(self.config_id, state)
            .await
            .map_err(|e| ConnectorError::Transient(format!("cannot record the pull state: {e}")))
    }

    /// The local copy, the fallback: a broken one counts as none (the next
    /// pull replaces it, the broken one kept as `.prev`).
    async fn local(&self) -> Option<Document> {
        let path = self.pull.target.clone();
        let field = self.pull.hash_field.clone();
        let verify = self.pull.verify_hash;
        let read =
            tokio::task::spawn_blocking(move || target::read_local(&path, &field, verify)).await;
        match read {
            Ok(Ok(doc)) => doc,
            Ok(Err(e)) => {
                warn!(target: "config_sync", config = %self.name, "{e}; the next pull replaces it");
                None
            }
            Err(e) => {
                warn!(target: "config_sync", config = %self.name, "cannot read the local copy: {e}");
                None
            }
        }
    }

    /// GETs the document and compares it with the local copy.
    async fn find(&self, state: &PullState) -> Result<Found, PullError> {
        let local = self.local().await;
        let current = local.as_ref().map(|d| d.backend_hash.as_str());
        match self
            .client
            .fetch(current, &self.pull.hash_field, self.pull.verify_hash)
            .await?
        {
            Fetched::NotModified => Ok(Found::UpToDate(local)),
            Fetched::Document(new) => {
                if local
                    .as_ref()
                    .is_some_and(|l| l.backend_hash == new.backend_hash)
                {
                    Ok(Found::UpToDate(local))
                } else if state.refused_hash.as_deref() == Some(new.backend_hash.as_str()) {
                    Ok(Found::StillRefused {
                        hash: new.backend_hash,
                    })
                } else {
                    Ok(Found::Changed { local, new })
                }
            }
        }
    }

    /// Records a pull that reached the backend and found the local copy current.
    fn up_to_date(&self, state: &mut PullState, local: Option<&Document>) {
        state.last_sync_at = Some(now_ms());
        state.last_sync_ok = Some(true);
        state.last_sync_error = None;
        state.failures = 0;
        state.refused_hash = None;
        if let Some(doc) = local {
            state.current_hash = Some(doc.backend_hash.clone());
            state.backend_hash = Some(doc.backend_hash.clone());
            state.items = Some(doc.items);
            state.items_kind = Some(doc.items_kind.into());
        }
        let hash = state.current_hash.as_deref().unwrap_or("none");
        info!(target: "config_sync", config = %self.name, "config is up to date (hash {hash})");
    }

    async fn failed(&self, state: &mut PullState, error: &str) -> Result<(), ConnectorError> {
        state.last_sync_at = Some(now_ms());
        state.last_sync_ok = Some(false);
        state.last_sync_error = Some(error.to_string());
        state.failures = state.failures.saturating_add(1);
        warn!(target: "config_sync", config = %self.name, "pull failed: {error}; the local copy is kept");
        self.save(state).await
    }

    /// Validates (for `apply = "syncdeck"`), writes the new document and runs
    /// `on_change`; the problem of an `on_change` that failed is returned.
    async fn install(
        &self,
        state: &mut PullState,
        local: Option<&Document>,
        new: &Document,
    ) -> Result<Option<String>, ConnectorError> {
        if self.pull.apply == PullApply::Syncdeck {
            match syncdeck_apply::apply(&self.store, &new.bytes, &self.pull.hash_field, &self.name)
                .await
            {
                Ok(plan) => {
                    let created = plan
                        .syncs
                        .iter()
                        .filter(|c| c.action == crate::store::apply::Action::Create)
                        .count();
                    let updated = plan
                        .syncs
                        .iter()
                        .filter(|c| c.action == crate::store::apply::Action::Update)
                        .count();
                    info!(target: "config_sync", config = %self.name, "pulled configuration applied: {created} syncs created, {updated} updated");
                }
                Err(why) => {
                    let message = format!(
                        "the pulled configuration {} is invalid; nothing was applied and the last good one keeps running:\n{why}",
                        short(&new.backend_hash)
                    );
                    state.refused_hash = Some(new.backend_hash.clone());
                    state.backend_hash = Some(new.backend_hash.clone());
                    self.failed(state, &message).await?;
                    return Err(ConnectorError::Config(message));
                }
            }
        }
        let path = self.pull.target.clone();
        let bytes = new.bytes.clone();
        let written = tokio::task::spawn_blocking(move || target::write_atomically(&path, &bytes))
            .await
            .map_err(|e| ConnectorError::Other(e.to_string()))?;
        if let Err(e) = written {
            let message = format!(
                "cannot write {}: {e}; the previous document is untouched",
                self.pull.target.display()
            );
            state.backend_hash = Some(new.backend_hash.clone());
            self.failed(state, &message).await?;
            return Err(ConnectorError::Transient(message));
        }
        let old = local.map_or("none", |l| l.backend_hash.as_str());
        info!(target: "config_sync", config = %self.name, "config changed: old {old} → new {}, {} {}", new.backend_hash, new.items, new.items_kind);
        let at = now_ms();
        *state = PullState {
            last_sync_at: Some(at),
            last_sync_ok: Some(true),
            last_sync_error: None,
            current_hash: Some(new.backend_hash.clone()),
            backend_hash: Some(new.backend_hash.clone()),
            config_updated_at: Some(at),
            items: Some(new.items),
            items_kind: Some(new.items_kind.into()),
            refused_hash: None,
            failures: 0,
        };
        let ran = on_change::run(
            &self.name,
            &self.pull.on_change,
            &self.pull.target,
            &new.backend_hash,
            self.pull.on_change_timeout,
        )
        .await;
        let problem = ran.err().map(|why| {
            let message = format!("the document was written, but {why}");
            state.last_sync_ok = Some(false);
            state.last_sync_error = Some(message.clone());
            message
        });
        self.save(state).await?;
        Ok(problem)
    }
}

fn connector_error(e: &PullError) -> ConnectorError {
    match e {
        PullError::Unreachable(m) | PullError::Server(m) => ConnectorError::Transient(m.clone()),
        PullError::Refused(m) => ConnectorError::Auth(m.clone()),
        PullError::Config(m) => ConnectorError::Config(m.clone()),
        PullError::NotADocument(m) | PullError::HashMismatch(m) => ConnectorError::Other(m.clone()),
    }
}

#[async_trait]
impl SyncConnector for HttpPullConnector {
    /// A watermark here is only when the document was last pulled.
    async fn server_time(&self) -> Result<String, ConnectorError> {
        Ok(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    async fn plan(&self) -> Result<Vec<PlannedResource>, ConnectorError> {
        Ok(vec![PlannedResource {
            key: RESOURCE_KEY.into(),
            label: "configuration document".into(),
            is_metadata: false,
        }])
    }

    /// The poll: 1 when the backend has a document the local copy is not.
    async fn count_changes(
        &self,
        _resource: &PlannedResource,
        _since: Option<&str>,
    ) -> Result<ChangeCount, ConnectorError> {
        let mut state = self.state().await?;
        let found = match self.find(&state).await {
            Ok(found) => found,
            Err(e) => {
                self.failed(&mut state, &e.to_string()).await?;
                return Err(connector_error(&e));
            }
        };
        let count = match found {
            Found::UpToDate(local) => {
                self.up_to_date(&mut state, local.as_ref());
                0
            }
            Found::StillRefused { hash } => {
                state.last_sync_at = Some(now_ms());
                info!(target: "config_sync", config = %self.name, "the backend still serves the refused document {}; waiting for a corrected one", short(&hash));
                0
            }
            Found::Changed { new, .. } => {
                state.last_sync_at = Some(now_ms());
                state.backend_hash = Some(new.backend_hash.clone());
                info!(target: "config_sync", config = %self.name, "the backend has a new document ({})", new.backend_hash);
                1
            }
        };
        self.save(&state).await?;
        Ok(ChangeCount { count, exact: true })
    }

    async fn sync_resource(
        &self,
        _resource: &PlannedResource,
        _since: Option<&str>,
        progress: &dyn ResourceProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Outcome, ConnectorError> {
        progress.set_total(1);
        progress.step("pulling the document");
        let mut state = self.state().await?;
        let found = tokio::select! {
            _ = cancel.cancelled() => return Err(ConnectorError::Cancelled),
            found = self.find(&state) => found,
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                self.failed(&mut state, &e.to_string()).await?;
                return Err(connector_error(&e));
            }
        };
        // From here nothing is cancelled: a write is short and must finish.
        match found {
            Found::UpToDate(local) => {
                self.up_to_date(&mut state, local.as_ref());
                self.save(&state).await?;
                progress.add(1, 0, 0);
                Ok(Outcome {
                    processed: 1,
                    ..Outcome::default()
                })
            }
            Found::StillRefused { hash } => {
                let message = state
                    .last_sync_error
                    .clone()
                    .unwrap_or_else(|| format!("the document {} was refused before", short(&hash)));
                Err(ConnectorError::Config(message))
            }
            Found::Changed { local, new } => {
                progress.step("writing the document");
                let problem = self.install(&mut state, local.as_ref(), &new).await?;
                progress.add(1, 1, u64::from(problem.is_some()));
                Ok(Outcome {
                    processed: 1,
                    synced: 1,
                    errors: u64::from(problem.is_some()),
                    rejections: problem
                        .into_iter()
                        .map(|message| Rejection {
                            class: ConflictClass::Other,
                            code: Some("on_change".into()),
                            message,
                            object: Some(self.pull.target.display().to_string()),
                        })
                        .collect(),
                    ..Outcome::default()
                })
            }
        }
    }
}
