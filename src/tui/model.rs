//! Everything the console shows, as plain data. `update` changes it, views
//! draw it; nothing here does I/O. The model holds what every view shares
//! (session, focus, the configs snapshot, overlay, input and status line)
//! and one state struct per view (`dashboard`, `jobs`, `detections`, the
//! log viewer's, all in `state`); the handlers in `update` change them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{AutoSettings, ExecMode};
use crate::engine::PullStatus;
use crate::engine::events::SchedulerStatus;
use crate::engine::handle::{AutoState, ConfigStatus, Snapshot};
use crate::logs::tail::{Tail, TailLevel};
use crate::store::queue::{Job, JobProgress, JobState, ResourceProgress};
use crate::store::rejections::Rejection;
use crate::store::state::{Detection, LifecycleState};

use super::flash::Flash;
use super::keymap::Keymap;
use super::list::clamp;
use super::msg::Command;
use super::state::dashboard::DashboardState;
use super::state::detections::DetectionsState;
use super::state::jobs::JobsState;
use super::state::logview::LogViewState;
use super::state::settings::SettingsForm;
use super::theme::Theme;

/// The orders each list cycles through (`O`); the first is as loaded.
pub const CONFIG_SORTS: &[&str] = &["name", "state", "last run"];
pub const JOB_SORTS: &[&str] = &["newest", "state", "config"];
pub const DETECTION_SORTS: &[&str] = &["newest", "config", "changes"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Jobs,
    Detections,
    Logs,
}

impl View {
    pub fn title(self) -> &'static str {
        match self {
            View::Dashboard => "dashboard",
            View::Jobs => "jobs",
            View::Detections => "detections",
            View::Logs => "logs",
        }
    }
}

/// Which dashboard pane has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Configs,
    Resources,
    Tail,
}

/// A config row as the console shows it (from the engine's snapshot).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRow {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub destination: Option<String>,
    pub mode: ExecMode,
    pub active: bool,
    pub auto: AutoState,
    pub settings: Option<AutoSettings>,
    pub lifecycle: LifecycleState,
    pub running_job: Option<Job>,
    pub queued_jobs: usize,
    pub next_job: Option<Job>,
    pub last_job: Option<Job>,
    /// Set for `http_pull` configs.
    pub pull: Option<PullStatus>,
}

impl From<ConfigStatus> for ConfigRow {
    fn from(c: ConfigStatus) -> Self {
        ConfigRow {
            id: c.id,
            name: c.name,
            source: c.source,
            // An http_pull config's destination is its local copy.
            destination: c
                .destination
                .or_else(|| c.pull.as_ref().map(|p| p.target.clone())),
            mode: c.mode,
            active: c.active,
            auto: c.auto,
            settings: c.config.auto,
            lifecycle: c.lifecycle,
            running_job: c.running_job,
            queued_jobs: c.queued_jobs,
            next_job: c.next_job,
            last_job: c.last_job,
            pull: c.pull,
        }
    }
}

/// The latest progress of a running job (latest event wins).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJob {
    pub job_id: i64,
    pub progress: JobProgress,
    pub resources: Vec<ResourceProgress>,
    pub eta_secs: Option<u64>,
}

impl LiveJob {
    /// Processed / expected, and whether resources not started yet may
    /// still add to `expected` (their size is learnt when they start): then
    /// there is no percent yet, only resources done of all.
    pub fn done_ratio(&self) -> (f64, bool) {
        let p = &self.progress;
        let ratio = if p.expected == 0 {
            0.0
        } else {
            p.processed as f64 / p.expected as f64
        };
        (ratio, self.pending_resources() > 0)
    }

    /// Resources not started yet (their size is not known).
    pub fn pending_resources(&self) -> usize {
        self.resources
            .iter()
            .filter(|r| r.status == crate::store::queue::ResourceStatus::Pending)
            .count()
    }

    /// Resources finished (done, failed or skipped).
    pub fn finished_resources(&self) -> usize {
        use crate::store::queue::ResourceStatus;
        self.resources
            .iter()
            .filter(|r| !matches!(r.status, ResourceStatus::Pending | ResourceStatus::Running))
            .count()
    }
}

/// A one-line text input at the bottom (filter or `:` command).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Filter(String),
    Command(String),
    /// `/` in an opened log file: searched on Enter.
    Search(String),
}

