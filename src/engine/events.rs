//! What the engine tells its watchers (console, CLI `--wait`, the HTTP
//! API), and the stream they read it from, the same for an engine in this
//! process and one behind a daemon's API.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::logs::tail::TailLine;

use crate::store::queue::{JobProgress, JobState, ResourceProgress};

/// The scheduler side of a config, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SchedulerStatus {
    Stopped,
    /// Waiting for the next check (ms since the epoch).
    Waiting {
        next_check_at: i64,
    },
    Detecting,
    Cooldown {
        until: i64,
    },
    Throttled {
        until: i64,
    },
    /// Waiting `delay_before_sync` before enqueueing.
    Delaying {
        until: i64,
    },
    /// The task died; the supervisor restarts it.
    Crashed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    Scheduler {
        config_id: i64,
        status: SchedulerStatus,
    },
    /// Changes found by the detector (only resources with changes).
    Detection {
        config_id: i64,
        changes: Vec<(String, u64)>,
    },
    JobQueued {
        job_id: i64,
        config_id: Option<i64>,
    },
    JobState {
        job_id: i64,
        config_id: Option<i64>,
        state: JobState,
        error: Option<String>,
    },
    /// Coalesced: at most a few per second per job. `resources` may hold
    /// only those that changed since the job's previous progress event (the
    /// API sends such deltas); a watcher merges them by key.
    Progress {
        job_id: i64,
        config_id: Option<i64>,
        progress: JobProgress,
        resources: Vec<ResourceProgress>,
        eta_secs: Option<u64>,
    },
    /// Configs were added, changed, started or stopped.
    ConfigsChanged,
}

/// What a watcher receives from [`EventStream::next`].
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event, and when a remote engine's daemon sent it (wall clock,
    /// ms: a watcher on the same host can tell the whole delay).
    Event(EngineEvent, Option<i64>),
    /// Some events were missed (the watcher fell behind, or a link was
    /// down longer than the daemon remembers): reload what is shown.
    Missed,
    /// A log line of the engine's process (only from a remote engine: a
    /// local one's lines are in this process's own tail).
    Log(TailLine),
    /// The link to a remote engine went down or came back.
    Link(Link),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Up,
    /// Down since the last event; the next attempt is in `retry_in`.
    Down {
        error: String,
        retry_in: Duration,
    },
}

/// A watcher's events: a local engine's broadcast, or what a remote one's
/// event pump hands over. Ends (`None`) only when the engine is gone for good.
pub struct EventStream(Source);

enum Source {
    Local(broadcast::Receiver<EngineEvent>),
    Channel(mpsc::Receiver<Delivery>),
}

impl EventStream {
    pub fn local(rx: broadcast::Receiver<EngineEvent>) -> EventStream {
        EventStream(Source::Local(rx))
    }

    /// Deliveries from a pump task; dropping the stream stops the pump.
    pub fn channel(rx: mpsc::Receiver<Delivery>) -> EventStream {
        EventStream(Source::Channel(rx))
    }

    /// The next delivery; `None` once no more can come (then it is
    /// `None` at once on every call: callers stop asking).
    pub async fn next(&mut self) -> Option<Delivery> {
        match &mut self.0 {
            Source::Local(rx) => match rx.recv().await {
                Ok(e) => Some(Delivery::Event(e, None)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(Delivery::Missed),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            Source::Channel(rx) => rx.recv().await,
        }
    }
}
