//! Popups over the view: confirmations, the settings form, job details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::widgets::{block, centered, count, hints, inert, span_ms};
use crate::store::queue::{Job, ResourceProgress};
use crate::text::relative_column;
use crate::tui::keymap::Action;
use crate::tui::model::{Model, Overlay};
use crate::tui::msg::Command;
use crate::tui::state::settings::SettingsForm;

pub fn draw(frame: &mut Frame, model: &Model, overlay: &Overlay, area: Rect) {
    match overlay {
        Overlay::Confirm(cmd) => confirm(frame, model, cmd, area),
        Overlay::Settings(form) => settings(frame, model, form, area),
        Overlay::JobDetail {
            job,
            resources,
            scroll,
        } => job_detail(frame, model, job, resources, *scroll, area),
        Overlay::Help { .. } => {}
    }
}

fn confirm(frame: &mut Frame, model: &Model, cmd: &Command, area: Rect) {
    let theme = &model.theme;
    let question = inert(&cmd.confirmation().unwrap_or_default(), 300);
    let popup = centered(area, 64, 7);
    frame.render_widget(Clear, popup);
    let outer = block(theme, Span::styled(" Confirm ", theme.warn()), true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let lines = vec![
        Line::from(Span::styled(question, theme.header())),
        Line::from(""),
        hints(
            theme,
            &[
                (model.keymap.label(Action::Confirm), "yes"),
                (model.keymap.label(Action::Cancel), "no"),
            ],
        ),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

fn settings(frame: &mut Frame, model: &Model, form: &SettingsForm, area: Rect) {
    let theme = &model.theme;
    let popup = centered(area, 78, form.fields.len() as u16 + 8);
    frame.render_widget(Clear, popup);
    let outer = block(
        theme,
        Span::styled(
            format!(" Auto-sync settings: {} ", inert(&form.config_name, 40)),
            theme.title(),
        ),
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let mut lines = Vec::new();
    for (i, f) in form.fields.iter().enumerate() {
        let here = i == form.cursor;
        let value = match (&form.editing, here) {
            (Some(text), true) => format!("{}{}", inert(text, 60), theme.caret()),
            _ => inert(&f.value, 60),
        };
        let mut spans = vec![
            Span::raw(if here { theme.cursor() } else { " " }),
            Span::styled(format!("{:<24}", f.key), theme.dim()),
            Span::styled(
                value,
                if here {
                    theme.selected()
                } else {
                    theme.header()
                },
            ),
        ];
        if f.error.is_some() {
            spans.push(Span::styled("  !", theme.error()));
        }
        lines.push(Line::from(spans));
    }
    let here = form.on_save_button();
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::raw(if here { theme.cursor() } else { " " }),
        Span::styled(
            "[ Save ]",
            if here { theme.selected() } else { theme.key() },
        ),
        Span::styled(
            "  validated with the rules of `syncdeck apply`",
            theme.dim(),
        ),
    ]));
    // Errors in full below the form: a field's line is too narrow at 80 columns.
    let errors = form
        .fields
        .iter()
        .filter_map(|f| f.error.as_ref().map(|e| format!("{}: {e}", f.key)))
        .chain(form.error.clone());
    for e in errors {
        lines.push(Line::from(Span::styled(inert(&e, 300), theme.error())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn job_detail(
    frame: &mut Frame,
    model: &Model,
    job: &Job,
    resources: &[ResourceProgress],
    scroll: usize,
    area: Rect,
) {
    let theme = &model.theme;
    let now = model.db_now();
    let popup = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, popup);
    let outer = block(
        theme,
        Span::styled(
            format!(
                " Job #{} | {} | {} ",
                job.id,
                inert(&model.config_name(job.config_id), 40),
                job.state.as_str()
            ),
            theme.title(),
        ),
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let took = match (job.started_at, job.finished_at) {
        (Some(s), Some(f)) => span_ms(s, f),
        (Some(s), None) => span_ms(s, now),
        _ => "-".into(),
    };
    let progress = model.job_progress(job);
    let mut head = vec![
        Line::from(format!(
            "{} | attempt {}/{} | created {} | took {} | {}",
            job.kind.as_str(),
            job.attempt,
            job.max_attempts,
            relative_column(job.created_at, now),
            took,
            inert(&job.reason, 80)
        )),
        Line::from(format!(
            "{} synced {dot} {} rejected {dot} {} of {} objects processed",
            count(progress.synced),
            count(progress.errors),
            count(progress.processed),
            count(progress.expected),
            dot = theme.dot(),
        )),
    ];
    if let Some(e) = &job.last_error {
        head.push(Line::from(vec![
            Span::styled(
                format!("{}: ", job.error_kind.as_deref().unwrap_or("error")),
                theme.error(),
            ),
            Span::raw(inert(e, 400)),
        ]));
    }
    // Room for the error to wrap onto a second line.
    let head_rows = head.len() as u16 + 2;
    let head_area = Rect {
        height: head_rows.min(inner.height),
        ..inner
    };
    frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: true }), head_area);
    let table_area = Rect {
        y: inner.y + head_area.height,
        height: inner.height.saturating_sub(head_area.height),
        ..inner
    };
    frame.render_widget(
        super::resources::table(theme, resources, scroll, table_area.width, true),
        table_area,
    );
}
