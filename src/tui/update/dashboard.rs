//! The dashboard's handler: its panes' keys, the actions on the selected
//! config, the history that follows the cursor and the throughput samples.

use crate::engine::handle::Snapshot;
use crate::store::queue::{Job, JobState, ResourceProgress};

use super::failures;
use crate::tui::dispatch::dispatch;
use crate::tui::flash::Flash;
use crate::tui::keymap::Action;
use crate::tui::model::{Model, Overlay, Pane};
use crate::tui::msg::{Command, Effect};
use crate::tui::scroll::{move_cursor, scroll_tail};
use crate::tui::state::dashboard::THROUGHPUT_SAMPLES;
use crate::tui::state::settings::SettingsForm;

/// What the dashboard loads: the selected config's history.
pub fn loads(model: &Model) -> Vec<Effect> {
    model
        .selected_config()
        .map(|c| Effect::LoadHistory(c.id))
        .into_iter()
        .collect()
}

/// A new snapshot; the history is reloaded when the selection moved to
/// another config (or has none loaded).
pub fn on_snapshot(model: &mut Model, snapshot: Snapshot) -> Vec<Effect> {
    let before = model.selected_config().map(|c| c.id);
    model.apply_snapshot(snapshot);
    model.dirty = true;
    let after = model.selected_config().map(|c| c.id);
    match after {
        Some(id) if after != before || model.dashboard.history_of != Some(id) => {
            vec![Effect::LoadHistory(id)]
        }
        _ => Vec::new(),
    }
}

/// A loaded history; late replies for a config no longer selected are dropped.
pub fn on_history(
    model: &mut Model,
    config_id: i64,
    jobs: Vec<Job>,
    resources: Vec<ResourceProgress>,
) -> Vec<Effect> {
    if model.selected_config().map(|c| c.id) == Some(config_id) {
        let state = &mut model.dashboard;
        state.history = jobs;
        state.history_resources = resources;
        state.history_of = Some(config_id);
        model.dirty = true;
    }
    Vec::new()
}

/// One throughput sample per config a second: its speed while it runs, 0
/// otherwise.
pub fn sample_throughput(model: &mut Model) {
    let running: Vec<(i64, u64)> = model
        .configs
        .iter()
        .filter_map(|c| {
            model
                .progress_of(c)
                .map(|l| (c.id, l.progress.speed as u64))
        })
        .collect();
    let throughput = &mut model.dashboard.throughput;
    for (id, samples) in throughput.iter_mut() {
        if !running.iter().any(|(r, _)| r == id) {
            samples.push_back(0);
        }
    }
    for (id, speed) in running {
        throughput.entry(id).or_default().push_back(speed);
    }
    for samples in throughput.values_mut() {
        while samples.len() > THROUGHPUT_SAMPLES {
            samples.pop_front();
        }
    }
}

pub fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
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
            model.dashboard.resources_scroll = 0;
            return Vec::new();
        }
        // Enter on a resource: what the destination refused of it.
        Action::Open if model.pane == Pane::Resources => {
            return resource_rejections(model);
        }
        Action::ShowError => {
            let view = model.selected_config().and_then(failures::config_error);
            let name = model
                .selected_config()
                .map_or_else(|| "no config".into(), |c| c.name.clone());
            return failures::show(model, view, &name);
        }
        Action::JobLogs => {
            let job = model.selected_config().and_then(failures::config_job);
            return failures::job_logs(model, job);
        }
        _ => {}
    }
    match model.pane {
        Pane::Configs => {
            let n = model.visible_configs().len();
            let state = &mut model.dashboard;
            let before = state.list.cursor;
            if move_cursor(&mut state.list.cursor, n, action) {
                model.remember_selection();
                let state = &mut model.dashboard;
                if state.list.cursor != before {
                    state.resources_scroll = 0;
                    state.history.clear();
                    state.history_resources.clear();
                    state.history_of = None;
                    return loads(model);
                }
                return Vec::new();
            }
        }
        Pane::Resources => {
            let mut pos = model.dashboard.resources_scroll;
            let n = model
                .selected_config()
                .and_then(|c| model.progress_of(c))
                .map_or(model.dashboard.history_resources.len(), |l| {
                    l.resources.len()
                });
            if move_cursor(&mut pos, n, action) {
                model.dashboard.resources_scroll = pos;
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

/// The resource at the top of the resources pane (the one the pane's
/// cursor is on) and its job: the running one, else the newest shown.
fn resource_rejections(model: &mut Model) -> Vec<Effect> {
    let Some(config) = model.selected_config() else {
        return Vec::new();
    };
    let at = model.dashboard.resources_scroll;
    let found = match model.progress_of(config) {
        Some(live) => live.resources.get(at).map(|r| (live.job_id, r.clone())),
        None => model
            .dashboard
            .history
            .first()
            .filter(|_| model.dashboard.history_of == Some(config.id))
            .and_then(|j| Some((j.id, model.dashboard.history_resources.get(at)?.clone()))),
    };
    match found {
        Some((job, resource)) => failures::rejections_of(job, &resource),
        None => Vec::new(),
    }
}

/// Start, stop, trigger, settings and retry on the selected config.
fn config_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let Some(config) = model.selected_config() else {
        if matches!(
            action,
            Action::Start
                | Action::Stop
                | Action::Trigger
                | Action::Settings
                | Action::Retry
                | Action::ClearCooldown
        ) {
            model.flash = Some(Flash::warn("no config selected"));
        }
        return Vec::new();
    };
    let (id, name) = (config.id, config.name.clone());
    if action.needs_scheduler() && config.auto == crate::engine::handle::AutoState::NotConfigured {
        model.flash = Some(Flash::warn(format!(
            "{name} is a manual config: it has no scheduler; press {} to sync it now",
            model.keymap.short(Action::Trigger)
        )));
        return Vec::new();
    }
    let cooling = matches!(
        model.scheduler_of(config),
        crate::engine::events::SchedulerStatus::Cooldown { .. }
    );
    let command = match action {
        Action::ClearCooldown if !cooling => {
            model.flash = Some(Flash::warn(format!("{name} is not in cooldown")));
            return Vec::new();
        }
        Action::ClearCooldown => Command::ClearCooldown { id, name },
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
