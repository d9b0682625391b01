//! The engine: schedulers decide, the queue remembers, workers sync. It never
//! touches the terminal; everything it does is visible through
//! [`EngineHandle`] (snapshots and events) and in the database.
//!
//! - `scheduler` + `supervisor`: one task per active automatic config
//!   (`pull_scheduler` for `http_pull` configs: poll, back off, enqueue);
//! - `lifecycle`: cooldown, initial sync, throttle, delay (pure rules);
//! - `port`: the scheduler's access to store, queue and connectors, and the
//!   change detector;
//! - `worker`: claims jobs, runs them resource by resource, fences results;
//! - `progress`: per-job and per-resource counts, speed, ETA;
//! - `handle`: the API for the CLI and the console.

pub mod clock;
pub mod connector;
pub mod events;
pub mod handle;
pub mod lifecycle;
pub mod port;
pub mod progress;
pub mod pull_scheduler;
pub mod scheduler;
#[cfg(test)]
mod scheduler_tests;
pub mod supervisor;
pub mod worker;

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use clock::Clock;
pub use events::EngineEvent;
pub use handle::{
    ConfigStatus, EngineApi, EngineError, EngineHandle, LocalEngine, PullStatus, Snapshot,
};
pub use worker::{ConnectorFactory, WorkerOptions};

use crate::store::Store;

/// Which parts run in this process.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Per-config schedulers (daemon, console).
    pub schedulers: bool,
    /// Workers running queued jobs (daemon, console, `trigger --wait`).
    pub workers: bool,
    pub worker: WorkerOptions,
    /// Caps the jitter of each scheduler's first check (default: the whole
    /// check interval).
    pub first_check_within: Option<std::time::Duration>,
}

/// A running engine; [`Engine::shutdown`] stops it cleanly.
pub struct Engine {
    handle: EngineHandle,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Engine {
    pub fn start(
        store: Store,
        factory: Arc<dyn ConnectorFactory>,
        options: EngineOptions,
    ) -> Engine {
        let (events, _) = broadcast::channel(1024);
        let queue = store.queue_with_retry_base(options.worker.retry_base);
        let clock = Clock::new();
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();

        let workers = Arc::new(worker::Workers {
            store: store.clone(),
            queue: queue.clone(),
            factory: factory.clone(),
            events: events.clone(),
            clock,
            options: options.worker.clone(),
            wake: tokio::sync::Notify::new(),
        });
        let wake_workers = {
            let workers = workers.clone();
            move || workers.wake.notify_one()
        };
        let port = Arc::new(port::StorePort {
            store: store.clone(),
            queue: queue.clone(),
            factory,
            events: events.clone(),
            clock,
            on_enqueue: Box::new(wake_workers.clone()),
        });
        let supervisor = supervisor::Supervisor::new(port, clock, options.first_check_within);
        if options.workers {
            tasks.spawn(workers.clone().run(cancel.clone()));
        }
        if options.schedulers {
            tasks.spawn(supervisor.clone().run(cancel.clone()));
        }
        let on_change = {
            let supervisor = supervisor.clone();
            move || {
                supervisor.wake();
                wake_workers();
            }
        };
        let handle: EngineHandle = Arc::new(LocalEngine {
            store,
            queue,
            events,
            on_change: Box::new(on_change),
        });
        Engine {
            handle,
            cancel,
            tasks,
        }
    }

    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops schedulers and workers; running jobs go back to the queue, so
    /// nothing is left `running`.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}
