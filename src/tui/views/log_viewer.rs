//! Drawing the viewer from the model alone: the file list, or the opened
//! file from the last frame the session sent. No file is touched here.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::logs::LogLevel;
use crate::logs::document::{DisplayLine, IndexStatus, SearchStatus};
use crate::tui::keymap::Action;
use crate::tui::model::{Model, Origin};
use crate::tui::theme::Theme;
use crate::tui::views::widgets::{block, count, inert};

use super::log_text::{Piece, cut, wrap, wrapped_height};
use crate::tui::state::logview::{DocFrame, FileView, ListedFile, Mode, Top};

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    match (&model.logview.mode, &model.logview.file) {
        (Mode::File, Some(file)) => file_view(frame, model, file, area),
        _ => list(frame, model, area),
    }
}

/// The keys of the hint bar in the logs view (the live tail's are the
/// console's own).
pub fn hints(model: &Model) -> Vec<(String, &'static str)> {
    let k = |a: Action| model.keymap.short(a);
    let pair = |a: Action, b: Action| format!("{}/{}", k(a), k(b));
    // Read-only refuses export and clear: not offered then.
    let refused: Vec<String> = if model.session.read_only {
        vec![k(Action::Export), k(Action::ClearFile)]
    } else {
        Vec::new()
    };
    let mut pairs = match model.logview.open_file() {
        // Most used first: the end is cut on a narrow terminal.
        Some(_) => vec![
            (k(Action::Filter), "search"),
            (pair(Action::NextMatch, Action::PrevMatch), "match"),
            (pair(Action::NextError, Action::PrevError), "error"),
            (k(Action::Follow), "follow"),
            (k(Action::Back), "back"),
            (k(Action::Level), "level"),
            (k(Action::Wrap), "wrap"),
            (k(Action::Export), "export"),
            (k(Action::ClearFile), "clear"),
            (":goto".into(), "time"),
        ],
        None => vec![
            (k(Action::Open), "open"),
            (k(Action::Down), "down"),
            (k(Action::ClearFile), "clear file"),
            (k(Action::Back), "back"),
            (k(Action::Help), "help"),
        ],
    };
    pairs.retain(|(key, _)| !refused.contains(key));
    pairs
}

fn list(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let state = &model.logview;
    let dir = match (&model.logs_label, &model.logs_dir) {
        (Some(label), _) => label.clone(),
        (None, Some(d)) => d.display().to_string(),
        (None, None) => "no logs directory".into(),
    };
    let title = Line::from(vec![
        Span::styled(" Log files ", theme.title()),
        Span::styled(format!("{} ", inert(&dir, 120)), theme.dim()),
    ]);
    let outer = block(theme, title, true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);

    let cursor = |i: usize| {
        if i == state.cursor {
            (theme.cursor(), theme.selected())
        } else {
            (" ", Style::default())
        }
    };
    let (mark, style) = cursor(0);
    let mut rows = vec![
        Row::new(vec![
            Cell::from(format!("{mark}live")),
            Cell::from(format!("{} lines", count(model.tail.len() as u64))),
            Cell::from(if matches!(model.session.origin, Origin::Attached { .. }) {
                "in memory, the daemon's lines and this console's"
            } else {
                "in memory, this console's own events"
            }),
        ])
        .style(style),
    ];
    rows.extend(state.files.iter().enumerate().map(|(i, f)| {
        let (mark, style) = cursor(i + 1);
        Row::new(vec![
            Cell::from(format!("{mark}{}", inert(&f.name, 60))),
            Cell::from(crate::text::human_size(f.size)),
            Cell::from(modified(model, f)),
        ])
        .style(style)
    }));
    let header = Row::new(vec!["  name", "size", "modified"]).style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(26),
            Constraint::Length(12),
            Constraint::Min(10),
        ],
    )
    .header(header);
    let height = inner.height.saturating_sub(1);
    let [table_area, foot] = [
        Rect { height, ..inner },
        Rect {
            y: inner.y + height,
            height: inner.height - height,
            ..inner
        },
    ];
    frame.render_widget(table, table_area);
    let foot_text = match &state.list_error {
        Some(e) => Span::styled(inert(e, 300), theme.warn()),
        None if state.files.is_empty() => Span::styled(
            "No log files here yet: the daemon (or this console) writes them as it works.",
            theme.dim(),
        ),
        None => Span::styled(
            "NAME.log.N files are rotated history: not followed, not cleared.",
            theme.dim(),
        ),
    };
    frame.render_widget(Paragraph::new(foot_text), foot);
}

