//! The top line: global figures and where this console is looking.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{count, inert};
use crate::engine::events::SchedulerStatus;
use crate::tui::model::Model;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let sep = || Span::styled(format!(" {} ", theme.separator()), theme.dim());
    let active = model
        .configs
        .iter()
        .filter(|c| model.scheduler_of(c) != SchedulerStatus::Stopped)
        .count();
    let running = model.running_count();
    let mut spans = vec![
        Span::styled("syncdeck", theme.title()),
        sep(),
        Span::raw(format!("{} configs", model.configs.len())),
        sep(),
        Span::raw(format!("{active} active")),
        sep(),
        Span::styled(
            format!("{running} running"),
            if running > 0 { theme.ok() } else { theme.dim() },
        ),
        sep(),
        Span::raw(format!("{} synced", count(model.synced_total()))),
        sep(),
        Span::styled(
            format!("{} failed", model.failed_jobs),
            if model.failed_jobs > 0 {
                theme.error()
            } else {
                theme.dim()
            },
        ),
        sep(),
        Span::raw(model.session.origin.clone()),
    ];
    if area.width >= 120 {
        spans.push(sep());
        spans.push(Span::styled(
            inert(&model.session.database, 60),
            theme.dim(),
        ));
    }
    if model.session.read_only {
        spans.push(sep());
        spans.push(Span::styled("READ-ONLY", theme.warn()));
    }
    if !model.loaded {
        spans.push(sep());
        spans.push(Span::styled(if theme.ascii { "loading..." } else { "loading…" }, theme.dim()));
    }
    let clock = super::widgets::clock(model, model.now);
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + clock.len());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(clock, theme.header()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