/// What sits on top of the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// Scrolled `scroll` lines down (small terminals).
    Help {
        scroll: usize,
    },
    Confirm(Command),
    Settings(SettingsForm),
    JobDetail {
        job: Box<Job>,
        resources: Vec<ResourceProgress>,
        scroll: usize,
    },
    /// A whole error, cause by cause.
    Error(ErrorView),
    /// What the destination refused of one resource of a job.
    Rejections {
        job_id: i64,
        /// The resource as people name it.
        resource: String,
        rows: Vec<Rejection>,
        scroll: usize,
    },
}

/// A whole error with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorView {
    pub title: String,
    /// `job 300`, `attempt 3 of 3`, `kind transient`…
    pub facts: Vec<String>,
    pub error: String,
    /// The job it belongs to (its log lines are a key away).
    pub job_id: Option<i64>,
    pub scroll: usize,
}

impl ErrorView {
    /// The error's causes: DHIS2 and the client chain them with `: `
    /// (`source: temporary failure: cannot connect to URL: Connection
    /// refused (os error 111)`); a URL's `://` is not a break.
    pub fn causes(&self) -> Vec<&str> {
        self.error
            .split(": ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect()
    }

    /// What `y` copies: the facts and the whole error.
    pub fn clipboard_text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        for f in &self.facts {
            out.push_str(f);
            out.push('\n');
        }
        out.push_str(&self.error);
        out
    }
}

/// Where the log tail is: following the newest line, or paused `back` lines
/// above it.
#[derive(Debug, Clone, PartialEq)]
pub struct TailView {
    pub follow: bool,
    /// Lines above the newest (only when not following).
    pub back: usize,
    pub min_level: TailLevel,
    /// Text filter (`/` in the tail pane or the logs view).
    pub filter: String,
}

/// Where the console's engine is.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// In this process: quitting gives its running jobs back to the queue.
    Local,
    /// In this process, on the demo's simulators.
    Demo,
    /// A daemon's, through its API (`to`: the socket or URL; `socket`:
    /// a unix socket, so a daemon on this host).
    Attached { to: String, socket: bool },
    /// Only the database: no daemon serves it on this host. `shared`: a
    /// PostgreSQL database, which daemons on other hosts may run.
    Monitor { shared: bool },
}

impl Origin {
    /// Whether quitting stops syncs (the engine is in this process).
    pub fn runs_here(&self) -> bool {
        matches!(self, Origin::Local | Origin::Demo)
    }

    /// The header's words, long and short (for narrow terminals).
    pub fn label(&self) -> (String, String) {
        match self {
            Origin::Local => ("local".into(), "local".into()),
            Origin::Demo => ("demo".into(), "demo".into()),
            // A socket is this host's; its path is the header's last item.
            Origin::Attached { socket: true, .. } => {
                ("attached to this host's daemon".into(), "attached".into())
            }
            Origin::Attached { to, .. } => (format!("attached to {to}"), "attached".into()),
            Origin::Monitor { shared: false } => (
                "no daemon running: read-only view of the database, refreshed every 5 s".into(),
                "no daemon: read-only, every 5 s".into(),
            ),
            Origin::Monitor { shared: true } => (
                "no daemon on this host: view of the shared database, refreshed every 5 s".into(),
                "monitor, every 5 s".into(),
            ),
        }
    }
}

/// Facts about the session shown in the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub origin: Origin,
    pub database: String,
    pub read_only: bool,
    /// Times in local time (UTC in snapshot tests).
    pub local_time: bool,
}

