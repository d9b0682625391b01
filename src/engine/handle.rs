//! `EngineHandle`: the one door the CLI and the console use. Today it is the
//! local engine (same process, same database); a remote one (HTTP + SSE to a
//! daemon) can implement the same trait without touching callers.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::events::{EngineEvent, EventStream};
use crate::config::model::describe_problems;
use crate::config::{AutoSettings, ConfigFile, ExecMode, SyncConfig, SyncKind};
use crate::store::apply::ApplyPlan;
use crate::store::pull::PullState;
use crate::store::queue::{
    Job, JobFilter, JobKind, JobState, NewJob, QueueStore, ResourceProgress,
};
use crate::store::rejections::Rejection;
use crate::store::state::{Detection, LifecycleState};
use crate::store::{Store, StoreError};

/// What can go wrong behind the API, as either side can produce it: the
/// local engine (from the store) and a remote one (from the daemon's answer
/// or the link to it).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no sync config named or numbered {0:?}; `syncdeck list` shows them")]
    UnknownConfig(String),
    #[error("no job {0}; `syncdeck jobs` lists them")]
    UnknownJob(i64),
    #[error("{0}")]
    Invalid(String),
    /// A configuration document with problems, each by file, line and key.
    #[error("{0}")]
    InvalidConfig(crate::config::ValidationErrors),
    /// The database failed; its message.
    #[error("{0}")]
    Store(String),
    /// A remote engine could not be reached, or answered out of contract.
    #[error("{0}")]
    Unreachable(String),
    /// A remote engine refused the token.
    #[error("{0}")]
    Unauthorized(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e.to_string())
    }
}

/// Whether a config's scheduler would run: `enabled` / `disabled` (its
/// `[sync.auto]` says so) / `not_configured` (no `[sync.auto]`: manual).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoState {
    Enabled,
    Disabled,
    NotConfigured,
}

impl AutoState {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoState::Enabled => "enabled",
            AutoState::Disabled => "disabled",
            AutoState::NotConfigured => "not configured",
        }
    }

    pub fn of(config: &SyncConfig) -> AutoState {
        match &config.auto {
            // A pull's poller is on whenever the config is automatic.
            None if config.kind == SyncKind::HttpPull && config.mode == ExecMode::Automatic => {
                AutoState::Enabled
            }
            None => AutoState::NotConfigured,
            Some(a) if a.enabled => AutoState::Enabled,
            Some(_) => AutoState::Disabled,
        }
    }
}

impl std::fmt::Display for AutoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A config with everything the console shows about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigStatus {
    pub id: i64,
    pub name: String,
    pub kind: SyncKind,
    pub source: String,
    pub destination: Option<String>,
    pub mode: ExecMode,
    pub active: bool,
    pub auto: AutoState,
    pub lifecycle: LifecycleState,
    pub running_job: Option<Job>,
    pub queued_jobs: usize,
    /// The queued job due first (holds the error of a failed attempt
    /// waiting for its retry).
    pub next_job: Option<Job>,
    pub last_job: Option<Job>,
    /// What the last pulls of an `http_pull` config found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullStatus>,
    /// The stored configuration (no secrets: instances hold those).
    pub config: SyncConfig,
}

/// An `http_pull` config's local copy and its last pulls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullStatus {
    pub target: String,
    pub interval_s: u64,
    #[serde(flatten)]
    pub state: PullState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Database clock, ms since the epoch.
    pub now: i64,
    pub configs: Vec<ConfigStatus>,
    pub failed_jobs: u64,
    /// Objects synced by all jobs on record (running ones included).
    pub synced_total: u64,
}

