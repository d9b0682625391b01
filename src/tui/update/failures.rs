//! Failures explained: the whole error of a config or a job (cause by
//! cause), copying it, what the destination refused of a resource, and the
//! log lines of a job. Shared by the dashboard, the jobs view and the
//! overlays, which only say what is selected.

use crate::store::queue::{Job, ResourceProgress};
use crate::store::rejections::Rejection;
use crate::tui::flash::Flash;
use crate::tui::model::{ConfigRow, ErrorView, Model, Overlay, View};
use crate::tui::msg::Effect;
use crate::tui::names::resource_name;
use crate::tui::state::logview::{LogOp, Mode};

/// The error of a config: its last error, else its failed or retrying job's.
pub fn config_error(config: &ConfigRow) -> Option<ErrorView> {
    // The config's last error was set by its last job's final failure; a
    // failed attempt waiting for its retry, or a running retry, comes next.
    let failed_job = [&config.last_job, &config.next_job, &config.running_job]
        .into_iter()
        .flatten()
        .find(|j| j.last_error.is_some());
    let error = config
        .lifecycle
        .last_error
        .clone()
        .or_else(|| failed_job.and_then(|j| j.last_error.clone()))?;
    let mut view = failed_job.map_or_else(
        || ErrorView {
            title: String::new(),
            facts: Vec::new(),
            error: error.clone(),
            job_id: None,
            scroll: 0,
        },
        job_error_view,
    );
    view.title = format!("Error of {}", config.name);
    view.error = error;
    Some(view)
}

fn job_error_view(job: &Job) -> ErrorView {
    let mut facts = vec![
        format!("job {} ({})", job.id, job.kind.as_str()),
        format!(
            "{}, attempt {} of {}",
            job.state.as_str(),
            job.attempt,
            job.max_attempts
        ),
    ];
    if let Some(kind) = &job.error_kind {
        facts.push(format!("kind {kind}"));
    }
    ErrorView {
        title: format!("Error of job {}", job.id),
        facts,
        error: job.last_error.clone().unwrap_or_default(),
        job_id: Some(job.id),
        scroll: 0,
    }
}

/// Opens the error view, or says there is nothing to show.
pub fn show(model: &mut Model, view: Option<ErrorView>, what: &str) -> Vec<Effect> {
    match view.filter(|v| !v.error.is_empty()) {
        Some(v) => model.overlay = Some(Overlay::Error(v)),
        None => model.flash = Some(Flash::info(format!("{what}: no error recorded"))),
    }
    Vec::new()
}

pub fn show_job(model: &mut Model, job: &Job) -> Vec<Effect> {
    let what = format!("job {}", job.id);
    show(model, Some(job_error_view(job)), &what)
}

/// `y`: the text to the terminal's clipboard.
pub fn copy(model: &mut Model, text: String) -> Vec<Effect> {
    model.flash = Some(Flash::info(format!(
        "copied {} characters (OSC 52: the terminal puts them on its clipboard)",
        text.chars().count()
    )));
    vec![Effect::Copy(text)]
}

/// The refusals of one resource of a job (Enter on a resource).
pub fn rejections_of(job_id: i64, resource: &ResourceProgress) -> Vec<Effect> {
    let name = resource_name(&resource.resource, &resource.label);
    vec![Effect::LoadRejections {
        job_id,
        resource: resource.resource.clone(),
        label: format!("{} ({})", name.name, name.kind),
    }]
}

pub fn on_rejections(
    model: &mut Model,
    job_id: i64,
    resource: String,
    rows: Vec<Rejection>,
) -> Vec<Effect> {
    if rows.is_empty() {
        model.flash = Some(Flash::info(format!(
            "{resource} in job {job_id}: the destination refused nothing"
        )));
    } else {
        model.overlay = Some(Overlay::Rejections {
            job_id,
            resource,
            rows,
            scroll: 0,
        });
    }
    model.dirty = true;
    Vec::new()
}

/// The refusals as text (`y` in their overlay): one per line.
pub fn rejections_text(resource: &str, job_id: i64, rows: &[Rejection]) -> String {
    let mut out = format!("Refused by the destination: {resource}, job {job_id}\n");
    for r in rows {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            if r.object_key.is_empty() {
                "-"
            } else {
                &r.object_key
            },
            if r.error_code.is_empty() {
                "-"
            } else {
                &r.error_code
            },
            r.class,
            r.message
        ));
    }
    out
}

/// The live log tail filtered to one job's lines (`job=ID` is on every
/// line the engine logs about it).
pub fn job_logs(model: &mut Model, job_id: Option<i64>) -> Vec<Effect> {
    let Some(id) = job_id else {
        model.flash = Some(Flash::info("no job to show the log lines of"));
        return Vec::new();
    };
    model.overlay = None;
    model.view = View::Logs;
    let mut effects = Vec::new();
    if model.logview.file.take().is_some() {
        effects.push(Effect::Log(LogOp::Close));
    }
    model.logview.mode = Mode::Live;
    model.tail_view.filter = format!("job={id}");
    model.tail_view.follow = true;
    model.tail_view.back = 0;
    model.flash = Some(Flash::info(format!(
        "log lines of job {id} (Esc clears the filter)"
    )));
    effects
}

/// The job a config's keys mean: the running one, else the newest.
pub fn config_job(config: &ConfigRow) -> Option<i64> {
    config
        .running_job
        .as_ref()
        .or(config.next_job.as_ref().filter(|j| j.last_error.is_some()))
        .or(config.last_job.as_ref())
        .map(|j| j.id)
}
