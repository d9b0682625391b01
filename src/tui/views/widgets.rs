//! Small drawing helpers shared by the views: bordered blocks, gauges and
//! number/time formats. Everything from outside goes through `inert`.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use crate::tui::theme::Theme;

/// Outside text (names, errors, log lines) with control characters shown
/// escaped and the length capped.
pub fn inert(text: &str, max: usize) -> String {
    crate::text::sanitize(text, max)
}

pub fn block<'a>(theme: &Theme, title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border_set())
        .border_style(if focused { theme.focus() } else { theme.dim() })
        .title(title)
}

/// `█████░░░░░ 54%` as spans, `width` cells of bar.
pub fn gauge<'a>(theme: &Theme, ratio: f64, width: usize) -> Vec<Span<'a>> {
    let (full, empty) = theme.gauge_text(ratio, width);
    let pct = if ratio.is_finite() {
        (ratio.clamp(0.0, 1.0) * 100.0).floor() as u32
    } else {
        0
    };
    vec![
        Span::styled(full, theme.gauge()),
        Span::styled(empty, theme.dim()),
        Span::raw(format!(" {pct:>3}%")),
    ]
}

pub fn ratio(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        done as f64 / total as f64
    }
}

/// 1234567 → `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Objects per second: `950/s`, `12.3k/s`, `1.2M/s`.
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "-".into()
    } else if per_sec < 1_000.0 {
        format!("{per_sec:.0}/s")
    } else if per_sec < 1_000_000.0 {
        format!("{:.1}k/s", per_sec / 1_000.0)
    } else {
        format!("{:.1}M/s", per_sec / 1_000_000.0)
    }
}

/// Duration between two times in ms.
pub fn span_ms(from: i64, to: i64) -> String {
    crate::text::duration_column(((to - from).max(0) / 1000) as u64)
}

/// A rectangle of at most `w`×`h` in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}

/// `HH:MM:SS` of a time (ms): local time, or UTC when the session says so
/// (snapshot tests must not depend on the machine's zone).
pub fn clock(model: &crate::tui::model::Model, ms: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    if model.session.local_time {
        t.with_timezone(&chrono::Local)
            .format("%H:%M:%S")
            .to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

/// `key label` pairs for the hint bar and dialogs.
pub fn hints<'a>(theme: &Theme, pairs: &[(String, &str)]) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, (key, label)) in pairs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("  ", Style::default()));
        }
        spans.push(Span::styled(key.clone(), theme.key()));
        spans.push(Span::raw(format!(" {label}")));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rate(12_345.0), "12.3k/s");
        assert_eq!(rate(0.0), "-");
        assert_eq!(span_ms(0, 252_000), "4m12s");
    }
}
