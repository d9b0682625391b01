//! Keeps one scheduler task per config that wants one: starts new ones, stops
//! those switched off (here or by another process through the database), and
//! restarts a task that died, recording why.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::error;

use super::clock::Clock;
use super::events::{EngineEvent, SchedulerStatus};
use super::pull_scheduler;
use super::scheduler::{self, SchedulerPort};
use crate::config::SyncKind;
use crate::store::state::LifecyclePart;

/// How often the database is re-read for start/stop made by other processes.
const RECONCILE_EVERY: Duration = Duration::from_secs(2);
/// Pause before restarting a task that died (a crash loop must not spin).
const RESTART_BACKOFF: Duration = Duration::from_secs(5);

struct Task {
    handle: JoinHandle<anyhow::Result<()>>,
    cancel: CancellationToken,
}

pub struct Supervisor {
    port: Arc<dyn SchedulerPort>,
    clock: Clock,
    first_within: Option<Duration>,
    wake: Notify,
}

impl Supervisor {
    pub fn new(
        port: Arc<dyn SchedulerPort>,
        clock: Clock,
        first_within: Option<Duration>,
    ) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            port,
            clock,
            first_within,
            wake: Notify::new(),
        })
    }

    /// Re-reads the configs now (after start/stop/apply).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `cancel`, then stops every scheduler task.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut tasks: HashMap<i64, Task> = HashMap::new();
        let mut restart_after: HashMap<i64, tokio::time::Instant> = HashMap::new();
        loop {
            if let Err(e) = self
                .reconcile(&mut tasks, &mut restart_after, &cancel)
                .await
            {
                error!(target: "auto_sync", "cannot read the sync configs: {e:#}");
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(RECONCILE_EVERY) => {}
            }
        }
        for (_, task) in tasks.drain() {
            task.cancel.cancel();
            let _ = task.handle.await;
        }
    }

    async fn reconcile(
        &self,
        tasks: &mut HashMap<i64, Task>,
        restart_after: &mut HashMap<i64, tokio::time::Instant>,
        cancel: &CancellationToken,
    ) -> anyhow::Result<()> {
        // Tasks that ended by themselves: a crash is recorded and restarted later.
        let ended: Vec<i64> = tasks
            .iter()
            .filter(|(_, t)| t.handle.is_finished())
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            let Some(task) = tasks.remove(&id) else {
                continue;
            };
            let why = match task.handle.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{e:#}")),
                Err(join) => Some(format!("panicked: {join}")),
            };
            if let Some(why) = why {
                error!(target: "auto_sync", config_id = id, "scheduler task died: {why}; restarting in {}s", RESTART_BACKOFF.as_secs());
                self.record_crash(id, &why).await;
                restart_after.insert(id, tokio::time::Instant::now() + RESTART_BACKOFF);
            }
        }
        let configs = self.port.configs().await?;
        let wanted: HashMap<i64, _> = configs
            .iter()
            .filter(|c| c.wants_scheduler())
            .map(|c| (c.id, c))
            .collect();
        let stale: Vec<i64> = tasks
            .keys()
            .filter(|id| !wanted.contains_key(id))
            .copied()
            .collect();
        for id in stale {
            if let Some(task) = tasks.remove(&id) {
                task.cancel.cancel();
                let _ = task.handle.await;
                self.port.publish(EngineEvent::Scheduler {
                    config_id: id,
                    status: SchedulerStatus::Stopped,
                });
            }
        }
        let now = tokio::time::Instant::now();
        for (&id, config) in &wanted {
            if tasks.contains_key(&id) || restart_after.get(&id).is_some_and(|t| *t > now) {
                continue;
            }
            restart_after.remove(&id);
            let child = cancel.child_token();
            let jitter: f64 = rand::random();
            let handle = match config.kind {
                SyncKind::Dhis2 => tokio::spawn(scheduler::run(
                    self.port.clone(),
                    id,
                    self.clock,
                    jitter,
                    self.first_within,
                    child.clone(),
                )),
                SyncKind::HttpPull => tokio::spawn(pull_scheduler::run(
                    self.port.clone(),
                    id,
                    self.clock,
                    child.clone(),
                )),
            };
            tasks.insert(
                id,
                Task {
                    handle,
                    cancel: child,
                },
            );
        }
        Ok(())
    }

    async fn record_crash(&self, id: i64, why: &str) {
        if let Ok(mut state) = self.port.lifecycle(id).await {
            state.last_error = Some(format!("scheduler died: {why}"));
            let _ = self
                .port
                .save_lifecycle(id, &state, LifecyclePart::Outcome)
                .await;
        }
        self.port.publish(EngineEvent::Scheduler {
            config_id: id,
            status: SchedulerStatus::Crashed {
                error: why.to_string(),
            },
        });
    }
}
