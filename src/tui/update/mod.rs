//! `update(model, msg) -> effects`: the console's whole behaviour as a pure
//! function. Keys, engine events, loaded data and ticks come in; the model
//! changes and the effects (loads, engine commands) go out to `app`, which
//! runs them and feeds their results back as messages.
//!
//! This is the top level: it routes each message to the handler of the
//! view it belongs to (`dashboard`, `jobs`, `detections`, `logview`,
//! `settings`), keeps what all views share (overlays, the input line, the
//! `:` commands, view switches, engine events) and leaves each view's own
//! keys to its handler.

pub mod dashboard;
pub mod detections;
pub mod failures;
pub mod jobs;
pub mod logview;
pub mod overlay;
pub mod settings;

use crossterm::event::{KeyEvent, KeyEventKind};

use crate::engine::events::{EngineEvent, Link};
use crate::logs::LogHealth;
use crate::store::queue::{JobState, ResourceProgress};

use crate::tui::command_line;
use crate::tui::flash::Flash;
use crate::tui::input::{self, Submitted};
use crate::tui::keymap::Action;
use crate::tui::model::{Input, LiveJob, Model, Overlay, Pane, View, finished};
use crate::tui::msg::{Effect, Msg};
use crate::tui::scroll::scroll_tail;

/// Seconds between reloads of the snapshot when nothing told us to: another
/// process (a daemon, `syncdeck stop` in another shell) may have changed it.
pub const SNAPSHOT_EVERY_MS: i64 = 5_000;

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
        Msg::Snapshot(snapshot) => dashboard::on_snapshot(model, *snapshot),
        Msg::History {
            config_id,
            jobs,
            resources,
        } => dashboard::on_history(model, config_id, jobs, resources),
        Msg::Jobs(jobs) => jobs::on_loaded(model, jobs),
        Msg::Detections(d) => detections::on_loaded(model, d),
        Msg::JobDetail(job, resources) => {
            model.overlay = Some(Overlay::JobDetail {
                job,
                resources,
                scroll: 0,
            });
            model.dirty = true;
            Vec::new()
        }
        Msg::Rejections {
            job_id,
            resource,
            rows,
        } => failures::on_rejections(model, job_id, resource, rows),
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
        Msg::Missed => reload(model),
        Msg::Link(Link::Down { error, retry_in }) => {
            model.dirty = true;
            model.link_down = Some(format!(
                "next attempt in {}: {error}",
                humantime::format_duration(retry_in)
            ));
            Vec::new()
        }
        Msg::Link(Link::Up) => {
            model.dirty = true;
            // Back after a gap (or a daemon restart): everything shown is reloaded.
            if model.link_down.take().is_some() {
                reload(model)
            } else {
                Vec::new()
            }
        }
        Msg::Screen { height } => {
            model.dirty = true;
            let mut effects = vec![Effect::Repaint];
            effects.extend(logview::on_screen(model, height));
            effects
        }
        Msg::Log(reply) => logview::on_reply(model, reply),
        Msg::LogTick => logview::on_poll_tick(model),
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
    model.flash = Some(if now.failing.is_some() {
        Flash::lasting(text)
    } else {
        Flash::warn(text)
    });
    model.dirty = true;
}

/// Loads the data of the current view.
fn view_loads(model: &Model) -> Vec<Effect> {
    match model.view {
        View::Jobs => jobs::loads(),
        View::Detections => detections::loads(),
        View::Dashboard => dashboard::loads(model),
        View::Logs => logview::loads(),
    }
}

/// The snapshot and what the current view shows, loaded again.
fn reload(model: &mut Model) -> Vec<Effect> {
    let mut effects = vec![Effect::LoadSnapshot];
    effects.extend(view_loads(model));
    effects
}

fn on_tick(model: &mut Model, now: i64) -> Vec<Effect> {
    let previous = model.now;
    model.now = now;
    if model.flash.as_mut().is_some_and(|f| f.expired(now)) {
        model.flash = None;
    }
    // The clock and countdowns move once a second: one cheap frame.
    model.dirty = true;
    dashboard::sample_throughput(model);
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
            View::Detections => detections::loads(),
            _ => Vec::new(),
        },
        EngineEvent::JobQueued { .. } | EngineEvent::ConfigsChanged => {
            let mut effects = vec![Effect::LoadSnapshot];
            if model.view == View::Jobs {
                effects.extend(jobs::loads());
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
                // Resources may be only those that changed (the API's
                // deltas): merged by key into what the job showed so far.
                let merged = match model.live.remove(&id) {
                    Some(before) if before.job_id == job_id => {
                        merge_resources(before.resources, resources)
                    }
                    _ => resources,
                };
                model.live.insert(
                    id,
                    LiveJob {
                        job_id,
                        progress,
                        resources: merged,
                        eta_secs,
                    },
                );
            }
            Vec::new()
        }
    }
}

