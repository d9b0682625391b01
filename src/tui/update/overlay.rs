//! Actions while something sits on top of the view: the confirmation
//! (accept or cancel only), help, a job's detail, the settings form.

use super::{failures, settings};
use crate::tui::dispatch::dispatch;
use crate::tui::flash::Flash;
use crate::tui::keymap::Action;
use crate::tui::model::{Model, Overlay};
use crate::tui::msg::{Command, Effect};

pub fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let Some(overlay) = model.overlay.as_mut() else {
        return Vec::new();
    };
    match overlay {
        Overlay::Confirm(_) => match action {
            Action::Confirm => match model.overlay.take() {
                Some(Overlay::Confirm(Command::Quit { .. })) => {
                    model.quit = true;
                    Vec::new()
                }
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
        Overlay::JobDetail {
            job,
            scroll,
            resources,
        } => match action {
            Action::Back => {
                model.overlay = None;
                Vec::new()
            }
            // Enter on the resource at the top: what was refused of it.
            Action::Open => match resources.get(*scroll) {
                Some(r) => failures::rejections_of(job.id, r),
                None => Vec::new(),
            },
            Action::ShowError => {
                let job = job.clone();
                failures::show_job(model, &job)
            }
            Action::JobLogs => {
                let id = job.id;
                failures::job_logs(model, Some(id))
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
        Overlay::Error(view) => match action {
            Action::Back | Action::ShowError => {
                model.overlay = None;
                Vec::new()
            }
            Action::Down => {
                view.scroll += 1;
                Vec::new()
            }
            Action::PageDown => {
                view.scroll += 10;
                Vec::new()
            }
            Action::Up => {
                view.scroll = view.scroll.saturating_sub(1);
                Vec::new()
            }
            Action::PageUp => {
                view.scroll = view.scroll.saturating_sub(10);
                Vec::new()
            }
            Action::Copy => {
                let text = view.clipboard_text();
                failures::copy(model, text)
            }
            Action::JobLogs => {
                let id = view.job_id;
                failures::job_logs(model, id)
            }
            Action::Quit => {
                model.quit = true;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Overlay::Rejections {
            job_id,
            resource,
            rows,
            scroll,
        } => match action {
            Action::Back | Action::Open => {
                model.overlay = None;
                Vec::new()
            }
            Action::Down => {
                *scroll = (*scroll + 1).min(rows.len().saturating_sub(1));
                Vec::new()
            }
            Action::Up => {
                *scroll = scroll.saturating_sub(1);
                Vec::new()
            }
            Action::Copy => {
                let text = failures::rejections_text(resource, *job_id, rows);
                failures::copy(model, text)
            }
            Action::JobLogs => {
                let id = *job_id;
                failures::job_logs(model, Some(id))
            }
            Action::Quit => {
                model.quit = true;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Overlay::Settings(_) => settings::on_action(model, action),
    }
}
