//! The live log tail: a pane on the dashboard and, full screen, the "live"
//! entry of the logs view. Shared by both, so neither view draws through
//! the other.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::block;
use crate::logs::tail::TailLevel;
use crate::tui::model::Model;

pub fn tail_pane(frame: &mut Frame, model: &Model, area: Rect, focused: bool) {
    let theme = &model.theme;
    let view = &model.tail_view;
    let height = area.height.saturating_sub(2) as usize;
    let (lines, total) = model
        .tail
        .window(view.min_level, &view.filter, view.back, height);
    let mut title = vec![
        Span::styled(" Log ", theme.title()),
        Span::styled(
            format!("{}{} ", theme.at_least(), view.min_level.as_str()),
            theme.dim(),
        ),
    ];
    if !view.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", super::widgets::inert(&view.filter, 30)),
            theme.key(),
        ));
    }
    title.push(if view.follow {
        Span::styled("following ", theme.ok())
    } else {
        Span::styled(
            format!("paused, {} newer ", view.back.min(total)),
            theme.warn(),
        )
    });
    let outer = block(theme, Line::from(title), focused);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let text: Vec<Line> = lines
        .into_iter()
        .map(|l| {
            let level_style = match l.level {
                TailLevel::Error => theme.error(),
                TailLevel::Warn => theme.warn(),
                TailLevel::Info => theme.info(),
                _ => theme.dim(),
            };
            Line::from(vec![
                Span::styled(format!("{} ", l.time), theme.dim()),
                Span::styled(format!("{:<5} ", l.level.as_str()), level_style),
                Span::styled(format!("[{}] ", l.component), theme.dim()),
                Span::raw(l.text),
            ])
        })
        .collect();
    if text.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("No log lines at this level yet.", theme.dim())),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(text), inner);
    }
}
