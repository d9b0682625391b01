//! `RemoteEngine`: the engine of a daemon, through its HTTP API (a unix
//! socket or TCP) and its event stream. The console and the CLI use it
//! exactly as they use the local engine: everything crosses as the same
//! serde types, and the daemon's refusals come back as `EngineError`s.

pub mod http;
pub mod logs;
mod pump;
mod sse;

use std::collections::BTreeSet;
use std::path::Path;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

pub use self::http::Endpoint;
use self::http::Http;
use crate::api::Token;
use crate::config::{AutoSettings, ConfigFile, SyncConfig};
use crate::engine::events::EventStream;
use crate::engine::handle::{EngineApi, EngineError, Snapshot};
use crate::store::apply::ApplyPlan;
use crate::store::queue::{Job, JobFilter, ResourceProgress};
use crate::store::rejections::Rejection;
use crate::store::state::Detection;

pub struct RemoteEngine {
    http: Http,
    endpoint: Endpoint,
}

impl RemoteEngine {
    pub fn new(endpoint: &Endpoint, token: Token) -> Result<RemoteEngine, String> {
        Ok(RemoteEngine {
            http: Http::new(endpoint, token)?,
            endpoint: endpoint.clone(),
        })
    }

    /// Over a unix socket: a daemon on this host.
    pub fn on_this_host(&self) -> bool {
        matches!(self.endpoint, Endpoint::Unix(_))
    }

    /// Where it is, as the console's header shows it.
    pub fn shown(&self) -> &str {
        self.http.shown()
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        not_found: impl FnOnce() -> EngineError,
    ) -> Result<T, EngineError> {
        let req = self.http.request(Method::GET, segments)?.query(query);
        self.http.call(req, not_found).await
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        segments: &[&str],
        not_found: impl FnOnce() -> EngineError,
    ) -> Result<T, EngineError> {
        let req = self.http.request(Method::POST, segments)?;
        self.http.call(req, not_found).await
    }
}

impl RemoteEngine {
    /// `start` or `stop` one config, or every one.
    async fn switch(
        &self,
        reference: Option<&str>,
        verb: &str,
    ) -> Result<Vec<String>, EngineError> {
        let names: Names = match reference {
            Some(r) => {
                self.post(&["api", "v1", "configs", r, verb], unknown_config(r))
                    .await?
            }
            None => self.post(&["api", "v1", verb], no_endpoint).await?,
        };
        Ok(names.names)
    }
}

fn unknown_config(reference: &str) -> impl FnOnce() -> EngineError + '_ {
    move || EngineError::UnknownConfig(reference.to_string())
}

fn unknown_job(id: i64) -> impl FnOnce() -> EngineError {
    move || EngineError::UnknownJob(id)
}

fn no_endpoint() -> EngineError {
    EngineError::Unreachable(
        "the daemon has no such endpoint; is it a syncdeck daemon of the same version?".into(),
    )
}

/// `GET /api/v1/configs/{config}`: the status with the stored config and
/// its watermarks.
#[derive(Deserialize)]
struct ConfigAnswer {
    config: SyncConfig,
    #[serde(default)]
    watermarks: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Names {
    #[serde(alias = "started", alias = "stopped")]
    names: Vec<String>,
}

#[derive(Deserialize)]
struct Count {
    #[serde(alias = "retried", alias = "cleared")]
    n: u64,
}

#[async_trait]
impl EngineApi for RemoteEngine {
    async fn snapshot(&self) -> Result<Snapshot, EngineError> {
        self.get(&["api", "v1", "snapshot"], &[], no_endpoint).await
    }

    fn subscribe(&self) -> EventStream {
        pump::spawn(self.http.clone())
    }

