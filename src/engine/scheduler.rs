//! One task per active automatic config: tick every `check_interval` (the
//! first tick jittered), apply the lifecycle rules, detect changes, enqueue.
//! The scheduler only decides; workers run the jobs.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::clock::Clock;
use super::events::{EngineEvent, SchedulerStatus};
use super::lifecycle::{self, Gate};
use crate::config::{AutoSettings, SyncConfig};
use crate::store::queue::JobKind;
use crate::store::state::{LifecyclePart, LifecycleState};

/// A resource with changes since its watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub resource: String,
    pub count: u64,
}

/// What a scheduler needs from the rest of the engine (the store, the queue,
/// the connectors); tests give it an in-memory one under paused time.
#[async_trait]
pub trait SchedulerPort: Send + Sync {
    /// Every config as stored now.
    async fn configs(&self) -> anyhow::Result<Vec<SyncConfig>>;
    /// The config as stored now (settings may change at run time).
    async fn config(&self, id: i64) -> anyhow::Result<Option<SyncConfig>>;
    async fn lifecycle(&self, id: i64) -> anyhow::Result<LifecycleState>;
    /// Saves the scheduler's part (or, for the supervisor, the outcome part).
    async fn save_lifecycle(
        &self,
        id: i64,
        state: &LifecycleState,
        part: LifecyclePart,
    ) -> anyhow::Result<()>;
    async fn has_pending(&self, id: i64) -> anyhow::Result<bool>;
    /// Counts changes of the monitored resources (and records the detection).
    async fn detect(&self, config: &SyncConfig) -> anyhow::Result<Vec<Change>>;
    async fn enqueue(
        &self,
        config: &SyncConfig,
        kind: JobKind,
        resources: Vec<String>,
        reason: String,
    ) -> anyhow::Result<i64>;
    fn publish(&self, event: EngineEvent);
}

/// Runs the scheduler of one config until `cancel` or until the config no
/// longer wants one. An error ends the task (the supervisor restarts it).
pub async fn run(
    port: Arc<dyn SchedulerPort>,
    config_id: i64,
    clock: Clock,
    jitter_unit: f64,
    first_within: Option<std::time::Duration>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let Some(config) = port.config(config_id).await? else {
        return Ok(());
    };
    let Some(settings) = config.auto.clone() else {
        return Ok(());
    };
    let state = port.lifecycle(config_id).await?;
    let mut first = lifecycle::first_tick_delay(&state, &settings, jitter_unit);
    if let Some(window) = first_within {
        // The operator narrowed the jitter window (daemon --first-check-within).
        first = first.min(window.mul_f64(jitter_unit.clamp(0.0, 1.0)));
    }
    let mut next = clock.now_ms() + millis(first);
    loop {
        let Some(config) = wait_for_tick(&*port, config_id, next, &clock, &cancel).await? else {
            return Ok(());
        };
        let Some(settings) = config.auto.clone() else {
            return Ok(());
        };
        tick(&*port, &config, &settings, &clock, &cancel).await?;
        next = clock.now_ms() + millis(settings.check_interval);
    }
}

