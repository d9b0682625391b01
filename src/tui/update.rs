//! `update(model, msg) -> effects`: the console's whole behaviour as a pure
//! function. Keys, engine events, loaded data and ticks come in; the model
//! changes and the effects (loads, engine commands) go out to `app`, which
//! runs them and feeds their results back as messages.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::engine::events::EngineEvent;
use crate::engine::handle::Snapshot;
use crate::logs::LogHealth;
use crate::store::queue::{Job, JobState, ResourceProgress};
use crate::store::state::Detection;

use super::dispatch::dispatch;
use super::keymap::Action;
use super::logview::{self, LogOp, LogReply};
use super::model::{
    Command, Flash, Input, LiveJob, Model, Overlay, Pane, THROUGHPUT_SAMPLES, View, clamp, finished,
};
use super::settings::SettingsForm;

/// Seconds between reloads of the snapshot when nothing told us to: another
/// process (a daemon, `syncdeck stop` in another shell) may have changed it.
pub const SNAPSHOT_EVERY_MS: i64 = 5_000;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Engine(EngineEvent),
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
    /// The result of a command: a message for the status line.
    Done(Result<String, String>),
    /// A load failed (database unreachable…): shown, retried at the next tick.
    LoadFailed(String),
    /// The wall clock, ms since the epoch; sent once a second.
    Tick(i64),
    /// The terminal's size (at start and on every resize).
    Screen {
        width: u16,
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
    Run(Command),
    /// An op for the log viewer's session (file reads off the draw path).
    Log(LogOp),
    /// Repaint the whole screen (Ctrl-L, resize).
    Repaint,
}

pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => {
            if key.kind != KeyEventKind::Press {
                return Vec::new();
            }
            model.dirty = true;
            on_key(model, key)
        }
        Msg::Engine(event) => on_engine(model, event),
        Msg::Snapshot(snapshot) => {
            let before = model.selected_config().map(|c| c.id);
            model.apply_snapshot(*snapshot);
            model.dirty = true;
            let after = model.selected_config().map(|c| c.id);
            match after {
                Some(id) if after != before || model.history_of != Some(id) => {
                    vec![Effect::LoadHistory(id)]
                }
                _ => Vec::new(),
            }
        }
        Msg::History {
            config_id,
            jobs,
            resources,
        } => {
            if model.selected_config().map(|c| c.id) == Some(config_id) {
                model.history = jobs;
                model.history_resources = resources;
                model.history_of = Some(config_id);
                model.dirty = true;
            }
            Vec::new()
        }
        Msg::Jobs(jobs) => {
            model.jobs = jobs;
            model.jobs_loaded = true;
            let n = model.visible_jobs().len();
            clamp(&mut model.jobs_list.cursor, n);
            model.dirty = true;
            Vec::new()
        }
        Msg::Detections(d) => {
            model.detections = d;
            let n = model.visible_detections().len();
            clamp(&mut model.detections_list.cursor, n);
            model.dirty = true;
            Vec::new()
        }
        Msg::JobDetail(job, resources) => {
            model.overlay = Some(Overlay::JobDetail {
                job,
                resources,
                scroll: 0,
            });
            model.dirty = true;
            Vec::new()
        }
        Msg::Done(result) => {
            model.flash = Some(Flash::of(result));
            model.dirty = true;
            let mut effects = vec![Effect::LoadSnapshot];
            effects.extend(view_loads(model));
            effects
        }
        Msg::LoadFailed(text) => {
            model.flash = Some(Flash::warn(text));
            model.dirty = true;
            Vec::new()
        }
        Msg::Tick(now) => on_tick(model, now),
        Msg::Screen { width: _, height } => {
            model.dirty = true;
            let mut effects = vec![Effect::Repaint];
            effects.extend(logview::keys::on_screen(model, height));
            effects
        }
        Msg::Log(reply) => logview::keys::on_reply(model, reply),
        Msg::LogTick => logview::keys::on_poll_tick(model),
        Msg::LogLines => {
            // Only the tail pane shows them; a paused tail does not move.
            if model.tail_view.follow {
                model.dirty = true;
            }
            Vec::new()
        }
        Msg::LogHealth(health) => {
            on_log_health(model, health);
            Vec::new()
        }
    }
}

