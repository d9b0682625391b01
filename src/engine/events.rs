//! What the engine tells its watchers (console, CLI `--wait`, HTTP API later).

use serde::Serialize;

use crate::store::queue::{JobProgress, JobState, ResourceProgress};

/// The scheduler side of a config, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Coalesced: at most a few per second per job.
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