/// Announces the next tick at `next`, sleeps until it and reads the config
/// again: `None` when cancelled, or when the config is gone or no longer
/// wants a scheduler (the task then ends). Both schedulers tick this way.
pub(super) async fn wait_for_tick(
    port: &dyn SchedulerPort,
    config_id: i64,
    next: i64,
    clock: &Clock,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<SyncConfig>> {
    announce_wait(port, config_id, next, clock).await?;
    if !sleep_until(clock, next, cancel).await {
        return Ok(None);
    }
    Ok(port
        .config(config_id)
        .await?
        .filter(SyncConfig::wants_scheduler))
}

async fn announce_wait(
    port: &dyn SchedulerPort,
    config_id: i64,
    next: i64,
    clock: &Clock,
) -> anyhow::Result<()> {
    let mut state = port.lifecycle(config_id).await?;
    state.next_check_at = Some(next);
    state.throttled_until = state.throttled_until.filter(|&t| t > clock.now_ms());
    port.save_lifecycle(config_id, &state, LifecyclePart::Schedule)
        .await?;
    port.publish(EngineEvent::Scheduler {
        config_id,
        status: SchedulerStatus::Waiting {
            next_check_at: next,
        },
    });
    Ok(())
}

/// One check: gate, detect, throttle, delay, enqueue.
async fn tick(
    port: &dyn SchedulerPort,
    config: &SyncConfig,
    settings: &AutoSettings,
    clock: &Clock,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let id = config.id;
    let now = clock.now_ms();
    let mut state = port.lifecycle(id).await?;
    state.last_check_at = Some(now);
    let (kind, resources, reason) = match lifecycle::gate(&state, now, port.has_pending(id).await?)
    {
        Gate::Cooldown { until } => {
            info!(target: "auto_sync", config = %config.name, "in cooldown after an error; next sync after {}", ms_text(until - now));
            port.save_lifecycle(id, &state, LifecyclePart::Schedule)
                .await?;
            port.publish(EngineEvent::Scheduler {
                config_id: id,
                status: SchedulerStatus::Cooldown { until },
            });
            return Ok(());
        }
        Gate::AlreadyQueued => {
            info!(target: "auto_sync", config = %config.name, "a sync is already queued or running; check skipped");
            port.save_lifecycle(id, &state, LifecyclePart::Schedule)
                .await?;
            return Ok(());
        }
        Gate::Initial => (JobKind::Initial, Vec::new(), "first full sync".to_string()),
        Gate::Detect => {
            port.save_lifecycle(id, &state, LifecyclePart::Schedule)
                .await?;
            port.publish(EngineEvent::Scheduler {
                config_id: id,
                status: SchedulerStatus::Detecting,
            });
            let changes = port.detect(config).await?;
            if changes.is_empty() {
                info!(target: "auto_sync", config = %config.name, "no changes");
                return Ok(());
            }
            let total: u64 = changes.iter().map(|c| c.count).sum();
            let reason = format!("{total} changes in {} resources", changes.len());
            (
                JobKind::Incremental,
                changes.into_iter().map(|c| c.resource).collect(),
                reason,
            )
        }
    };

    let mut state = port.lifecycle(id).await?;
    lifecycle::prune_recent(&mut state.recent_syncs, clock.now_ms());
    if let Some(until) = lifecycle::throttled_until(
        &state.recent_syncs,
        settings.max_sync_per_hour,
        clock.now_ms(),
    ) {
        warn!(target: "auto_sync", config = %config.name, "throttled: {} syncs in the last hour (max_sync_per_hour); waiting {}", state.recent_syncs.len(), ms_text(until - clock.now_ms()));
        state.throttled_until = Some(until);
        port.save_lifecycle(id, &state, LifecyclePart::Schedule)
            .await?;
        port.publish(EngineEvent::Scheduler {
            config_id: id,
            status: SchedulerStatus::Throttled { until },
        });
        if !sleep_until(clock, until, cancel).await {
            return Ok(());
        }
    }
    let delay = lifecycle::delay_before_sync(settings);
    if !delay.is_zero() {
        let until = clock.now_ms() + millis(delay);
        port.publish(EngineEvent::Scheduler {
            config_id: id,
            status: SchedulerStatus::Delaying { until },
        });
        if !sleep_until(clock, until, cancel).await {
            return Ok(());
        }
    }
    let job = port
        .enqueue(config, kind, resources, reason.clone())
        .await?;
    let mut state = port.lifecycle(id).await?;
    state.recent_syncs.push(clock.now_ms());
    lifecycle::prune_recent(&mut state.recent_syncs, clock.now_ms());
    state.throttled_until = None;
    port.save_lifecycle(id, &state, LifecyclePart::Schedule)
        .await?;
    info!(target: "auto_sync", config = %config.name, job, "{} sync queued: {reason}", kind.as_str());
    Ok(())
}

/// Sleeps until `at` (ms); `false` if cancelled first.
async fn sleep_until(clock: &Clock, at: i64, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep_until(clock.instant_at(at)) => true,
    }
}

pub(super) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

fn ms_text(ms: i64) -> String {
    crate::text::duration_sentence(u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000))
}