/// A log write failing, or working again, is said once on the status line.
fn on_log_health(model: &mut Model, health: LogHealth) {
    let before = std::mem::replace(&mut model.log_health, health);
    let now = &model.log_health;
    let text = match (&before.failing, &now.failing) {
        (None, Some(trouble)) => format!(
            "cannot write the log file {trouble}; log records are being lost until it can be written again"
        ),
        (Some(_), None) => format!(
            "log files can be written again; {} log records lost since the console started (each file says how many it lost)",
            now.lost
        ),
        _ => return,
    };
    model.flash = Some(Flash::warn(text));
    model.dirty = true;
}

/// Loads the data of the current view.
fn view_loads(model: &Model) -> Vec<Effect> {
    match model.view {
        View::Jobs => vec![Effect::LoadJobs],
        View::Detections => vec![Effect::LoadDetections],
        View::Dashboard => model
            .selected_config()
            .map(|c| Effect::LoadHistory(c.id))
            .into_iter()
            .collect(),
        View::Logs => logview::keys::loads(),
    }
}

fn on_tick(model: &mut Model, now: i64) -> Vec<Effect> {
    let previous = model.now;
    model.now = now;
    // The clock and countdowns move once a second: one cheap frame.
    model.dirty = true;
    let running: Vec<(i64, u64)> = model
        .configs
        .iter()
        .filter_map(|c| {
            model
                .progress_of(c)
                .map(|l| (c.id, l.progress.speed as u64))
        })
        .collect();
    for (id, samples) in model.throughput.iter_mut() {
        if !running.iter().any(|(r, _)| r == id) {
            samples.push_back(0);
        }
    }
    for (id, speed) in running {
        model.throughput.entry(id).or_default().push_back(speed);
    }
    for samples in model.throughput.values_mut() {
        while samples.len() > THROUGHPUT_SAMPLES {
            samples.pop_front();
        }
    }
    if now / SNAPSHOT_EVERY_MS != previous / SNAPSHOT_EVERY_MS {
        let mut effects = vec![Effect::LoadSnapshot];
        if matches!(model.view, View::Jobs | View::Detections | View::Logs) {
            effects.extend(view_loads(model));
        }
        effects
    } else {
        Vec::new()
    }
}

fn on_engine(model: &mut Model, event: EngineEvent) -> Vec<Effect> {
    model.dirty = true;
    match event {
        EngineEvent::Scheduler { config_id, status } => {
            model.schedulers.insert(config_id, status);
            Vec::new()
        }
        EngineEvent::Detection { .. } => match model.view {
            View::Detections => vec![Effect::LoadDetections],
            _ => Vec::new(),
        },
        EngineEvent::JobQueued { .. } | EngineEvent::ConfigsChanged => {
            let mut effects = vec![Effect::LoadSnapshot];
            if model.view == View::Jobs {
                effects.push(Effect::LoadJobs);
            }
            effects
        }
        EngineEvent::JobState {
            job_id,
            config_id,
            state,
            error,
        } => {
            if finished(state) {
                if let Some(id) = config_id
                    && model.live.get(&id).is_some_and(|l| l.job_id == job_id)
                {
                    model.live.remove(&id);
                }
                if state == JobState::Failed {
                    model.flash = Some(Flash::warn(format!(
                        "job {job_id} of {} failed: {}",
                        model.config_name(config_id),
                        error.as_deref().unwrap_or("no error recorded")
                    )));
                }
            }
            let mut effects = vec![Effect::LoadSnapshot];
            // The shown history only changes with the selected config's jobs.
            effects.extend(
                view_loads(model)
                    .into_iter()
                    .filter(|e| !matches!(e, Effect::LoadHistory(id) if config_id != Some(*id))),
            );
            effects
        }
        EngineEvent::Progress {
            job_id,
            config_id,
            progress,
            resources,
            eta_secs,
        } => {
            if let Some(id) = config_id {
                model.live.insert(
                    id,
                    LiveJob {
                        job_id,
                        progress,
                        resources,
                        eta_secs,
                    },
                );
            }
            Vec::new()
        }
    }
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    if model.input.is_some() {
        return on_input_key(model, key);
    }
    if let Some(Overlay::Settings(form)) = &mut model.overlay
        && let Some(text) = &mut form.editing
    {
        match key.code {
            KeyCode::Esc => form.editing = None,
            KeyCode::Enter => form.commit_edit(),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => {}
        }
        return Vec::new();
    }
    let in_dialog = matches!(model.overlay, Some(Overlay::Confirm(_)));
    let Some(action) = model.keymap.action(&key, in_dialog) else {
        return Vec::new();
    };
    if model.overlay.is_some() {
        return on_overlay_action(model, action);
    }
    on_action(model, action)
}

