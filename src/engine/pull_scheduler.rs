//! One task per active automatic `http_pull` config: the first poll after
//! `first_pull_after`, then one every `interval`, further apart after
//! repeated failures. A poll is the connector's change check (one
//! conditional GET); a changed document is a job, run by a worker like any
//! sync, so it shows in the jobs list and `sync_jobs.log`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::clock::Clock;
use super::events::{EngineEvent, SchedulerStatus};
use super::scheduler::{SchedulerPort, millis, wait_for_tick};
use crate::store::queue::JobKind;

/// The longest wait backoff reaches (unless `interval` is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

/// The wait before the next poll after `failures` failed polls in a row:
/// `interval`, then twice, four times… as long, up to 30 minutes.
pub fn next_wait(interval: Duration, failures: u32) -> Duration {
    if failures <= 1 {
        return interval;
    }
    let factor = 2u32.saturating_pow(failures - 1);
    interval
        .checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(MAX_BACKOFF.max(interval))
}

/// Runs the poller of one config until `cancel` or until it no longer wants one.
pub async fn run(
    port: Arc<dyn SchedulerPort>,
    config_id: i64,
    clock: Clock,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let Some(config) = port.config(config_id).await? else {
        return Ok(());
    };
    let Some(pull) = config.pull.clone() else {
        return Ok(());
    };
    let mut next = clock.now_ms() + millis(pull.first_pull_after);
    let mut failures = 0u32;
    loop {
        let Some(config) = wait_for_tick(&*port, config_id, next, &clock, &cancel).await? else {
            return Ok(());
        };
        let Some(pull) = config.pull.clone() else {
            return Ok(());
        };
        if port.has_pending(config_id).await? {
            info!(target: "config_sync", config = %config.name, "a pull is already queued or running; poll skipped");
        } else {
            port.publish(EngineEvent::Scheduler {
                config_id,
                status: SchedulerStatus::Detecting,
            });
            match port.detect(&config).await {
                Ok(changes) => {
                    failures = 0;
                    if !changes.is_empty() {
                        let resources = changes.into_iter().map(|c| c.resource).collect();
                        let job = port
                            .enqueue(
                                &config,
                                JobKind::Incremental,
                                resources,
                                "the backend has a new document".into(),
                            )
                            .await?;
                        info!(target: "config_sync", config = %config.name, job, "pull queued");
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = next_wait(pull.interval, failures);
                    warn!(target: "config_sync", config = %config.name, "poll failed ({failures} in a row): {e:#}; next poll in {}", humantime::format_duration(wait));
                }
            }
        }
        next = clock.now_ms() + millis(next_wait(pull.interval, failures));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_after_repeated_failures_and_cap_at_half_an_hour() {
        let five = Duration::from_secs(300);
        let waits: Vec<u64> = (0..8).map(|f| next_wait(five, f).as_secs()).collect();
        assert_eq!(waits, [300, 300, 600, 1200, 1800, 1800, 1800, 1800]);
        let day = Duration::from_secs(86_400);
        assert_eq!(next_wait(day, 5), day, "never shorter than the interval");
        assert_eq!(next_wait(Duration::from_secs(1), 40), MAX_BACKOFF);
    }
}
