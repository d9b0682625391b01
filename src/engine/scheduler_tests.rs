//! The scheduler under paused tokio time, against an in-memory port: every
//! lifecycle rule is checked by when (in virtual time) jobs get enqueued.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::events::EngineEvent;
use super::scheduler::{self, Change, SchedulerPort};
use crate::config::{AutoSettings, ExecMode, Selection, SyncConfig, SyncKind};
use crate::store::queue::JobKind;
use crate::store::state::{LifecyclePart, LifecycleState};

#[derive(Default)]
struct Mem {
    config: Option<SyncConfig>,
    state: LifecycleState,
    pending: bool,
    /// Changes the next detections report.
    changes: Vec<Change>,
    detections: u32,
    /// (virtual ms since start, kind, resources)
    enqueued: Vec<(i64, JobKind, Vec<String>)>,
    events: Vec<EngineEvent>,
}

struct MemPort {
    mem: Mutex<Mem>,
    clock: Clock,
    start: i64,
}

impl MemPort {
    fn new(settings: AutoSettings, state: LifecycleState) -> Arc<MemPort> {
        let clock = Clock::new();
        Arc::new(MemPort {
            mem: Mutex::new(Mem {
                config: Some(SyncConfig {
                    id: 1,
                    name: "c".into(),
                    kind: SyncKind::Dhis2,
                    source_id: 1,
                    destination_id: Some(2),
                    mode: ExecMode::Automatic,
                    selection: Selection::default(),
                    active: true,
                    auto: Some(settings),
                    pull: None,
                }),
                state,
                changes: vec![Change {
                    resource: "dataValues:x".into(),
                    count: 3,
                }],
                ..Default::default()
            }),
            start: clock.now_ms(),
            clock,
        })
    }

    fn m(&self) -> std::sync::MutexGuard<'_, Mem> {
        self.mem.lock().unwrap()
    }

    /// Enqueue times in whole seconds since the start.
    fn enqueued_at(&self) -> Vec<i64> {
        self.m().enqueued.iter().map(|e| e.0 / 1000).collect()
    }
}

#[async_trait]
impl SchedulerPort for MemPort {
    async fn configs(&self) -> anyhow::Result<Vec<SyncConfig>> {
        Ok(self.m().config.clone().into_iter().collect())
    }
    async fn config(&self, _: i64) -> anyhow::Result<Option<SyncConfig>> {
        Ok(self.m().config.clone())
    }
    async fn lifecycle(&self, _: i64) -> anyhow::Result<LifecycleState> {
        Ok(self.m().state.clone())
    }
    async fn save_lifecycle(
        &self,
        _: i64,
        state: &LifecycleState,
        part: LifecyclePart,
    ) -> anyhow::Result<()> {
        // As the store does: only the columns of `part` are written.
        let mut m = self.m();
        match part {
            LifecyclePart::Schedule => {
                m.state.recent_syncs = state.recent_syncs.clone();
                m.state.throttled_until = state.throttled_until;
                m.state.next_check_at = state.next_check_at;
                m.state.last_check_at = state.last_check_at;
            }
            LifecyclePart::Outcome => {
                m.state.initial_done = state.initial_done;
                m.state.cooldown_until = state.cooldown_until;
                m.state.last_result = state.last_result.clone();
                m.state.last_error = state.last_error.clone();
            }
        }
        Ok(())
    }
    async fn has_pending(&self, _: i64) -> anyhow::Result<bool> {
        Ok(self.m().pending)
    }
    async fn detect(&self, _: &SyncConfig) -> anyhow::Result<Vec<Change>> {
        let mut m = self.m();
        m.detections += 1;
        Ok(m.changes.clone())
    }
    async fn enqueue(
        &self,
        _: &SyncConfig,
        kind: JobKind,
        resources: Vec<String>,
        _: String,
    ) -> anyhow::Result<i64> {
        let at = self.clock.now_ms() - self.start;
        let mut m = self.m();
        m.enqueued.push((at, kind, resources));
        if kind == JobKind::Initial {
            // The first sync "completes" at once.
            m.state.initial_done = true;
        }
        Ok(m.enqueued.len() as i64)
    }
    fn publish(&self, event: EngineEvent) {
        self.m().events.push(event);
    }
}

fn settings() -> AutoSettings {
    AutoSettings {
        check_interval: Duration::from_secs(60),
        delay_before_sync: Duration::from_secs(30),
        max_sync_per_hour: 0,
        ..AutoSettings::default()
    }
}

fn synced_before() -> LifecycleState {
    LifecycleState {
        initial_done: true,
        ..Default::default()
    }
}

