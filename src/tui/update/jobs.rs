//! The jobs view's handler: the list, opening a job, retry and clear.

use crate::store::queue::{Job, JobState};
use crate::tui::dispatch::dispatch;
use crate::tui::flash::Flash;
use crate::tui::keymap::Action;
use crate::tui::model::Model;
use crate::tui::msg::{Command, Effect};
use crate::tui::scroll::move_cursor;

/// What the jobs view loads.
pub fn loads() -> Vec<Effect> {
    vec![Effect::LoadJobs]
}

pub fn on_loaded(model: &mut Model, jobs: Vec<Job>) -> Vec<Effect> {
    model.jobs.rows = jobs;
    model.jobs.loaded = true;
    model.follow_selection();
    model.dirty = true;
    Vec::new()
}

pub fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let n = model.visible_jobs().len();
    if move_cursor(&mut model.jobs.list.cursor, n, action) {
        model.remember_selection();
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
        Action::ShowError => match model.selected_job().cloned() {
            Some(job) => super::failures::show_job(model, &job),
            None => Vec::new(),
        },
        Action::JobLogs => {
            let job = model.selected_job().map(|j| j.id);
            super::failures::job_logs(model, job)
        }
        Action::RetryAll => dispatch(model, Command::RetryAll),
        Action::Clear => dispatch(model, Command::Clear),
        _ => Vec::new(),
    }
}
