//! The per-resource table, shared by the dashboard (a running or the last
//! sync) and the job details (with each resource's message).

use ratatui::layout::Constraint;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table};

use super::widgets::{count, gauge, inert, rate, ratio};
use crate::store::queue::{ResourceProgress, ResourceStatus};
use crate::tui::theme::Theme;

/// Rows from `skip` on; `bar` cells of gauge; `messages` adds the
/// resource's last message as a final column.
pub fn table(
    theme: &Theme,
    resources: &[ResourceProgress],
    skip: usize,
    bar: usize,
    messages: bool,
) -> Table<'static> {
    let rows: Vec<Row> = resources
        .iter()
        .skip(skip)
        .map(|r| {
            let style = match r.status {
                ResourceStatus::Running => theme.header(),
                ResourceStatus::Failed => theme.error(),
                ResourceStatus::Pending => theme.dim(),
                _ => Style::default(),
            };
            // A finished resource whose size was unknown counts what it moved.
            let total = if r.total == 0 && r.status == ResourceStatus::Done {
                r.processed
            } else {
                r.total
            };
            let done = if r.status == ResourceStatus::Done {
                1.0
            } else {
                ratio(r.processed, total)
            };
            let mut cells = vec![
                Cell::from(r.rtype.clone()),
                Cell::from(inert(&r.resource, 60)),
                Cell::from(Line::from(gauge(theme, done, bar))),
                Cell::from(format!("{}/{}", count(r.synced), count(total))),
                Cell::from(count(r.errors)).style(if r.errors > 0 {
                    theme.warn()
                } else {
                    Style::default()
                }),
                Cell::from(if r.status == ResourceStatus::Running {
                    rate(r.speed)
                } else {
                    r.status.as_str().to_string()
                }),
            ];
            if messages {
                cells.push(Cell::from(inert(r.message.as_deref().unwrap_or(""), 200)));
            }
            Row::new(cells).style(style)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Fill(2),
        Constraint::Length(bar as u16 + 5),
        Constraint::Length(17),
        Constraint::Length(6),
        Constraint::Length(9),
    ];
    let mut header = vec![
        "type",
        "resource",
        "progress",
        "synced/total",
        "errors",
        "state",
    ];
    if messages {
        widths.push(Constraint::Fill(1));
        header.push("message");
    }
    Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(1)
}
