//! Change-detection history: what the detector counted, per config and
//! resource (named for people, its kind in its own column), newest first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::columns::{self, Column};
use super::widgets::{block, clock, count, inert};
use crate::store::state::Detection;
use crate::text::ago_narrow;
use crate::tui::model::Model;
use crate::tui::names::resource_name;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let rows_all = model.visible_detections();
    let mut title = format!(" Detections ({}) ", rows_all.len());
    if let Some(by) = model.sort_label() {
        title.push_str(&format!("by {by} "));
    }
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
    let shown: Vec<(usize, &Detection)> = rows_all
        .iter()
        .copied()
        .enumerate()
        .skip(skip)
        .take(height)
        .collect();
    let lines = |f: &dyn Fn(usize, &Detection) -> Line<'static>| -> Vec<Line<'static>> {
        shown.iter().map(|(i, d)| f(*i, d)).collect()
    };
    let columns = vec![
        Column::text(
            " at",
            0,
            lines(&|i, d| {
                let mark = if i == cursor { theme.cursor() } else { " " };
                Line::from(format!("{mark}{}", clock(model, d.at)))
            }),
        ),
        Column::text("", 3, lines(&|_, d| Line::from(ago_narrow(d.at, now)))),
        Column::text(
            "config",
            0,
            lines(&|_, d| Line::from(inert(&model.config_name(Some(d.config_id)), 40))),
        ),
        Column::text(
            "kind",
            0,
            lines(&|_, d| Line::from(resource_name(&d.resource, &d.label).kind)),
        ),
        Column::text(
            "resource",
            0,
            lines(&|_, d| Line::from(inert(&resource_name(&d.resource, &d.label).name, 60))),
        ),
        Column::text(
            "changes",
            0,
            lines(&|_, d| {
                Line::from(if d.exact {
                    count(d.changed_count)
                } else {
                    format!("{}{}", theme.at_least(), count(d.changed_count))
                })
            }),
        ),
        Column::text(
            "since",
            2,
            lines(&|_, d| Line::from(inert(d.since.as_deref().unwrap_or("never synced"), 30))),
        ),
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
