//! Popups over the view: confirmations, the settings form, job details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use ratatui::style::Style;

use super::columns::Column;
use super::widgets::{block, centered, count, hints, inert, span_ms};
use crate::store::queue::{Job, ResourceProgress};
use crate::store::rejections::Rejection;
use crate::text::relative_column;
use crate::tui::keymap::Action;
use crate::tui::model::{ErrorView, Model, Overlay};
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
        Overlay::Error(view) => error_view(frame, model, view, area),
        Overlay::Rejections {
            job_id,
            resource,
            rows,
            scroll,
        } => rejections(frame, model, *job_id, resource, rows, *scroll, area),
        Overlay::Help { .. } => {}
    }
}

/// The whole error, wrapped (never cut to a few lines), then its causes one
/// per line, the root cause last.
fn error_view(frame: &mut Frame, model: &Model, view: &ErrorView, area: Rect) {
    let theme = &model.theme;
    let popup = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, popup);
    let outer = block(
        theme,
        Span::styled(format!(" {} ", inert(&view.title, 60)), theme.title()),
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let mut lines = vec![Line::from(Span::styled(
        inert(&view.facts.join(&format!(" {} ", theme.dot())), 200),
        theme.dim(),
    ))];
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        inert(&view.error, 4_000),
        theme.error(),
    )));
    let causes = view.causes();
    if causes.len() > 1 {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "Cause by cause (the last is the root):",
            theme.dim(),
        )));
        for (i, cause) in causes.iter().enumerate() {
            lines.push(Line::from(vec![
                Span::styled(format!("{:>2}. ", i + 1), theme.dim()),
                Span::styled(
                    inert(cause, 1_000),
                    if i + 1 == causes.len() {
                        theme.error()
                    } else {
                        Style::default()
                    },
                ),
            ]));
        }
    }
    let km = &model.keymap;
    lines.push(Line::from(""));
    lines.push(hints(
        theme,
        &[
            (km.short(Action::Copy), "copy"),
            (km.short(Action::JobLogs), "log lines"),
            (km.short(Action::Back), "close"),
        ],
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((view.scroll.min(u16::MAX as usize) as u16, 0)),
        inner,
    );
}

#[allow(clippy::too_many_arguments)]
fn rejections(
    frame: &mut Frame,
    model: &Model,
    job_id: i64,
    resource: &str,
    rows: &[Rejection],
    scroll: usize,
    area: Rect,
) {
    let theme = &model.theme;
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
                " Refused: {} | job {job_id} | {} ",
                inert(resource, 60),
                count(rows.len() as u64)
            ),
            theme.title(),
        ),
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let shown: Vec<&Rejection> = rows.iter().skip(scroll).collect();
    // Narrow: each refusal on two lines (object, code and class; then the
    // message), so neither the key nor the message is cut.
    let object_width = shown
        .iter()
        .map(|r| r.object_key.chars().count())
        .max()
        .unwrap_or(0);
    if (inner.width as usize) < object_width + 40 {
        let mut lines = Vec::new();
        for (i, r) in shown.iter().enumerate() {
            let style = if i == 0 {
                theme.selected()
            } else {
                Style::default()
            };
            lines.push(Line::from(vec![
                Span::styled(
                    if r.object_key.is_empty() {
                        "-".into()
                    } else {
                        inert(&r.object_key, 120)
                    },
                    style,
                ),
                Span::styled(
                    format!(
                        " {} {}",
                        if r.error_code.is_empty() {
                            "-"
                        } else {
                            &r.error_code
                        },
                        r.class,
                    ),
                    theme.dim(),
                ),
            ]));
            lines.push(Line::from(format!(
                "  {} (seen {}x)",
                inert(&r.message, 400),
                r.times_seen
            )));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    }
    let text = |f: &dyn Fn(&Rejection) -> String| -> Vec<Line<'static>> {
        shown.iter().map(|r| Line::from(f(r))).collect()
    };
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            inert(s, 80)
        }
    };
    let columns = vec![
        Column::text("object", 0, text(&|r| or_dash(&r.object_key))),
        Column::text("code", 0, text(&|r| or_dash(&r.error_code))),
        Column::text("class", 2, text(&|r| r.class.clone())),
        Column::text("seen", 3, text(&|r| format!("{}x", r.times_seen))),
        Column::text("message", 1, text(&|r| inert(&r.message, 400))).shrinking_fill(20),
    ];
    let styles: Vec<Style> = shown
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i == 0 {
                theme.selected()
            } else {
                Style::default()
            }
        })
        .collect();
    frame.render_widget(
        super::columns::table(theme, columns, &styles, inner.width, 1),
        inner,
    );
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

/// What a job's processed objects became: synced, rejected, and the rest
/// said as what it is (checked by a deletion pass, or skipped), so the
/// figures add up on screen.
fn job_counts(
    progress: &crate::store::queue::JobProgress,
    resources: &[ResourceProgress],
    dot: &str,
) -> String {
    let mut checked = 0u64;
    let mut skipped = 0u64;
    for r in resources {
        let rest = r.processed.saturating_sub(r.synced + r.errors);
        if crate::tui::names::resource_name(&r.resource, &r.label).deletions {
            checked += rest;
        } else {
            skipped += rest;
        }
    }
    let mut out = format!(
        "{} synced {dot} {} rejected",
        count(progress.synced),
        count(progress.errors)
    );
    if checked > 0 {
        out += &format!(" {dot} {} checked by deletion passes", count(checked));
    }
    if skipped > 0 {
        out += &format!(" {dot} {} skipped", count(skipped));
    }
    out += &format!(
        " {dot} {} of {} objects processed",
        count(progress.processed),
        count(progress.expected)
    );
    out
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
    // A job queued for its retry is not taking time: it waits.
    let took = match (job.started_at, job.finished_at) {
        (Some(s), Some(f)) => span_ms(s, f),
        (Some(s), None) if job.state == crate::store::queue::JobState::Running => span_ms(s, now),
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
        Line::from(job_counts(progress, resources, theme.dot())),
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
        super::resources::table(theme, resources, scroll, Some(0), table_area.width, true),
        table_area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queue::JobProgress;

    fn row(key: &str, processed: u64, synced: u64, errors: u64) -> ResourceProgress {
        crate::tui::sample::done_resource(
            key.into(),
            String::new(),
            processed,
            synced,
            errors,
            None,
        )
    }

    #[test]
    fn a_jobs_counts_add_up_in_words() {
        let resources = [
            row("dataValues:a", 30_800, 30_797, 2),
            row("trackerDeletions:b", 10_003, 0, 0),
        ];
        let progress = JobProgress {
            expected: 40_803,
            processed: 40_803,
            synced: 30_797,
            errors: 2,
            ..JobProgress::default()
        };
        assert_eq!(
            job_counts(&progress, &resources, "·"),
            "30,797 synced · 2 rejected · 10,003 checked by deletion passes · 1 skipped · 40,803 of 40,803 objects processed"
        );
    }
}