/// Text typed into the `/` filter or the `:` command line.
fn on_input_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let Some(input) = model.input.as_mut() else {
        return Vec::new();
    };
    let text = match input {
        Input::Filter(t) | Input::Command(t) | Input::Search(t) => t,
    };
    match key.code {
        KeyCode::Esc => {
            if matches!(input, Input::Filter(_)) {
                set_filter(model, String::new());
            }
            model.input = None;
        }
        KeyCode::Enter => match model.input.take() {
            Some(Input::Command(cmd)) => return run_command_line(model, cmd.trim()),
            Some(Input::Search(text)) => return logview::keys::search(model, &text),
            _ => {}
        },
        KeyCode::Backspace => {
            text.pop();
            if let Some(Input::Filter(t)) = &model.input {
                let t = t.clone();
                set_filter(model, t);
            }
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.push(c);
            if let Some(Input::Filter(t)) = &model.input {
                let t = t.clone();
                set_filter(model, t);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The filter of the list in focus.
fn set_filter(model: &mut Model, text: String) {
    match (model.view, model.pane) {
        (View::Dashboard, Pane::Tail) | (View::Logs, _) => {
            model.tail_view.filter = text;
            model.tail_view.back = 0;
        }
        (View::Dashboard, _) => {
            model.configs_list.filter = text;
            model.configs_list.cursor = 0;
        }
        (View::Jobs, _) => {
            model.jobs_list.filter = text;
            model.jobs_list.cursor = 0;
        }
        (View::Detections, _) => {
            model.detections_list.filter = text;
            model.detections_list.cursor = 0;
        }
    }
}

fn current_filter(model: &Model) -> String {
    match (model.view, model.pane) {
        (View::Dashboard, Pane::Tail) | (View::Logs, _) => model.tail_view.filter.clone(),
        (View::Dashboard, _) => model.configs_list.filter.clone(),
        (View::Jobs, _) => model.jobs_list.filter.clone(),
        (View::Detections, _) => model.detections_list.filter.clone(),
    }
}

/// `:jobs`, `:logs`, `:detections`, `:dashboard`, `:help`, `:quit`.
fn run_command_line(model: &mut Model, cmd: &str) -> Vec<Effect> {
    let action = match cmd {
        "" => return Vec::new(),
        "q" | "quit" => Action::Quit,
        "help" | "h" => Action::Help,
        "dashboard" | "configs" | "d" => Action::ViewDashboard,
        "jobs" | "j" | "queue" => Action::ViewJobs,
        "detections" | "history" | "changes" => Action::ViewDetections,
        "logs" | "log" | "l" => Action::ViewLogs,
        other if other.split_whitespace().next() == Some("goto") => {
            return logview::keys::goto(model, other["goto".len()..].trim());
        }
        other => {
            model.flash = Some(Flash::warn(format!(
                "unknown command :{}; try :dashboard, :jobs, :detections, :logs, :goto TIME, :help or :quit",
                crate::text::sanitize(other, 40)
            )));
            return Vec::new();
        }
    };
    on_action(model, action)
}

fn switch_view(model: &mut Model, view: View) -> Vec<Effect> {
    model.view = view;
    model.pane = Pane::Configs;
    view_loads(model)
}

fn on_overlay_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let Some(overlay) = model.overlay.as_mut() else {
        return Vec::new();
    };
    match overlay {
        Overlay::Confirm(_) => match action {
            Action::Confirm => match model.overlay.take() {
                Some(Overlay::Confirm(cmd)) => vec![Effect::Run(cmd)],
                _ => Vec::new(),
            },
            Action::Cancel => {
                model.overlay = None;
                model.flash = Some(Flash::info("cancelled"));
                Vec::new()
            }
            _ => Vec::new(),
        },
        Overlay::Help { scroll } => {
            match action {
                Action::Back | Action::Help => model.overlay = None,
                Action::Quit => model.quit = true,
                // The view stops at the last line; this only bounds the number.
                Action::Down => *scroll = (*scroll + 1).min(200),
                Action::PageDown => *scroll = (*scroll + 10).min(200),
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::PageUp => *scroll = scroll.saturating_sub(10),
                Action::Top => *scroll = 0,
                _ => {}
            }
            Vec::new()
        }
        Overlay::JobDetail { job, scroll, .. } => match action {
            Action::Back | Action::Open => {
                model.overlay = None;
                Vec::new()
            }
            Action::Down => {
                *scroll += 1;
                Vec::new()
            }
            Action::Up => {
                *scroll = scroll.saturating_sub(1);
                Vec::new()
            }
            Action::Retry => {
                let id = job.id;
                dispatch(model, Command::Retry { job: id })
            }
            Action::Quit => {
                model.quit = true;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Overlay::Settings(form) => match action {
            Action::Back => {
                model.overlay = None;
                Vec::new()
            }
            Action::Up => {
                form.move_by(-1);
                Vec::new()
            }
            Action::Down => {
                form.move_by(1);
                Vec::new()
            }
            Action::Top => {
                form.cursor = 0;
                Vec::new()
            }
            Action::Bottom => {
                form.move_by(isize::MAX / 2);
                Vec::new()
            }
            Action::Open if form.on_save_button() => match form.validate() {
                Some(settings) => {
                    let cmd = Command::Setup {
                        id: form.config_id,
                        name: form.config_name.clone(),
                        settings,
                    };
                    let effects = dispatch(model, cmd);
                    if !effects.is_empty() {
                        model.overlay = None;
                    }
                    effects
                }
                None => Vec::new(),
            },
            Action::Open => {
                form.activate();
                Vec::new()
            }
            _ => Vec::new(),
        },
    }
}

fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    if model.view == View::Logs
        && let Some(effects) = logview::keys::on_action(model, action)
    {
        return effects;
    }
    match action {
        Action::Quit => {
            model.quit = true;
            Vec::new()
        }
        Action::Help => {
            model.overlay = Some(Overlay::Help { scroll: 0 });
            Vec::new()
        }
        Action::Command => {
            model.input = Some(Input::Command(String::new()));
            Vec::new()
        }
        Action::Filter => {
            model.input = Some(Input::Filter(current_filter(model)));
            Vec::new()
        }
        Action::Refresh => {
            let mut effects = vec![Effect::LoadSnapshot];
            effects.extend(view_loads(model));
            model.flash = Some(Flash::info("reloaded"));
            effects
        }
        Action::Repaint => vec![Effect::Repaint],
        Action::ViewDashboard => switch_view(model, View::Dashboard),
        Action::ViewJobs => switch_view(model, View::Jobs),
        Action::ViewDetections => switch_view(model, View::Detections),
        Action::ViewLogs => switch_view(model, View::Logs),
        Action::Back => {
            if !current_filter(model).is_empty() {
                set_filter(model, String::new());
            } else if model.view == View::Dashboard && model.pane != Pane::Configs {
                model.pane = Pane::Configs;
            } else if model.view != View::Dashboard {
                return switch_view(model, View::Dashboard);
            }
            Vec::new()
        }
        Action::Follow => {
            model.tail_view.follow = !model.tail_view.follow;
            model.tail_view.back = 0;
            Vec::new()
        }
        Action::Level => {
            model.tail_view.min_level = model.tail_view.min_level.next();
            model.tail_view.back = 0;
            Vec::new()
        }
        _ => match model.view {
            View::Dashboard => on_dashboard(model, action),
            View::Jobs => on_jobs(model, action),
            View::Detections => {
                let n = model.visible_detections().len();
                move_cursor(&mut model.detections_list.cursor, n, action);
                Vec::new()
            }
            View::Logs => {
                scroll_tail(model, action, 20);
                Vec::new()
            }
        },
    }
}

/// Moves a list cursor; returns whether the action was a movement.
fn move_cursor(cursor: &mut usize, len: usize, action: Action) -> bool {
    const PAGE: usize = 10;
    let last = len.saturating_sub(1);
    *cursor = match action {
        Action::Up => cursor.saturating_sub(1),
        Action::Down => (*cursor + 1).min(last),
        Action::PageUp => cursor.saturating_sub(PAGE),
        Action::PageDown => (*cursor + PAGE).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => return false,
    };
    true
}

/// Up/Down in the tail scroll back (and pause following); Bottom follows.
fn scroll_tail(model: &mut Model, action: Action, page: usize) {
    let t = &mut model.tail_view;
    match action {
        Action::Up => t.back += 1,
        Action::PageUp => t.back += page,
        Action::Down => t.back = t.back.saturating_sub(1),
        Action::PageDown => t.back = t.back.saturating_sub(page),
        Action::Top => t.back = usize::MAX / 2,
        Action::Bottom => t.back = 0,
        _ => return,
    }
    let (_, total) = model.tail.window(t.min_level, &t.filter, 0, 0);
    t.back = t.back.min(total.saturating_sub(1));
    t.follow = t.back == 0;
}

fn on_dashboard(model: &mut Model, action: Action) -> Vec<Effect> {
    match action {
        Action::NextPane | Action::PrevPane => {
            let order = [Pane::Configs, Pane::Resources, Pane::Tail];
            let i = order.iter().position(|p| *p == model.pane).unwrap_or(0);
            let step = if action == Action::NextPane { 1 } else { 2 };
            model.pane = order[(i + step) % order.len()];
            return Vec::new();
        }
        Action::Open if model.pane == Pane::Configs => {
            model.pane = Pane::Resources;
            model.resources_scroll = 0;
            return Vec::new();
        }
        _ => {}
    }
    match model.pane {
        Pane::Configs => {
            let n = model.visible_configs().len();
            let before = model.configs_list.cursor;
            if move_cursor(&mut model.configs_list.cursor, n, action) {
                if model.configs_list.cursor != before {
                    model.resources_scroll = 0;
                    model.history.clear();
                    model.history_resources.clear();
                    model.history_of = None;
                    return view_loads(model);
                }
                return Vec::new();
            }
        }
        Pane::Resources => {
            let mut pos = model.resources_scroll;
            let n = model
                .selected_config()
                .and_then(|c| model.progress_of(c))
                .map_or(model.history_resources.len(), |l| l.resources.len());
            if move_cursor(&mut pos, n, action) {
                model.resources_scroll = pos;
                return Vec::new();
            }
        }
        Pane::Tail => {
            if matches!(
                action,
                Action::Up
                    | Action::Down
                    | Action::PageUp
                    | Action::PageDown
                    | Action::Top
                    | Action::Bottom
            ) {
                scroll_tail(model, action, 5);
                return Vec::new();
            }
        }
    }
    config_action(model, action)
}

/// Start, stop, trigger, settings and retry on the selected config.
fn config_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let Some(config) = model.selected_config() else {
        if matches!(
            action,
            Action::Start | Action::Stop | Action::Trigger | Action::Settings | Action::Retry
        ) {
            model.flash = Some(Flash::warn("no config selected"));
        }
        return Vec::new();
    };
    let (id, name) = (config.id, config.name.clone());
    let command = match action {
        Action::Start => Command::Start { id, name },
        Action::Stop => Command::Stop { id, name },
        Action::Trigger => Command::Trigger { id, name },
        Action::Retry => match &config.last_job {
            Some(job) if job.state == JobState::Failed => Command::Retry { job: job.id },
            _ => {
                model.flash = Some(Flash::warn(format!(
                    "{name}: its last job did not fail; nothing to retry"
                )));
                return Vec::new();
            }
        },
        Action::Settings => {
            if model.session.read_only {
                return dispatch(
                    model,
                    Command::Setup {
                        id,
                        name,
                        settings: Default::default(),
                    },
                );
            }
            let form = SettingsForm::new(id, &name, config.settings.as_ref());
            model.overlay = Some(Overlay::Settings(form));
            return Vec::new();
        }
        Action::RetryAll => Command::RetryAll,
        Action::Clear => Command::Clear,
        _ => return Vec::new(),
    };
    dispatch(model, command)
}

fn on_jobs(model: &mut Model, action: Action) -> Vec<Effect> {
    let n = model.visible_jobs().len();
    if move_cursor(&mut model.jobs_list.cursor, n, action) {
        return Vec::new();
    }
    match action {
        Action::Open => model
            .selected_job()
            .map(|j| vec![Effect::LoadJob(j.id)])
            .unwrap_or_default(),
        Action::Retry => match model.selected_job() {
            Some(job) if matches!(job.state, JobState::Failed | JobState::Cancelled) => {
                let job = job.id;
                dispatch(model, Command::Retry { job })
            }
            Some(job) => {
                model.flash = Some(Flash::warn(format!(
                    "job {} is {}; only failed or cancelled jobs can be retried",
                    job.id,
                    job.state.as_str()
                )));
                Vec::new()
            }
            None => Vec::new(),
        },
        Action::RetryAll => dispatch(model, Command::RetryAll),
        Action::Clear => dispatch(model, Command::Clear),
        _ => Vec::new(),
    }
}
