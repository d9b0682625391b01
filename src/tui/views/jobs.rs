//! The job queue: queued, running and finished jobs with attempts and the
//! last error; retry, retry all and clear act here. Columns are as wide as
//! their values; the error takes what is left.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::columns::{self, Column};
use super::widgets::{block, count, inert, span_ms};
use crate::store::queue::{Job, JobState};
use crate::text::{ago_narrow, relative_narrow};
use crate::tui::model::Model;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let jobs = model.visible_jobs();
    let failed = jobs.iter().filter(|j| j.state == JobState::Failed).count();
    let mut title = format!(" Jobs ({}, {failed} failed) ", jobs.len());
    if let Some(by) = model.sort_label() {
        title.push_str(&format!("by {by} "));
    }
    if !model.jobs.list.filter.is_empty() {
        title.push_str(&format!("/{} ", inert(&model.jobs.list.filter, 30)));
    }
    let outer = block(theme, Span::styled(title, theme.title()), true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if jobs.is_empty() {
        let text = if !model.jobs.loaded {
            "loading…"
        } else if model.jobs.rows.is_empty() {
            "No jobs. Press t on the dashboard to sync a config now."
        } else {
            "No job matches the filter (Esc clears it)."
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let now = model.db_now();
    let height = inner.height.saturating_sub(1) as usize;
    let cursor = model.jobs.list.cursor;
    let skip = cursor.saturating_sub(height.saturating_sub(1));
    let shown: Vec<(usize, &Job)> = jobs
        .iter()
        .copied()
        .enumerate()
        .skip(skip)
        .take(height)
        .collect();
    let lines = |f: &dyn Fn(usize, &Job) -> Line<'static>| -> Vec<Line<'static>> {
        shown.iter().map(|(i, j)| f(*i, j)).collect()
    };
    let columns = vec![
        Column::text(
            "  id",
            0,
            lines(&|i, j| {
                let mark = if i == cursor { theme.cursor() } else { " " };
                Line::from(format!("{mark}#{}", j.id))
            }),
        ),
        Column::text(
            "config",
            0,
            lines(&|_, j| Line::from(inert(&model.config_name(j.config_id), 40))),
        ),
        Column::text("kind", 5, lines(&|_, j| Line::from(j.kind.as_str()))),
        Column::text(
            "state",
            0,
            lines(&|_, j| {
                let style = match j.state {
                    JobState::Failed => theme.error(),
                    JobState::Running => theme.ok(),
                    JobState::Queued => theme.info(),
                    JobState::Completed => Style::default(),
                    JobState::Cancelled => theme.dim(),
                };
                Line::from(Span::styled(j.state.as_str(), style))
            }),
        ),
        Column::text(
            "attempt",
            6,
            lines(&|_, j| Line::from(format!("{}/{}", j.attempt, j.max_attempts))),
        ),
        Column::text(
            "result",
            1,
            lines(&|_, j| {
                let p = model.job_progress(j);
                let mut text = match j.state {
                    JobState::Queued => String::new(),
                    _ => format!("{} synced", count(p.synced)),
                };
                if p.errors > 0 {
                    text.push_str(&format!(" {} {} rejected", theme.dot(), count(p.errors)));
                }
                Line::from(text)
            }),
        ),
        Column::text(
            "when",
            3,
            lines(&|_, j| {
                Line::from(match j.state {
                    JobState::Queued if j.run_at > now => {
                        format!("due {}", relative_narrow(j.run_at, now))
                    }
                    JobState::Queued => "due now".into(),
                    _ => ago_narrow(j.finished_at.or(j.started_at).unwrap_or(j.created_at), now),
                })
            }),
        ),
        Column::text(
            "took",
            4,
            lines(&|_, j| {
                Line::from(match (j.started_at, j.finished_at) {
                    (Some(s), Some(f)) => span_ms(s, f),
                    (Some(s), None) if j.state == JobState::Running => span_ms(s, now),
                    _ => "-".into(),
                })
            }),
        ),
        Column::text(
            "last error",
            2,
            lines(&|_, j| {
                Line::from(Span::styled(
                    inert(j.last_error.as_deref().unwrap_or(""), 300),
                    theme.error(),
                ))
            }),
        )
        .shrinking_fill(16),
    ];
    let styles: Vec<Style> = shown
        .iter()
        .map(|(i, _)| {
            if *i == cursor {
                theme.selected()
            } else {
                Style::default()
            }
        })
        .collect();
    frame.render_widget(
        columns::table(theme, columns, &styles, inner.width, 1),
        inner,
    );
}