    fn received_bytes(&self) -> u64 {
        self.http
            .received
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn config(&self, reference: &str) -> Result<SyncConfig, EngineError> {
        let answer: ConfigAnswer = self
            .get(
                &["api", "v1", "configs", reference],
                &[],
                unknown_config(reference),
            )
            .await?;
        Ok(answer.config)
    }

    async fn start(&self, reference: Option<&str>) -> Result<Vec<String>, EngineError> {
        self.switch(reference, "start").await
    }

    async fn stop(&self, reference: Option<&str>) -> Result<Vec<String>, EngineError> {
        self.switch(reference, "stop").await
    }

    async fn trigger(&self, reference: &str) -> Result<i64, EngineError> {
        #[derive(Deserialize)]
        struct Queued {
            job: Job,
        }
        let queued: Queued = self
            .post(
                &["api", "v1", "configs", reference, "trigger"],
                unknown_config(reference),
            )
            .await?;
        Ok(queued.job.id)
    }

    async fn setup(&self, reference: &str, settings: AutoSettings) -> Result<(), EngineError> {
        let req = self
            .http
            .request(
                Method::PUT,
                &["api", "v1", "configs", reference, "settings"],
            )?
            .json(&settings);
        let _: Value = self.http.call(req, unknown_config(reference)).await?;
        Ok(())
    }

    async fn clear_cooldown(&self, reference: &str) -> Result<Option<i64>, EngineError> {
        #[derive(Deserialize)]
        struct Cleared {
            was_until: Option<i64>,
        }
        let cleared: Cleared = self
            .post(
                &["api", "v1", "configs", reference, "cooldown", "clear"],
                unknown_config(reference),
            )
            .await?;
        Ok(cleared.was_until)
    }

    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, EngineError> {
        let mut query = vec![("limit", filter.limit.to_string())];
        if !filter.states.is_empty() {
            let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
            query.push(("state", states.join(",")));
        }
        if let Some(id) = filter.config_id {
            query.push(("config", id.to_string()));
        }
        if let Some(queue) = filter.queue {
            query.push(("queue", queue));
        }
        let config = filter
            .config_id
            .map(|id| id.to_string())
            .unwrap_or_default();
        self.get(&["api", "v1", "jobs"], &query, unknown_config(&config))
            .await
    }

    async fn job(&self, id: i64) -> Result<(Job, Vec<ResourceProgress>), EngineError> {
        #[derive(Deserialize)]
        struct Detail {
            job: Job,
            resources: Vec<ResourceProgress>,
        }
        let detail: Detail = self
            .get(
                &["api", "v1", "jobs", &id.to_string()],
                &[],
                unknown_job(id),
            )
            .await?;
        Ok((detail.job, detail.resources))
    }

    async fn rejections(&self, id: i64) -> Result<Vec<Rejection>, EngineError> {
        self.get(
            &["api", "v1", "jobs", &id.to_string(), "rejections"],
            &[],
            unknown_job(id),
        )
        .await
    }

    async fn retry(&self, id: i64) -> Result<(), EngineError> {
        let _: Value = self
            .post(
                &["api", "v1", "jobs", &id.to_string(), "retry"],
                unknown_job(id),
            )
            .await?;
        Ok(())
    }

    async fn retry_all(&self) -> Result<u64, EngineError> {
        let count: Count = self
            .post(&["api", "v1", "jobs", "retry"], no_endpoint)
            .await?;
        Ok(count.n)
    }

    async fn clear(&self) -> Result<u64, EngineError> {
        let count: Count = self
            .post(&["api", "v1", "jobs", "clear"], no_endpoint)
            .await?;
        Ok(count.n)
    }

    async fn detections(
        &self,
        reference: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Detection>, EngineError> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(r) = reference {
            query.push(("config", r.to_string()));
        }
        self.get(
            &["api", "v1", "detections"],
            &query,
            unknown_config(reference.unwrap_or_default()),
        )
        .await
    }

    async fn watermarks(&self, reference: &str) -> Result<Vec<(String, String)>, EngineError> {
        let answer: ConfigAnswer = self
            .get(
                &["api", "v1", "configs", reference],
                &[],
                unknown_config(reference),
            )
            .await?;
        Ok(answer
            .watermarks
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect())
    }

    async fn apply(
        &self,
        name: &str,
        text: &str,
        prune: bool,
        dry_run: bool,
    ) -> Result<ApplyPlan, EngineError> {
        let req = self
            .http
            .request(Method::POST, &["api", "v1", "apply"])?
            .query(&[
                ("prune", prune.to_string()),
                ("dry_run", dry_run.to_string()),
                ("name", name.to_string()),
            ])
            .header(reqwest::header::CONTENT_TYPE, "application/toml")
            .body(text.to_string());
        self.http.call(req, no_endpoint).await
    }

    async fn export(&self) -> Result<ConfigFile, EngineError> {
        let req = self.http.request(Method::GET, &["api", "v1", "export"])?;
        let resp = self.http.send(req).await?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| EngineError::Unreachable(format!("the export broke off: {e}")))?;
        if !status.is_success() {
            return Err(self.http.refusal(status, text.as_bytes(), no_endpoint));
        }
        // The daemon's own export declares every instance it names.
        crate::config::file::parse(Path::new("the daemon's export"), &text, &BTreeSet::new())
            .map_err(EngineError::InvalidConfig)
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::config::{ExecMode, Selection, SyncKind};
    use crate::engine::events::{EngineEvent, SchedulerStatus};
    use crate::engine::handle::{AutoState, ConfigStatus, PullStatus, Snapshot};
    use crate::store::apply::{Action, ApplyPlan, Change};
    use crate::store::queue::JobState;
    use crate::tui::sample;

    /// What crosses the API reads back as it was written: JSON out, the
    /// type in, the same JSON out again.
    fn round_trips<T: Serialize + DeserializeOwned>(value: &T) {
        let json = serde_json::to_value(value).unwrap();
        let back: T =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}: {json:#}"));
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
    }

    #[test]
    fn everything_that_crosses_the_api_reads_back_as_written() {
        let config = crate::config::SyncConfig {
            id: 3,
            name: "copy".into(),
            kind: SyncKind::Dhis2,
            source_id: 1,
            destination_id: Some(2),
            mode: ExecMode::Automatic,
            selection: Selection::default(),
            active: true,
            auto: Some(crate::config::AutoSettings::default()),
            pull: None,
        };
        let status = ConfigStatus {
            id: 3,
            name: "copy".into(),
            kind: SyncKind::Dhis2,
            source: "national".into(),
            destination: Some("regional".into()),
            mode: ExecMode::Automatic,
            active: true,
            auto: AutoState::of(&config),
            lifecycle: Default::default(),
            running_job: Some(sample::job(7, 3, JobState::Running, 10, 1)),
            queued_jobs: 1,
            next_job: None,
            last_job: Some(sample::job(6, 3, JobState::Failed, 0, 2)),
            pull: Some(PullStatus {
                target: "/etc/site.json".into(),
                interval_s: 300,
                state: Default::default(),
            }),
            config,
        };
        round_trips(&Snapshot {
            now: 1,
            configs: vec![status],
            failed_jobs: 1,
            synced_total: 10,
        });
        round_trips(&ApplyPlan {
            dry_run: true,
            instances: vec![Change {
                name: "national".into(),
                action: Action::Unchanged,
                fields: Vec::new(),
                note: None,
            }],
            syncs: Vec::new(),
        });
        round_trips(&sample::resources(3));
        for event in [
            EngineEvent::Scheduler {
                config_id: 1,
                status: SchedulerStatus::Cooldown { until: 5 },
            },
            EngineEvent::Detection {
                config_id: 1,
                changes: vec![("dataValues:x".into(), 4)],
            },
            EngineEvent::JobState {
                job_id: 2,
                config_id: None,
                state: JobState::Failed,
                error: Some("401".into()),
            },
            EngineEvent::Progress {
                job_id: 2,
                config_id: Some(1),
                progress: Default::default(),
                resources: sample::resources(2),
                eta_secs: Some(4),
            },
            EngineEvent::ConfigsChanged,
        ] {
            round_trips(&event);
        }
    }
}
