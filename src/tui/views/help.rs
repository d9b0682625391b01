//! `?`: every action and its keys, from the live keymap, by section.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::widgets::{block, centered};
use crate::tui::keymap::Action;
use crate::tui::model::Model;

pub fn draw(frame: &mut Frame, model: &Model, scroll: usize, area: Rect) {
    let theme = &model.theme;
    let mut sections: Vec<(&str, Vec<Line>)> = Vec::new();
    for action in Action::ALL {
        let section = action.section();
        if sections.last().is_none_or(|(s, _)| *s != section) {
            sections.push((section, Vec::new()));
        }
        if let Some((_, lines)) = sections.last_mut() {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<16}", model.keymap.label(*action)), theme.key()),
                Span::raw(action.help()),
            ]));
        }
    }
    let mut left = Vec::new();
    let mut right = Vec::new();
    let total: usize = sections.iter().map(|(_, l)| l.len() + 2).sum();
    for (name, lines) in sections {
        let column = if left.len() < total / 2 {
            &mut left
        } else {
            &mut right
        };
        column.push(Line::from(Span::styled(name.to_string(), theme.title())));
        column.extend(lines);
        column.push(Line::from(""));
    }
    let rows = left.len().max(right.len()) as u16 + 3;
    let popup = centered(area, 84, rows);
    frame.render_widget(Clear, popup);
    let outer = block(
        theme,
        Span::styled(" Help: keys from keymap.toml ", theme.title()),
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [foot_area] = [Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: 1.min(inner.height),
        ..inner
    }];
    let body = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let [l, r] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    // On a small screen the columns scroll together and the footer says so.
    let longest = left.len().max(right.len());
    let hidden = longest.saturating_sub(body.height as usize);
    let scroll = scroll.min(hidden) as u16;
    frame.render_widget(Paragraph::new(left).scroll((scroll, 0)), l);
    frame.render_widget(Paragraph::new(right).scroll((scroll, 0)), r);
    let foot = if hidden > 0 {
        format!(
            "{} more lines: {}/{} to scroll. Your own keys: keymap.toml in the config directory.",
            hidden - scroll as usize,
            model.keymap.short(Action::Down),
            model.keymap.short(Action::Up)
        )
    } else {
        "Your own keys: keymap.toml in the syncdeck config directory (only the actions you change)."
            .into()
    };
    frame.render_widget(Paragraph::new(Span::styled(foot, theme.dim())), foot_area);
}
