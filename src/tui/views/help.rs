//! `?`: every action and its keys, from the live keymap, by section.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::widgets::{block, centered};
use crate::tui::keymap::Action;
use crate::tui::model::Model;

/// Space between two columns of help.
const GAP: u16 = 3;

pub fn draw(frame: &mut Frame, model: &Model, scroll: usize, area: Rect) {
    let theme = &model.theme;
    let key_width = Action::ALL
        .iter()
        .map(|a| model.keymap.label(*a).chars().count())
        .max()
        .unwrap_or(8);
    let help_width = Action::ALL
        .iter()
        .map(|a| a.help().chars().count())
        .max()
        .unwrap_or(20);
    let column_width = (key_width + 2 + help_width) as u16;
    let mut sections: Vec<(&str, Vec<Line>)> = Vec::new();
    for action in Action::ALL {
        let section = action.section();
        if sections.last().is_none_or(|(s, _)| *s != section) {
            sections.push((section, Vec::new()));
        }
        if let Some((_, lines)) = sections.last_mut() {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "{:<width$}  ",
                        model.keymap.label(*action),
                        width = key_width
                    ),
                    theme.key(),
                ),
                Span::raw(action.help()),
            ]));
        }
    }
    // As many columns as fit side by side (whole sections in each), so no
    // two collide; one column scrolls on a small screen.
    let room = area.width.saturating_sub(4);
    let count = ((room + GAP) / (column_width + GAP)).clamp(1, 4) as usize;
    let total: usize = sections.iter().map(|(_, l)| l.len() + 2).sum();
    let target = total.div_ceil(count);
    let mut columns: Vec<Vec<Line>> = vec![Vec::new()];
    for (name, lines) in sections {
        let last = columns.len() - 1;
        if !columns[last].is_empty()
            && columns[last].len() + lines.len() / 2 >= target
            && columns.len() < count
        {
            columns.push(Vec::new());
        }
        if let Some(column) = columns.last_mut() {
            column.push(Line::from(Span::styled(name.to_string(), theme.title())));
            column.extend(lines);
            column.push(Line::from(""));
        }
    }
    let longest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let used = columns.len() as u16;
    let width = (used * column_width + used.saturating_sub(1) * GAP + 2).min(area.width);
    let popup = centered(area, width.max(40), longest as u16 + 3);
    frame.render_widget(Clear, popup);
    let outer = block(
        theme,
        Span::styled(" Help: keys from keymap.toml ", theme.title()),
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let foot_area = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: 1.min(inner.height),
        ..inner
    };
    let body = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let mut constraints = Vec::new();
    for i in 0..used {
        if i > 0 {
            constraints.push(Constraint::Length(GAP));
        }
        constraints.push(Constraint::Length(column_width));
    }
    let areas = Layout::horizontal(constraints).split(body);
    // On a small screen the columns scroll together and the footer says so.
    let hidden = longest.saturating_sub(body.height as usize);
    let scroll = scroll.min(hidden) as u16;
    for (i, column) in columns.into_iter().enumerate() {
        frame.render_widget(Paragraph::new(column).scroll((scroll, 0)), areas[i * 2]);
    }
    // Short enough for one column of help (the narrowest popup).
    let foot = if hidden > 0 {
        format!(
            "{} more: {}/{} to scroll",
            hidden - scroll as usize,
            model.keymap.short(Action::Down),
            model.keymap.short(Action::Up)
        )
    } else {
        "Your keys: keymap.toml, config dir".into()
    };
    frame.render_widget(
        Paragraph::new(Span::styled(foot, theme.dim())).wrap(ratatui::widgets::Wrap { trim: true }),
        foot_area,
    );
}
