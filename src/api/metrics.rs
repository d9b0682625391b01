//! `GET /metrics` in Prometheus' text format (the official
//! `prometheus-client`). Counters count from the daemon's start; gauges are
//! read from the engine at each scrape.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::engine::events::Delivery;
use crate::engine::{EngineEvent, EngineHandle};
use crate::store::queue::{JobFilter, JobState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConfigLabel {
    config: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    config: String,
    /// `metadata` or `data`.
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/api/v1/jobs/{id}`), not the path: ids would
    /// make a series each.
    pub route: String,
    pub status: u16,
}

/// What is counted as it happens.
#[derive(Default)]
pub struct Counters {
    jobs_finished: Family<StateLabel, Counter>,
    synced: Family<ObjectLabels, Counter>,
    errors: Family<ObjectLabels, Counter>,
    detections: Family<ConfigLabel, Counter>,
    pub requests: Family<RequestLabels, Counter>,
    durations: DurationHistogram,
}

struct DurationHistogram(Histogram);

impl Default for DurationHistogram {
    fn default() -> Self {
        // 1 s … about 9 h.
        DurationHistogram(Histogram::new(exponential_buckets(1.0, 2.0, 16)))
    }
}

impl Counters {
    /// Counts the engine's events from now on.
    pub fn start(engine: &EngineHandle, cancel: CancellationToken) -> Arc<Counters> {
        let counters = Arc::new(Counters::default());
        let mut rx = engine.subscribe();
        let (engine, c) = (engine.clone(), counters.clone());
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = cancel.cancelled() => return,
                    e = rx.next() => e,
                };
                match event {
                    Some(Delivery::Event(e, _)) => c.count(&engine, &e).await,
                    Some(_) => continue,
                    None => return,
                }
            }
        });
        counters
    }

    async fn count(&self, engine: &EngineHandle, event: &EngineEvent) {
        match event {
            EngineEvent::JobState { job_id, state, .. }
                if matches!(
                    state,
                    JobState::Completed | JobState::Failed | JobState::Cancelled
                ) =>
            {
                self.jobs_finished
                    .get_or_create(&StateLabel {
                        state: state.as_str().into(),
                    })
                    .inc();
                let Ok((job, resources)) = engine.job(*job_id).await else {
                    return;
                };
                if let (Some(start), Some(end)) = (job.started_at, job.finished_at) {
                    self.durations
                        .0
                        .observe((end - start).max(0) as f64 / 1000.0);
                }
                let config = match job.config_id {
                    Some(id) => engine
                        .config(&id.to_string())
                        .await
                        .map_or_else(|_| format!("#{id}"), |c| c.name),
                    None => "-".into(),
                };
                for r in resources {
                    let labels = ObjectLabels {
                        config: config.clone(),
                        kind: r.rtype.clone(),
                    };
                    self.synced.get_or_create(&labels).inc_by(r.synced);
                    self.errors.get_or_create(&labels).inc_by(r.errors);
                }
            }
            EngineEvent::Detection { config_id, changes } => {
                let config = engine
                    .config(&config_id.to_string())
                    .await
                    .map_or_else(|_| format!("#{config_id}"), |c| c.name);
                self.detections
                    .get_or_create(&ConfigLabel { config })
                    .inc_by(changes.len() as u64);
            }
            _ => {}
        }
    }
}

/// The text of one scrape.
pub async fn render(engine: &EngineHandle, counters: &Counters) -> Result<String, String> {
    let snapshot = engine.snapshot().await.map_err(|e| e.to_string())?;
    let mut registry = Registry::with_prefix("syncdeck");
    let jobs: Family<StateLabel, Gauge> = Family::default();
    let queued: u64 = snapshot.configs.iter().map(|c| c.queued_jobs as u64).sum();
    let running = snapshot
        .configs
        .iter()
        .filter(|c| c.running_job.is_some())
        .count();
    let set = |state: &str, n: u64| {
        jobs.get_or_create(&StateLabel {
            state: state.into(),
        })
        .set(i64::try_from(n).unwrap_or(i64::MAX));
    };
    set("queued", queued);
    set("running", running as u64);
    set("failed", snapshot.failed_jobs);
    registry.register(
        "jobs",
        "Jobs on record by state (failed: all on record)",
        jobs,
    );
    let depth: Gauge = Gauge::default();
    depth.set(i64::try_from(queued).unwrap_or(i64::MAX));
    registry.register("queue_depth", "Jobs waiting for a worker", depth);
    let since: Family<ConfigLabel, Gauge<f64, std::sync::atomic::AtomicU64>> = Family::default();
    for c in &snapshot.configs {
        let last_ok = match &c.last_job {
            Some(j) if j.state == JobState::Completed => j.finished_at,
            _ => engine
                .jobs(JobFilter {
                    config_id: Some(c.id),
                    states: vec![JobState::Completed],
                    limit: 1,
                    ..Default::default()
                })
                .await
                .ok()
                .and_then(|jobs| jobs.first().and_then(|j| j.finished_at)),
        };
        if let Some(at) = last_ok {
            since
                .get_or_create(&ConfigLabel {
                    config: c.name.clone(),
                })
                .set((snapshot.now - at).max(0) as f64 / 1000.0);
        }
    }
    registry.register(
        "seconds_since_last_success",
        "Seconds since the config's last completed sync",
        since,
    );
    registry.register(
        "jobs_finished",
        "Jobs that ended since the daemon started, by final state",
        counters.jobs_finished.clone(),
    );
    registry.register(
        "objects_synced",
        "Objects synced by jobs that ended since the daemon started",
        counters.synced.clone(),
    );
    registry.register(
        "object_errors",
        "Objects refused or failed in jobs that ended since the daemon started",
        counters.errors.clone(),
    );
    registry.register(
        "detections",
        "Resources found changed by the change detector",
        counters.detections.clone(),
    );
    registry.register(
        "sync_duration_seconds",
        "How long finished jobs ran",
        counters.durations.0.clone(),
    );
    registry.register(
        "api_requests",
        "API requests by route and status",
        counters.requests.clone(),
    );
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).map_err(|e| e.to_string())?;
    Ok(out)
}
