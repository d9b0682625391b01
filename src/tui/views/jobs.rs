//! The job queue: queued, running and finished jobs with attempts and the
//! last error; retry, retry all and clear act here.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::widgets::{block, count, inert, span_ms};
use crate::store::queue::JobState;
use crate::text::relative_column;
use crate::tui::model::Model;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let jobs = model.visible_jobs();
    let failed = jobs.iter().filter(|j| j.state == JobState::Failed).count();
    let mut title = format!(" Jobs ({}, {failed} failed) ", jobs.len());
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
    let wide = inner.width >= 120;
    let height = inner.height.saturating_sub(1) as usize;
    let skip = model
        .jobs
        .list
        .cursor
        .saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = jobs
        .iter()
        .enumerate()
        .skip(skip)
        .take(height)
        .map(|(i, j)| {
            let state_style = match j.state {
                JobState::Failed => theme.error(),
                JobState::Running => theme.ok(),
                JobState::Queued => theme.info(),
                JobState::Completed => ratatui::style::Style::default(),
                JobState::Cancelled => theme.dim(),
            };
            let when = match j.state {
                JobState::Queued if j.run_at > now => {
                    format!("due {}", relative_column(j.run_at, now))
                }
                _ => relative_column(j.finished_at.or(j.started_at).unwrap_or(j.created_at), now),
            };
            let took = match (j.started_at, j.finished_at) {
                (Some(s), Some(f)) => span_ms(s, f),
                (Some(s), None) if j.state == JobState::Running => span_ms(s, now),
                _ => "-".into(),
            };
            let mut cells = vec![
                Cell::from(format!(
                    "{}#{}",
                    if i == model.jobs.list.cursor {
                        theme.cursor()
                    } else {
                        " "
                    },
                    j.id
                )),
                Cell::from(inert(&model.config_name(j.config_id), 30)),
                Cell::from(j.kind.as_str()),
                Cell::from(j.state.as_str()).style(state_style),
                Cell::from(format!("{}/{}", j.attempt, j.max_attempts)),
                Cell::from(count(j.progress.synced)),
                Cell::from(count(j.progress.errors)),
                Cell::from(when),
            ];
            if wide {
                cells.push(Cell::from(took));
            }
            cells.push(
                Cell::from(inert(j.last_error.as_deref().unwrap_or(""), 300)).style(theme.error()),
            );
            let row = Row::new(cells);
            if i == model.jobs.list.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(7),
        Constraint::Length(16),
        Constraint::Length(11),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(12),
    ];
    let mut header = vec![
        "  id", "config", "kind", "state", "attempt", "synced", "errors", "when",
    ];
    if wide {
        widths.push(Constraint::Length(7));
        header.push("took");
    }
    widths.push(Constraint::Fill(1));
    header.push("last error");
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(theme.dim()))
            .column_spacing(1),
        inner,
    );
}