/// `2026-11-21 09:58:03` in local time (UTC in snapshot tests).
fn modified(model: &Model, f: &ListedFile) -> String {
    let Some(t) = f.modified else {
        return "-".into();
    };
    let t: chrono::DateTime<chrono::Utc> = t.into();
    if model.session.local_time {
        t.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

fn file_view(frame: &mut Frame, model: &Model, file: &FileView, area: Rect) {
    let theme = &model.theme;
    let height = usize::from(area.height.saturating_sub(2));
    let outer = block(theme, title(theme, file, height), true)
        .title_bottom(progress(theme, file))
        .title_bottom(position(file, height).right_aligned());
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let Some(doc) = &file.frame else {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("opening {}…", file.name), theme.dim())),
            inner,
        );
        return;
    };
    if doc.lines.is_empty() {
        let text = if doc.index.done && doc.filter.is_some() {
            "No lines at this level (v shows more)."
        } else if doc.index.done {
            "No lines here yet."
        } else {
            "Reading…"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
        return;
    }
    let gutter = doc.rows.max(1).to_string().len().max(4);
    let width = usize::from(inner.width).saturating_sub(gutter + 1).max(1);
    let shown = on_screen(doc, file, usize::from(inner.height), width);
    let mut lines: Vec<Line> = Vec::new();
    for (row, line) in shown {
        let here = row.is_some() && row == file.current;
        // The jump target is marked in text too (no colour needed).
        let mark = if here { theme.cursor() } else { " " };
        let number = match line.line {
            Some(n) => format!("{:>gutter$}{mark}", n + 1),
            None => " ".repeat(gutter + 1),
        };
        let number_style = if here { theme.selected() } else { theme.dim() };
        let style = level_style(theme, line.level);
        let parts = if file.wrap {
            wrap(&line.text, &line.matches, width)
        } else {
            vec![cut(&line.text, &line.matches, file.hscroll, width)]
        };
        for (i, pieces) in parts.into_iter().enumerate() {
            let lead = if i == 0 {
                Span::styled(number.clone(), number_style)
            } else {
                Span::raw(" ".repeat(gutter + 1))
            };
            lines.push(Line::from(
                std::iter::once(lead)
                    .chain(pieces.into_iter().map(|p| piece(theme, style, p)))
                    .collect::<Vec<_>>(),
            ));
        }
    }
    lines.truncate(usize::from(inner.height));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn piece<'a>(theme: &Theme, style: Style, p: Piece) -> Span<'a> {
    if p.hit {
        Span::styled(p.text, theme.highlight())
    } else {
        Span::styled(p.text, style)
    }
}

fn level_style(theme: &Theme, level: Option<LogLevel>) -> Style {
    match level {
        Some(LogLevel::Error) => theme.error(),
        Some(LogLevel::Warn) => theme.warn(),
        _ => Style::default(),
    }
}

/// The frame's lines that fill the screen, with their rows: from the first
/// row on, or up from the newest when at the end (wrapped lines take more
/// than one screen row).
fn on_screen<'a>(
    doc: &'a DocFrame,
    file: &FileView,
    height: usize,
    width: usize,
) -> Vec<(Option<usize>, &'a DisplayLine)> {
    let numbered = doc
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| ((!doc.from_end).then_some(doc.first_row + i), l));
    let cost = |l: &DisplayLine| {
        if file.wrap {
            wrapped_height(&l.text, width)
        } else {
            1
        }
    };
    match file.top {
        Top::Row(top) if !doc.from_end => {
            let skip = top.saturating_sub(doc.first_row);
            let mut used = 0;
            numbered
                .skip(skip)
                .take_while(|(_, l)| {
                    let fits = used < height;
                    used += cost(l);
                    fits
                })
                .collect()
        }
        _ => {
            let mut used = 0;
            let mut out: Vec<_> = numbered
                .rev()
                .take_while(|(_, l)| {
                    used += cost(l);
                    used <= height
                })
                .collect();
            out.reverse();
            out
        }
    }
}

