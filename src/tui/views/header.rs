//! The top line: global figures and where this console is looking.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{count, inert};
use crate::engine::events::SchedulerStatus;
use crate::tui::model::{Model, Origin};

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let sep = || Span::styled(format!(" {} ", theme.separator()), theme.dim());
    let active = model
        .configs
        .iter()
        .filter(|c| model.scheduler_of(c) != SchedulerStatus::Stopped)
        .count();
    let running = model.running_count();
    // Most important first; what does not fit at the right is left out.
    let mut items: Vec<Span> = vec![
        Span::raw(format!("{} configs", model.configs.len())),
        Span::raw(format!("{active} active")),
        Span::styled(
            format!("{running} running"),
            if running > 0 { theme.ok() } else { theme.dim() },
        ),
        Span::raw(format!("{} synced", count(model.synced_total()))),
        Span::styled(
            format!("{} failed", model.failed_jobs),
            if model.failed_jobs > 0 {
                theme.error()
            } else {
                theme.dim()
            },
        ),
    ];
    if model.session.read_only {
        items.insert(0, Span::styled("READ-ONLY", theme.warn()));
    }
    if !model.loaded {
        items.push(Span::styled(
            if theme.ascii {
                "loading..."
            } else {
                "loading…"
            },
            theme.dim(),
        ));
    }
    let clock = super::widgets::clock(model, model.now);
    // Where the engine is; that the link to it is down, or that no daemon
    // runs, comes first: the figures beside it may be stale.
    let (long, short) = model.session.origin.label();
    let fits = |text: &str| text.chars().count() + 40 <= area.width as usize;
    let origin = if fits(&long) { long } else { short };
    match (&model.link_down, &model.session.origin) {
        (Some(why), _) => {
            let dots = if theme.ascii { "..." } else { "…" };
            // The reason is cut rather than the whole item dropped.
            let prefix = format!("reconnecting{dots} ");
            let room = (area.width as usize)
                .saturating_sub("syncdeck".len() + 3 + prefix.chars().count() + clock.len() + 2);
            let text = format!("{prefix}{}", inert(why, room));
            items.insert(0, Span::styled(text, theme.error()));
        }
        (None, Origin::Monitor { .. }) => items.insert(0, Span::styled(origin, theme.warn())),
        (None, _) => items.push(Span::raw(origin)),
    }
    items.push(Span::styled(
        inert(&model.session.database, 80),
        theme.dim(),
    ));
    let budget = (area.width as usize).saturating_sub(clock.len() + 1);
    let mut spans = vec![Span::styled("syncdeck", theme.title())];
    let mut used = spans[0].width();
    for item in items {
        let needed = 3 + item.width();
        if used + needed > budget {
            break;
        }
        used += needed;
        spans.push(sep());
        spans.push(item);
    }
    spans.push(Span::raw(
        " ".repeat(area.width as usize - used - clock.len()),
    ));
    spans.push(Span::styled(clock, theme.header()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
