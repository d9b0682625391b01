//! What flows through the console's state machine: the messages `update`
//! takes in, the effects it hands to `app`, and the commands that change
//! something (run by `app`, asked about and refused by `dispatch`). Plain
//! data below every handler, so handlers and the dispatcher do not import
//! each other for it.

use crossterm::event::KeyEvent;

use crate::config::AutoSettings;
use crate::engine::events::{EngineEvent, Link};
use crate::engine::handle::Snapshot;
use crate::logs::LogHealth;
use crate::store::queue::{Job, ResourceProgress};
use crate::store::rejections::Rejection;
use crate::store::state::Detection;

use super::state::logview::{LogOp, LogReply};

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Engine(EngineEvent),
    /// Engine events were missed: reload what is shown.
    Missed,
    /// The link to a daemon went down or came back.
    Link(Link),
    Snapshot(Box<Snapshot>),
    History {
        config_id: i64,
        jobs: Vec<Job>,
        /// Resources of the newest of `jobs`.
        resources: Vec<ResourceProgress>,
    },
    Jobs(Vec<Job>),
    Detections(Vec<Detection>),
    JobDetail(Box<Job>, Vec<ResourceProgress>),
    /// The refusals of one resource of a job.
    Rejections {
        job_id: i64,
        resource: String,
        rows: Vec<Rejection>,
    },
    /// The result of a command: a message for the status line.
    Done(Result<String, String>),
    /// A load failed (database unreachable…): shown, retried at the next tick.
    LoadFailed(String),
    /// The wall clock, ms since the epoch; sent once a second.
    Tick(i64),
    /// The terminal's height (at start and on every resize): the log
    /// viewer pages by it; the width only matters when drawing, which reads
    /// the frame.
    Screen {
        height: u16,
    },
    /// New lines in the log tail.
    LogLines,
    /// An answer of the log viewer's session.
    Log(LogReply),
    /// The log viewer's poll tick (≤ 4 Hz, only while it waits for progress
    /// or follows a file).
    LogTick,
    /// The log writer's state changed (polled once a second).
    LogHealth(LogHealth),
}

/// What `app` must do for `update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadSnapshot,
    LoadHistory(i64),
    LoadJobs,
    LoadDetections,
    LoadJob(i64),
    /// The refusals of `resource` (its key) in job `job_id`; `label` is how
    /// the overlay names it.
    LoadRejections {
        job_id: i64,
        resource: String,
        label: String,
    },
    /// Put text on the clipboard of the operator's terminal (OSC 52).
    Copy(String),
    Run(Command),
    /// An op for the log viewer's session (file reads off the draw path).
    Log(LogOp),
    /// Repaint the whole screen (Ctrl-L, resize).
    Repaint,
}

/// What a confirmation will do when accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Start {
        id: i64,
        name: String,
    },
    Stop {
        id: i64,
        name: String,
    },
    Trigger {
        id: i64,
        name: String,
    },
    Setup {
        id: i64,
        name: String,
        settings: AutoSettings,
    },
    Retry {
        job: i64,
    },
    /// End a config's cooldown now.
    ClearCooldown {
        id: i64,
        name: String,
    },
    RetryAll,
    Clear,
    /// Empty an active log file (through the console's writer).
    ClearLog {
        name: String,
    },
    /// Write the open file's filtered view to the exports directory.
    ExportLog {
        doc: u64,
        name: String,
    },
    /// Leave the console while syncs run in it (asked first).
    Quit {
        running: usize,
    },
}

impl Command {
    /// Destructive or wide-reaching: asks first, naming the target.
    pub fn confirmation(&self) -> Option<String> {
        match self {
            Command::Stop { name, .. } => Some(format!(
                "Stop the scheduler of {name:?} and cancel its queued jobs?"
            )),
            Command::RetryAll => Some("Retry every failed job?".into()),
            Command::Clear => {
                Some("Delete all finished jobs (completed, failed, cancelled)?".into())
            }
            Command::ClearLog { name } => Some(format!(
                "Clear the log file {name}? Its lines are deleted; rotated files stay."
            )),
            Command::Quit { running } => Some(format!(
                "{running} sync{} running in this console. Quit? {} stopped and given back to the queue; a daemon or the next console resumes {}.",
                if *running == 1 { " is" } else { "s are" },
                if *running == 1 { "It is" } else { "They are" },
                if *running == 1 { "it" } else { "them" },
            )),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Command::Start { name, .. } => format!("start {name}"),
            Command::Stop { name, .. } => format!("stop {name}"),
            Command::Trigger { name, .. } => format!("trigger {name}"),
            Command::Setup { name, .. } => format!("save settings of {name}"),
            Command::Retry { job } => format!("retry job {job}"),
            Command::ClearCooldown { name, .. } => format!("end the cooldown of {name}"),
            Command::RetryAll => "retry all failed jobs".into(),
            Command::Clear => "clear finished jobs".into(),
            Command::ClearLog { name } => format!("clear {name}"),
            Command::ExportLog { name, .. } => format!("export {name}"),
            Command::Quit { .. } => "quit".into(),
        }
    }
}