fn title<'a>(theme: &Theme, file: &FileView, height: usize) -> Line<'a> {
    let mut spans = vec![Span::styled(format!(" {} ", file.name), theme.title())];
    let Some(doc) = &file.frame else {
        return Line::from(spans);
    };
    let lines = if doc.index.done {
        format!("{} lines ", count(doc.index.lines))
    } else {
        format!("{}+ lines ", count(doc.index.lines))
    };
    spans.push(Span::styled(lines, theme.dim()));
    if let Some(level) = doc.filter {
        let at_least = if theme.ascii { ">=" } else { "≥" };
        spans.push(Span::styled(
            format!(
                "{at_least}{} ({} rows) ",
                level.as_str(),
                count(doc.rows as u64)
            ),
            theme.key(),
        ));
    }
    if doc.following {
        let newer = doc.rows.saturating_sub(file.top_row(height) + height);
        spans.push(if newer == 0 {
            Span::styled("following ", theme.ok())
        } else {
            Span::styled(format!("following, {newer} below "), theme.warn())
        });
    } else if file.rotation != 0 {
        spans.push(Span::styled("rotated ", theme.dim()));
    } else {
        spans.push(Span::styled("paused ", theme.dim()));
    }
    if file.wrap {
        spans.push(Span::styled("wrap ", theme.dim()));
    } else if file.hscroll > 0 {
        spans.push(Span::styled(
            format!("col {} ", file.hscroll + 1),
            theme.dim(),
        ));
    }
    Line::from(spans)
}

/// Indexing and search progress, in the bottom border.
fn progress<'a>(theme: &Theme, file: &FileView) -> Line<'a> {
    let Some(doc) = &file.frame else {
        return Line::from("");
    };
    let mut spans = Vec::new();
    if let Some(text) = index_text(&doc.index) {
        spans.push(Span::styled(format!(" {text} "), theme.warn()));
    }
    if let Some(s) = &doc.search {
        spans.push(search_text(theme, s));
    }
    Line::from(spans)
}

fn percent(done: u64, total: u64) -> u64 {
    (done.saturating_mul(100))
        .checked_div(total)
        .unwrap_or(100)
        .min(100)
}

fn index_text(index: &IndexStatus) -> Option<String> {
    if let Some(e) = &index.error {
        return Some(format!("index failed: {}", inert(e, 80)));
    }
    let pct = percent(index.scanned_bytes, index.total_bytes);
    if !index.done {
        Some(format!("indexing {pct}% (Esc stops)"))
    } else if index.scanned_bytes < index.total_bytes {
        Some(format!("index stopped at {pct}%"))
    } else {
        None
    }
}

fn search_text<'a>(theme: &Theme, s: &SearchStatus) -> Span<'a> {
    let what = format!("/{}", inert(&s.query.pattern, 40));
    if let Some(e) = &s.error {
        return Span::styled(format!(" {what}: {} ", inert(e, 80)), theme.warn());
    }
    let n = s.matches;
    let found = format!("{} match{}", count(n), if n == 1 { "" } else { "es" });
    let text = if s.done {
        format!(" {what}: {found} ")
    } else {
        format!(
            " {what}: {found}, searching {}% ",
            percent(s.scanned_bytes, s.total_bytes)
        )
    };
    Span::styled(text, theme.key())
}

/// `rows 120-160 of 3,400`.
fn position<'a>(file: &FileView, height: usize) -> Line<'a> {
    let rows = file.rows();
    if rows == 0 || file.frame.as_ref().is_some_and(|f| f.from_end) {
        return Line::from("");
    }
    let top = file.top_row(height);
    let bottom = (top + height).min(rows);
    Line::from(format!(
        " {}-{} of {} ",
        count(top as u64 + 1),
        count(bottom as u64),
        count(rows as u64)
    ))
}
