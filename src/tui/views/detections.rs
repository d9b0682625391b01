//! Change-detection history: what the detector counted, per config and
//! resource, newest first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::widgets::{block, clock, count, inert};
use crate::text::relative_column;
use crate::tui::model::Model;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let rows_all = model.visible_detections();
    let mut title = format!(" Detections ({}) ", rows_all.len());
    if !model.detections.list.filter.is_empty() {
        title.push_str(&format!("/{} ", inert(&model.detections.list.filter, 30)));
    }
    let outer = block(theme, Span::styled(title, theme.title()), true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if rows_all.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No changes detected yet. Schedulers record here what they find at each check.",
            )
            .style(theme.dim()),
            inner,
        );
        return;
    }
    let now = model.db_now();
    let height = inner.height.saturating_sub(1) as usize;
    let cursor = model.detections.list.cursor;
    let skip = cursor.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = rows_all
        .iter()
        .enumerate()
        .skip(skip)
        .take(height)
        .map(|(i, d)| {
            let row = Row::new(vec![
                Cell::from(format!(
                    "{}{}",
                    if i == cursor { theme.cursor() } else { " " },
                    clock(model, d.at)
                )),
                Cell::from(relative_column(d.at, now)),
                Cell::from(inert(&model.config_name(Some(d.config_id)), 30)),
                Cell::from(inert(&d.resource, 60)),
                Cell::from(if d.exact {
                    count(d.changed_count)
                } else {
                    format!("{}{}", theme.at_least(), count(d.changed_count))
                }),
                Cell::from(inert(d.since.as_deref().unwrap_or("never synced"), 30)),
            ]);
            if i == cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(9),
                Constraint::Length(11),
                Constraint::Length(16),
                Constraint::Fill(2),
                Constraint::Length(9),
                Constraint::Fill(1),
            ],
        )
        .header(
            Row::new(vec![" at", "", "config", "resource", "changes", "since"]).style(theme.dim()),
        )
        .column_spacing(1),
        inner,
    );
}