pub struct Model {
    pub session: Session,
    pub keymap: Keymap,
    pub theme: Theme,
    pub tail: Arc<Tail>,
    /// Focus: the view shown and, on the dashboard, the pane with the keys.
    pub view: View,
    pub pane: Pane,
    pub overlay: Option<Overlay>,
    pub input: Option<Input>,
    pub flash: Option<Flash>,
    /// Wall clock, ms since the epoch (moved by ticks).
    pub now: i64,
    /// Offset of the database clock to ours (times in rows are the DB's).
    pub db_offset: i64,
    /// The configs snapshot has had its first load.
    pub loaded: bool,
    pub configs: Vec<ConfigRow>,
    pub failed_jobs: u64,
    /// Objects synced by all jobs on record, as of the last snapshot.
    pub synced_stored: u64,
    /// Live progress and scheduler state per config, from engine events.
    pub live: BTreeMap<i64, LiveJob>,
    pub schedulers: BTreeMap<i64, SchedulerStatus>,
    /// The log tail's position (the dashboard's tail pane and the logs
    /// view's live tail show the same one).
    pub tail_view: TailView,
    /// Where the log files are (the logs view lists them).
    pub logs_dir: Option<std::path::PathBuf>,
    /// What the logs view calls them when `logs_dir` would mislead (a copy
    /// of a remote daemon's files).
    pub logs_label: Option<String>,
    /// The log writer's state as last polled (write failures).
    pub log_health: crate::logs::LogHealth,
    pub dashboard: DashboardState,
    pub jobs: JobsState,
    pub detections: DetectionsState,
    /// The log viewer (the logs view).
    pub logview: LogViewState,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// Attached: the link to the daemon is down (why); it is retried.
    pub link_down: Option<String>,
}

impl Model {
    pub fn new(session: Session, keymap: Keymap, theme: Theme, tail: Arc<Tail>, now: i64) -> Self {
        Model {
            session,
            keymap,
            theme,
            tail,
            view: View::Dashboard,
            pane: Pane::Configs,
            overlay: None,
            input: None,
            flash: None,
            now,
            db_offset: 0,
            loaded: false,
            configs: Vec::new(),
            failed_jobs: 0,
            synced_stored: 0,
            live: BTreeMap::new(),
            schedulers: BTreeMap::new(),
            tail_view: TailView {
                follow: true,
                back: 0,
                min_level: TailLevel::Info,
                filter: String::new(),
            },
            logs_dir: None,
            logs_label: None,
            log_health: crate::logs::LogHealth::default(),
            dashboard: DashboardState::default(),
            jobs: JobsState::default(),
            detections: DetectionsState::default(),
            logview: LogViewState::default(),
            quit: false,
            dirty: true,
            link_down: None,
        }
    }

    /// The database clock now (rows carry DB times).
    pub fn db_now(&self) -> i64 {
        self.now + self.db_offset
    }