#[async_trait]
pub trait EngineApi: Send + Sync {
    async fn snapshot(&self) -> Result<Snapshot, EngineError>;
    /// The engine's events from now on (see [`EventStream`]).
    fn subscribe(&self) -> EventStream;
    /// A config by name or id.
    async fn config(&self, reference: &str) -> Result<SyncConfig, EngineError>;
    /// Switches the scheduler on; returns the configs changed.
    async fn start(&self, reference: Option<&str>) -> Result<Vec<String>, EngineError>;
    /// Switches the scheduler off and cancels queued jobs (a running sync finishes).
    async fn stop(&self, reference: Option<&str>) -> Result<Vec<String>, EngineError>;
    /// Queues a sync now (ignores cooldown and throttle: an operator asked).
    async fn trigger(&self, reference: &str) -> Result<i64, EngineError>;
    async fn setup(&self, reference: &str, settings: AutoSettings) -> Result<(), EngineError>;
    /// Ends a config's cooldown after a failed job now; returns when it
    /// would have ended (`None`: it was not in cooldown). The scheduler syncs
    /// again from its next check.
    async fn clear_cooldown(&self, reference: &str) -> Result<Option<i64>, EngineError>;
    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, EngineError>;
    async fn job(&self, id: i64) -> Result<(Job, Vec<ResourceProgress>), EngineError>;
    /// What the destination refused during a job (permanent refusals included).
    async fn rejections(&self, id: i64) -> Result<Vec<Rejection>, EngineError>;
    async fn retry(&self, id: i64) -> Result<(), EngineError>;
    async fn retry_all(&self) -> Result<u64, EngineError>;
    async fn clear(&self) -> Result<u64, EngineError>;
    async fn detections(
        &self,
        reference: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Detection>, EngineError>;
    /// A config's watermarks: resource key → the source's server time its
    /// last clean sync started at (read only).
    async fn watermarks(&self, reference: &str) -> Result<Vec<(String, String)>, EngineError>;
    /// Validates `text` (TOML, read as the file `name`) exactly as `apply -f`
    /// does and applies it, or with `dry_run` only says what it would do.
    async fn apply(
        &self,
        name: &str,
        text: &str,
        prune: bool,
        dry_run: bool,
    ) -> Result<ApplyPlan, EngineError>;
    /// Everything stored, as the file `apply` reads.
    async fn export(&self) -> Result<ConfigFile, EngineError>;

    /// Bytes read so far from the link to the engine (answers and events;
    /// 0 for one in this process): the console's `--stats`.
    fn received_bytes(&self) -> u64 {
        0
    }
}

pub type EngineHandle = Arc<dyn EngineApi>;

/// The engine in this process, over the database.
pub struct LocalEngine {
    pub(crate) store: Store,
    pub(crate) queue: Arc<dyn QueueStore>,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    /// Called after changes the running schedulers/workers must see at once.
    pub(crate) on_change: Box<dyn Fn() + Send + Sync>,
}

impl LocalEngine {
    fn changed(&self) {
        (self.on_change)();
        let _ = self.events.send(EngineEvent::ConfigsChanged);
    }

    async fn selected(&self, reference: Option<&str>) -> Result<Vec<SyncConfig>, EngineError> {
        match reference {
            Some(r) => Ok(vec![self.config(r).await?]),
            None => Ok(self.store.list_configs().await?),
        }
    }
}

#[async_trait]
impl EngineApi for LocalEngine {
    async fn snapshot(&self) -> Result<Snapshot, EngineError> {
        let now = self.store.now_ms().await?;
        let instances = self.store.list_instances().await?;
        let name_of = |id: i64| {
            instances
                .iter()
                .find(|i| i.id == id)
                .map_or_else(|| format!("#{id}"), |i| i.name.clone())
        };
        let active_jobs = self
            .queue
            .list(&JobFilter {
                states: vec![JobState::Queued, JobState::Running],
                ..Default::default()
            })
            .await?;
        let failed_jobs = self
            .queue
            .count(&JobFilter {
                states: vec![JobState::Failed],
                ..Default::default()
            })
            .await?;
        let synced_total = self.queue.synced_total().await?;
        let mut configs = Vec::new();
        for config in self.store.list_configs().await? {
            let lifecycle = self.store.lifecycle(config.id).await?;
            let pull = match &config.pull {
                None => None,
                Some(settings) => Some(PullStatus {
                    target: settings.target.display().to_string(),
                    interval_s: settings.interval.as_secs(),
                    state: self.store.pull_state(config.id).await?,
                }),
            };
            let last_job = self
                .queue
                .list(&JobFilter {
                    config_id: Some(config.id),
                    states: vec![JobState::Completed, JobState::Failed],
                    limit: 1,
                    ..Default::default()
                })
                .await?
                .into_iter()
                .next();
            let mine = active_jobs
                .iter()
                .filter(|j| j.config_id == Some(config.id));
            configs.push(ConfigStatus {
                id: config.id,
                name: config.name.clone(),
                kind: config.kind,
                source: name_of(config.source_id),
                destination: config.destination_id.map(name_of),
                mode: config.mode,
                active: config.active,
                auto: AutoState::of(&config),
                lifecycle,
                running_job: mine.clone().find(|j| j.state == JobState::Running).cloned(),
                queued_jobs: mine.clone().filter(|j| j.state == JobState::Queued).count(),
                next_job: mine
                    .filter(|j| j.state == JobState::Queued)
                    .min_by_key(|j| j.run_at)
                    .cloned(),
                last_job,
                pull,
                config,
            });
        }
        Ok(Snapshot {
            now,
            configs,
            failed_jobs,
            synced_total,
        })
    }

    fn subscribe(&self) -> EventStream {
        EventStream::local(self.events.subscribe())
    }