/// Runs the scheduler for `for_secs` of virtual time with the given jitter.
async fn run_for(port: &Arc<MemPort>, jitter: f64, for_secs: u64) {
    let cancel = CancellationToken::new();
    let task = tokio::spawn(scheduler::run(
        port.clone(),
        1,
        port.clock,
        jitter,
        None,
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(for_secs)).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn first_tick_is_jittered_then_every_interval_after_the_delay() {
    let port = MemPort::new(settings(), synced_before());
    run_for(&port, 0.5, 250).await;
    // Tick at 30 s (half the interval) + 30 s delay → 60; the next interval
    // counts from there: 120 → 150, 210 → 240.
    assert_eq!(port.enqueued_at(), [60, 150, 240]);
}

#[tokio::test(start_paused = true)]
async fn immediate_sync_skips_the_delay() {
    let port = MemPort::new(
        AutoSettings {
            immediate_sync: true,
            ..settings()
        },
        synced_before(),
    );
    run_for(&port, 0.0, 130).await;
    assert_eq!(port.enqueued_at(), [0, 60, 120]);
    let m = port.m();
    assert!(m.enqueued.iter().all(|e| e.1 == JobKind::Incremental));
    assert_eq!(m.enqueued[0].2, ["dataValues:x"]);
}

#[tokio::test(start_paused = true)]
async fn a_new_config_with_immediate_sync_starts_its_initial_sync_at_once() {
    let port = MemPort::new(
        AutoSettings {
            immediate_sync: true,
            ..settings()
        },
        LifecycleState::default(),
    );
    run_for(&port, 0.9, 5).await;
    let m = port.m();
    assert_eq!(m.enqueued.len(), 1);
    assert_eq!((m.enqueued[0].0, m.enqueued[0].1), (0, JobKind::Initial));
    assert_eq!(m.detections, 0, "no detection before the first sync");
}

#[tokio::test(start_paused = true)]
async fn no_changes_no_job_and_a_pending_job_is_not_doubled() {
    let port = MemPort::new(settings(), synced_before());
    port.m().changes.clear();
    run_for(&port, 0.0, 200).await;
    assert!(port.enqueued_at().is_empty());
    assert_eq!(port.m().detections, 4, "ticks at 0, 60, 120, 180");

    let port = MemPort::new(settings(), synced_before());
    port.m().pending = true;
    run_for(&port, 0.0, 200).await;
    assert!(port.enqueued_at().is_empty());
    assert_eq!(port.m().detections, 0);
}

#[tokio::test(start_paused = true)]
async fn cooldown_holds_every_check_until_it_ends() {
    let port = MemPort::new(
        AutoSettings {
            immediate_sync: true,
            ..settings()
        },
        synced_before(),
    );
    {
        let mut m = port.m();
        m.state.cooldown_until = Some(port.start + 150_000);
    }
    run_for(&port, 0.0, 250).await;
    // Ticks at 0, 60, 120 fall in the cooldown; 180 and 240 sync.
    assert_eq!(port.enqueued_at(), [180, 240]);
    assert!(port.m().events.iter().any(|e| matches!(
        e,
        EngineEvent::Scheduler {
            status: super::events::SchedulerStatus::Cooldown { .. },
            ..
        }
    )));
}

#[tokio::test(start_paused = true)]
async fn throttle_waits_for_the_hour_window_and_is_shown() {
    let port = MemPort::new(
        AutoSettings {
            immediate_sync: true,
            max_sync_per_hour: 2,
            ..settings()
        },
        synced_before(),
    );
    run_for(&port, 0.0, 3700).await;
    let at = port.enqueued_at();
    // Two syncs at 0 and 60; the third waits until the first leaves the hour.
    assert_eq!(&at[..3], &[0, 60, 3600]);
    assert!(port.m().events.iter().any(|e| matches!(
        e,
        EngineEvent::Scheduler {
            status: super::events::SchedulerStatus::Throttled { .. },
            ..
        }
    )));
    assert!(
        at.iter()
            .all(|t| at.iter().filter(|u| *u > t && **u < t + 3600).count() < 2)
    );
}

#[tokio::test(start_paused = true)]
async fn settings_changed_at_run_time_apply_from_the_next_tick() {
    let port = MemPort::new(
        AutoSettings {
            immediate_sync: true,
            ..settings()
        },
        synced_before(),
    );
    let p = port.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(90)).await;
        let mut m = p.m();
        if let Some(a) = m.config.as_mut().and_then(|c| c.auto.as_mut()) {
            a.check_interval = Duration::from_secs(600);
        }
    });
    run_for(&port, 0.0, 800).await;
    // 0, 60, 120 (the interval in force when 60's tick ended), then every 600 s.
    assert_eq!(port.enqueued_at(), [0, 60, 120, 720]);
}

#[tokio::test(start_paused = true)]
async fn a_stopped_config_ends_its_scheduler() {
    let port = MemPort::new(settings(), synced_before());
    port.m().config.as_mut().unwrap().active = false;
    let cancel = CancellationToken::new();
    let done = tokio::time::timeout(
        Duration::from_secs(120),
        scheduler::run(port.clone(), 1, port.clock, 0.0, None, cancel),
    )
    .await;
    assert!(done.is_ok(), "the task ended by itself");
    assert!(port.enqueued_at().is_empty());
}

#[test]
fn jitter_spreads_first_ticks_over_the_interval() {
    let settings = settings();
    let state = synced_before();
    let firsts: Vec<u64> = (0..10)
        .map(|i| {
            super::lifecycle::first_tick_delay(&state, &settings, f64::from(i) / 10.0).as_secs()
        })
        .collect();
    assert_eq!(firsts, [0, 6, 12, 18, 24, 30, 36, 42, 48, 54]);
}