/// `before` with each of `news` replacing the resource of its key (or
/// added, in plan order).
fn merge_resources(
    mut before: Vec<ResourceProgress>,
    news: Vec<ResourceProgress>,
) -> Vec<ResourceProgress> {
    for r in news {
        match before.iter_mut().find(|b| b.resource == r.resource) {
            Some(slot) => *slot = r,
            None => before.push(r),
        }
    }
    before.sort_by_key(|r| r.position);
    before
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    if model.input.is_some() {
        let before = model.selected_config().map(|c| c.id);
        let mut effects = match input::on_key(model, key) {
            Some(Submitted::Command(cmd)) => run_command_line(model, cmd.trim()),
            Some(Submitted::Search(text)) => logview::search(model, &text),
            None => Vec::new(),
        };
        // A filter moved the selection to another config: its history.
        let after = model.selected_config().map(|c| c.id);
        if model.view == View::Dashboard
            && after != before
            && let Some(id) = after
        {
            effects.push(Effect::LoadHistory(id));
        }
        return effects;
    }
    if settings::on_edit_key(model, key) {
        return Vec::new();
    }
    let in_dialog = matches!(model.overlay, Some(Overlay::Confirm(_)));
    let Some(action) = model.keymap.action(&key, in_dialog) else {
        return Vec::new();
    };
    if model.overlay.is_some() {
        return overlay::on_action(model, action);
    }
    on_action(model, action)
}

/// `:jobs`, `:logs`, `:detections`, `:dashboard`, `:help`, `:quit`,
/// `:goto TIME`; any prefix that names one command (`:det`).
fn run_command_line(model: &mut Model, cmd: &str) -> Vec<Effect> {
    if cmd.is_empty() {
        return Vec::new();
    }
    let (word, rest) = cmd.split_once(' ').unwrap_or((cmd, ""));
    let name = match command_line::resolve(word) {
        Ok(name) => name,
        Err(candidates) => {
            let hint = if candidates.is_empty() {
                "try :dashboard, :jobs, :detections, :logs, :goto TIME, :help or :quit (Tab completes)"
                    .to_string()
            } else {
                format!("it could be :{}", candidates.join(", :"))
            };
            model.flash = Some(Flash::warn(format!(
                "{} :{}; {hint}",
                if candidates.is_empty() {
                    "unknown command"
                } else {
                    "ambiguous command"
                },
                crate::text::sanitize(word, 40)
            )));
            return Vec::new();
        }
    };
    match command_line::COMMANDS.iter().find(|(n, _)| *n == name) {
        Some((_, Some(action))) => on_action(model, *action),
        _ => logview::goto(model, rest.trim()),
    }
}

fn switch_view(model: &mut Model, view: View) -> Vec<Effect> {
    model.view = view;
    model.pane = Pane::Configs;
    view_loads(model)
}

/// An action with nothing on top: the log viewer's own keys first (in the
/// logs view), then what every view shares, then the view's handler.
fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    if model.view == View::Logs
        && let Some(effects) = logview::on_action(model, action)
    {
        return effects;
    }
    match action {
        // Syncs this console runs stop with it: asked first (not through the
        // dispatcher: read-only may always quit).
        Action::Quit if model.session.origin.runs_here() && !model.live.is_empty() => {
            model.overlay = Some(Overlay::Confirm(crate::tui::msg::Command::Quit {
                running: model.live.len(),
            }));
            Vec::new()
        }
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
            model.input = Some(Input::Filter(input::current_filter(model)));
            Vec::new()
        }
        Action::Refresh => {
            let mut effects = vec![Effect::LoadSnapshot];
            effects.extend(view_loads(model));
            model.flash = Some(Flash::info("reloaded"));
            effects
        }
        Action::Repaint => vec![Effect::Repaint],
        // The next order of the list in focus; the selection stays on its item.
        Action::Sort if model.view != View::Logs => {
            model.remember_selection();
            let list = match model.view {
                View::Jobs => &mut model.jobs.list,
                View::Detections => &mut model.detections.list,
                _ => &mut model.dashboard.list,
            };
            list.sort += 1;
            model.follow_selection();
            model.flash = Some(Flash::info(format!("sorted by {}", model.sort_name())));
            Vec::new()
        }
        Action::ViewDashboard => switch_view(model, View::Dashboard),
        Action::ViewJobs => switch_view(model, View::Jobs),
        Action::ViewDetections => switch_view(model, View::Detections),
        Action::ViewLogs => switch_view(model, View::Logs),
        Action::Back => {
            if !input::current_filter(model).is_empty() {
                input::set_filter(model, String::new());
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
            View::Dashboard => dashboard::on_action(model, action),
            View::Jobs => jobs::on_action(model, action),
            View::Detections => detections::on_action(model, action),
            // The live tail, full screen (a file's keys were the viewer's).
            View::Logs => {
                scroll_tail(model, action, 20);
                Vec::new()
            }
        },
    }
}