    async fn config(&self, reference: &str) -> Result<SyncConfig, EngineError> {
        self.store
            .config_by_ref(reference)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => EngineError::UnknownConfig(reference.to_string()),
                e => e.into(),
            })
    }

    async fn start(&self, reference: Option<&str>) -> Result<Vec<String>, EngineError> {
        let mut names = Vec::new();
        for config in self.selected(reference).await? {
            self.store.set_active(config.id, true).await?;
            names.push(config.name);
        }
        self.changed();
        Ok(names)
    }

    async fn stop(&self, reference: Option<&str>) -> Result<Vec<String>, EngineError> {
        let mut names = Vec::new();
        for config in self.selected(reference).await? {
            self.store.set_active(config.id, false).await?;
            let cancelled = self.queue.cancel_queued(config.id).await?;
            if cancelled > 0 {
                tracing::info!(target: "sync_jobs", config_id = config.id, "{cancelled} queued job(s) of {} cancelled: its scheduler was stopped", crate::text::inert(&config.name));
            }
            names.push(config.name);
        }
        self.changed();
        Ok(names)
    }

    async fn trigger(&self, reference: &str) -> Result<i64, EngineError> {
        let config = self.config(reference).await?;
        // An http_pull config's destination is its target file.
        if config.kind == SyncKind::Dhis2 && config.destination_id.is_none() {
            return Err(EngineError::Invalid(format!(
                "{} has no destination to sync into",
                config.name
            )));
        }
        let id = self
            .queue
            .enqueue(&NewJob::for_config(
                &config,
                JobKind::Manual,
                "triggered by an operator",
            ))
            .await?;
        let _ = self.events.send(EngineEvent::JobQueued {
            job_id: id,
            config_id: Some(config.id),
        });
        (self.on_change)();
        Ok(id)
    }

    async fn setup(&self, reference: &str, settings: AutoSettings) -> Result<(), EngineError> {
        if let Err(problems) = settings.validate() {
            return Err(EngineError::Invalid(describe_problems(&problems)));
        }
        let config = self.config(reference).await?;
        self.store
            .update_auto_settings(config.id, &settings)
            .await?;
        self.changed();
        Ok(())
    }

    async fn clear_cooldown(&self, reference: &str) -> Result<Option<i64>, EngineError> {
        let config = self.config(reference).await?;
        let now = self.store.now_ms().await?;
        let Some(until) = self
            .store
            .clear_cooldown(config.id)
            .await?
            .filter(|&u| u > now)
        else {
            return Ok(None);
        };
        tracing::info!(target: "auto_sync", config = %crate::text::inert(&config.name), "cooldown ended by an operator; checks resume at the next interval");
        // Watchers showing the scheduler's last event (cooldown) must see it end.
        let state = self.store.lifecycle(config.id).await?;
        let _ = self.events.send(EngineEvent::Scheduler {
            config_id: config.id,
            status: super::events::SchedulerStatus::Waiting {
                next_check_at: state.next_check_at.unwrap_or(now).max(now),
            },
        });
        self.changed();
        Ok(Some(until))
    }

    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, EngineError> {
        Ok(self.queue.list(&filter).await?)
    }

    async fn job(&self, id: i64) -> Result<(Job, Vec<ResourceProgress>), EngineError> {
        let job = self
            .queue
            .get(id)
            .await?
            .ok_or(EngineError::UnknownJob(id))?;
        let resources = self.queue.resources(id).await?;
        Ok((job, resources))
    }

    async fn rejections(&self, id: i64) -> Result<Vec<Rejection>, EngineError> {
        if self.queue.get(id).await?.is_none() {
            return Err(EngineError::UnknownJob(id));
        }
        Ok(self.store.rejections(id).await?)
    }

    async fn retry(&self, id: i64) -> Result<(), EngineError> {
        if self.queue.retry(id).await? {
            (self.on_change)();
            Ok(())
        } else if self.queue.get(id).await?.is_none() {
            Err(EngineError::UnknownJob(id))
        } else {
            Err(EngineError::Invalid(format!(
                "job {id} is not failed or cancelled; only those can be retried"
            )))
        }
    }

    async fn retry_all(&self) -> Result<u64, EngineError> {
        let n = self.queue.retry_all_failed().await?;
        (self.on_change)();
        Ok(n)
    }

    async fn clear(&self) -> Result<u64, EngineError> {
        Ok(self.queue.clear().await?)
    }

    async fn detections(
        &self,
        reference: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Detection>, EngineError> {
        let config_id = match reference {
            Some(r) => Some(self.config(r).await?.id),
            None => None,
        };
        Ok(self.store.detections(config_id, limit).await?)
    }

    async fn watermarks(&self, reference: &str) -> Result<Vec<(String, String)>, EngineError> {
        let config = self.config(reference).await?;
        Ok(self.store.watermarks(config.id).await?)
    }

    async fn apply(
        &self,
        name: &str,
        text: &str,
        prune: bool,
        dry_run: bool,
    ) -> Result<ApplyPlan, EngineError> {
        let known = self
            .store
            .list_instances()
            .await?
            .into_iter()
            .map(|i| i.name)
            .collect();
        let file = crate::config::file::parse(std::path::Path::new(name), text, &known)
            .map_err(EngineError::InvalidConfig)?;
        let plan = self.store.apply(&file, prune, dry_run).await?;
        if !dry_run {
            self.changed();
        }
        Ok(plan)
    }

    async fn export(&self) -> Result<ConfigFile, EngineError> {
        Ok(self.store.export().await?)
    }
}