    /// Configs passing the `/` filter (name, source, destination or a word
    /// of their state: `failed`, `cooldown`, `manual`…), in the list's order.
    pub fn visible_configs(&self) -> Vec<&ConfigRow> {
        let f = self.dashboard.list.filter.to_lowercase();
        let mut rows: Vec<&ConfigRow> = self
            .configs
            .iter()
            .filter(|c| {
                f.is_empty()
                    || c.name.to_lowercase().contains(&f)
                    || c.source.to_lowercase().contains(&f)
                    || c.destination
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(&f))
                    || self.config_state_words(c).iter().any(|w| w.starts_with(&f))
            })
            .collect();
        match CONFIG_SORTS[self.dashboard.list.sort % CONFIG_SORTS.len()] {
            "state" => rows.sort_by_key(|c| self.config_state_rank(c)),
            "last run" => rows.sort_by_key(|c| {
                std::cmp::Reverse(c.last_job.as_ref().and_then(|j| j.finished_at))
            }),
            _ => {}
        }
        rows
    }

    /// The words a config's state is filtered by.
    pub fn config_state_words(&self, c: &ConfigRow) -> Vec<&'static str> {
        let mut words = Vec::new();
        words.push(if !c.active {
            "stopped"
        } else {
            match c.auto {
                AutoState::Enabled => "auto",
                AutoState::Disabled => "auto off",
                AutoState::NotConfigured => "manual",
            }
        });
        words.push(match self.scheduler_of(c) {
            SchedulerStatus::Cooldown { .. } => "cooldown",
            SchedulerStatus::Throttled { .. } => "throttled",
            SchedulerStatus::Crashed { .. } => "crashed",
            SchedulerStatus::Detecting => "checking",
            _ => "",
        });
        if c.running_job.is_some() {
            words.push("running");
            words.push("syncing");
        }
        if c.next_job.as_ref().is_some_and(|j| j.last_error.is_some()) {
            words.push("retry");
        }
        words.push(match c.last_job.as_ref().map(|j| j.state) {
            Some(JobState::Failed) => "failed",
            Some(JobState::Completed)
                if c.last_job.as_ref().is_some_and(|j| j.progress.errors > 0) =>
            {
                "rejected"
            }
            Some(JobState::Completed) => "ok",
            _ => "never",
        });
        words.retain(|w| !w.is_empty());
        words
    }

    /// Sorting by state: what needs the operator first.
    fn config_state_rank(&self, c: &ConfigRow) -> u8 {
        let words = self.config_state_words(c);
        let has = |w: &str| words.contains(&w);
        if has("crashed") || has("failed") {
            0
        } else if has("cooldown") || has("retry") || has("throttled") || has("rejected") {
            1
        } else if has("running") {
            2
        } else if has("stopped") {
            4
        } else {
            3
        }
    }

    /// After rows or a filter changed: each list's cursor back on the item
    /// it was on (by id), when that is still shown.
    pub fn follow_selection(&mut self) {
        let configs: Vec<i64> = self.visible_configs().iter().map(|c| c.id).collect();
        self.dashboard.list.follow(&configs);
        let jobs: Vec<i64> = self.visible_jobs().iter().map(|j| j.id).collect();
        self.jobs.list.follow(&jobs);
        let n = self.visible_detections().len();
        clamp(&mut self.detections.list.cursor, n);
    }

    /// After a cursor moved: each list remembers the item it is on.
    pub fn remember_selection(&mut self) {
        let configs: Vec<i64> = self.visible_configs().iter().map(|c| c.id).collect();
        self.dashboard.list.remember(&configs);
        let jobs: Vec<i64> = self.visible_jobs().iter().map(|j| j.id).collect();
        self.jobs.list.remember(&jobs);
    }

    pub fn selected_config(&self) -> Option<&ConfigRow> {
        self.visible_configs()
            .get(self.dashboard.list.cursor)
            .copied()
    }

    pub fn visible_jobs(&self) -> Vec<&Job> {
        let f = self.jobs.list.filter.to_lowercase();
        let mut rows: Vec<&Job> = self
            .jobs
            .rows
            .iter()
            .filter(|j| {
                f.is_empty()
                    || self.config_name(j.config_id).to_lowercase().contains(&f)
                    || j.state.as_str().contains(&f)
                    || j.kind.as_str().contains(&f)
                    || j.last_error
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&f))
            })
            .collect();
        match JOB_SORTS[self.jobs.list.sort % JOB_SORTS.len()] {
            "state" => rows.sort_by_key(|j| match j.state {
                JobState::Failed => 0,
                JobState::Running => 1,
                JobState::Queued => 2,
                JobState::Completed => 3,
                JobState::Cancelled => 4,
            }),
            "config" => rows.sort_by_key(|j| self.config_name(j.config_id)),
            _ => {}
        }
        rows
    }

    pub fn selected_job(&self) -> Option<&Job> {
        self.visible_jobs().get(self.jobs.list.cursor).copied()
    }

    pub fn visible_detections(&self) -> Vec<&Detection> {
        let f = self.detections.list.filter.to_lowercase();
        let mut rows: Vec<&Detection> = self
            .detections
            .rows
            .iter()
            .filter(|d| {
                let name = super::names::resource_name(&d.resource, &d.label);
                f.is_empty()
                    || self
                        .config_name(Some(d.config_id))
                        .to_lowercase()
                        .contains(&f)
                    || d.resource.to_lowercase().contains(&f)
                    || name.name.to_lowercase().contains(&f)
                    || name.kind.starts_with(&f)
            })
            .collect();
        match DETECTION_SORTS[self.detections.list.sort % DETECTION_SORTS.len()] {
            "config" => rows.sort_by_key(|d| self.config_name(Some(d.config_id))),
            "changes" => rows.sort_by_key(|d| std::cmp::Reverse(d.changed_count)),
            _ => {}
        }
        rows
    }

    /// The order of the list in focus when it is not the one it loads in.
    pub fn sort_label(&self) -> Option<&'static str> {
        let (sort, first) = match self.view {
            View::Jobs => (self.jobs.list.sort, JOB_SORTS[0]),
            View::Detections => (self.detections.list.sort, DETECTION_SORTS[0]),
            _ => (self.dashboard.list.sort, CONFIG_SORTS[0]),
        };
        let name = self.sort_name();
        (sort > 0 && name != first).then_some(name)
    }

    /// The name of the order the list in focus is in.
    pub fn sort_name(&self) -> &'static str {
        match self.view {
            View::Jobs => JOB_SORTS[self.jobs.list.sort % JOB_SORTS.len()],
            View::Detections => DETECTION_SORTS[self.detections.list.sort % DETECTION_SORTS.len()],
            _ => CONFIG_SORTS[self.dashboard.list.sort % CONFIG_SORTS.len()],
        }
    }

    pub fn config_name(&self, id: Option<i64>) -> String {
        match id {
            None => "-".into(),
            Some(id) => self
                .configs
                .iter()
                .find(|c| c.id == id)
                .map_or_else(|| format!("#{id}"), |c| c.name.clone()),
        }
    }

    /// The progress to show for a config: live events first, else what the
    /// snapshot read from the database. Borrowed: drawn many times a second.
    pub fn progress_of(&self, config: &ConfigRow) -> Option<Cow<'_, LiveJob>> {
        let job = config.running_job.as_ref()?;
        if let Some(live) = self.live.get(&config.id).filter(|l| l.job_id == job.id) {
            return Some(Cow::Borrowed(live));
        }
        Some(Cow::Owned(LiveJob {
            job_id: job.id,
            progress: job.progress.clone(),
            resources: Vec::new(),
            eta_secs: None,
        }))
    }

    /// A job's progress: the live one while it runs here (the database's
    /// copy lags by up to a second), else the stored one, so a job never
    /// reads `synced 0` beside a header that counts its objects.
    pub fn job_progress<'a>(&'a self, job: &'a Job) -> &'a JobProgress {
        job.config_id
            .and_then(|id| self.live.get(&id))
            .filter(|l| l.job_id == job.id)
            .map_or(&job.progress, |l| &l.progress)
    }

    /// The scheduler state to show: the latest event, else derived from the
    /// stored lifecycle (when another process runs the engine).
    pub fn scheduler_of(&self, config: &ConfigRow) -> SchedulerStatus {
        if !config.active || config.auto != AutoState::Enabled {
            return SchedulerStatus::Stopped;
        }
        if let Some(s) = self.schedulers.get(&config.id) {
            return s.clone();
        }
        let now = self.db_now();
        let l = &config.lifecycle;
        if let Some(until) = l.cooldown_until.filter(|u| *u > now) {
            return SchedulerStatus::Cooldown { until };
        }
        if let Some(until) = l.throttled_until.filter(|u| *u > now) {
            return SchedulerStatus::Throttled { until };
        }
        match l.next_check_at {
            Some(at) => SchedulerStatus::Waiting { next_check_at: at },
            None => SchedulerStatus::Detecting,
        }
    }

    pub fn running_count(&self) -> usize {
        self.configs
            .iter()
            .filter(|c| c.running_job.is_some())
            .count()
    }

    /// Objects synced in total: the stored sum, moved on by live progress
    /// that the database has not seen yet (it is written once a second).
    pub fn synced_total(&self) -> u64 {
        let unsaved: u64 = self
            .configs
            .iter()
            .filter_map(|c| {
                let stored = c.running_job.as_ref()?.progress.synced;
                let live = self.progress_of(c)?.progress.synced;
                Some(live.saturating_sub(stored))
            })
            .sum();
        self.synced_stored + unsaved
    }

    pub fn apply_snapshot(&mut self, snapshot: Snapshot) {
        self.db_offset = snapshot.now - self.now;
        let rows: Vec<ConfigRow> = snapshot.configs.into_iter().map(Into::into).collect();
        // Progress of jobs no longer running is dropped; the finished job is
        // in `last_job` now.
        self.live.retain(|config_id, live| {
            rows.iter().any(|r| {
                r.id == *config_id && r.running_job.as_ref().is_some_and(|j| j.id == live.job_id)
            })
        });
        self.configs = rows;
        self.failed_jobs = snapshot.failed_jobs;
        self.synced_stored = snapshot.synced_total;
        self.loaded = true;
        self.follow_selection();
    }
}

/// Whether the job is in a final state.
pub fn finished(state: JobState) -> bool {
    matches!(
        state,
        JobState::Completed | JobState::Failed | JobState::Cancelled
    )
}
