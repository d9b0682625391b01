//! Drawing: `draw(frame, model)` paints the whole screen from the model. No
//! I/O happens here (the log tail is an in-memory buffer; the log viewer
//! draws the last frame its session sent).

mod dashboard;
mod detections;
mod header;
mod help;
mod jobs;
mod log_text;
mod log_viewer;
mod logs;
mod overlays;
mod pull;
mod resources;
mod tail;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::keymap::Action;
use super::model::{Input, Model, Overlay, Pane, View};

/// Below this the console shows only a message asking for a bigger window.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn draw(frame: &mut Frame, model: &Model) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, model, area);
        return;
    }
    let [head, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(frame, model, head);
    match model.view {
        View::Dashboard => dashboard::draw(frame, model, body),
        View::Jobs => jobs::draw(frame, model, body),
        View::Detections => detections::draw(frame, model, body),
        View::Logs => logs::draw(frame, model, body),
    }
    status_line(frame, model, status);
    hint_bar(frame, model, hints);
    match &model.overlay {
        Some(Overlay::Help { scroll }) => help::draw(frame, model, *scroll, body),
        Some(overlay) => overlays::draw(frame, model, overlay, body),
        None => {}
    }
}

fn too_small(frame: &mut Frame, model: &Model, area: Rect) {
    let text = vec![
        Line::from(Span::styled("syncdeck", model.theme.title())),
        Line::from(format!("The terminal is {}x{}:", area.width, area.height)),
        Line::from(format!("syncdeck needs at least {MIN_WIDTH}x{MIN_HEIGHT}.")),
        Line::from(format!(
            "Enlarge the window, or press {} to quit.",
            model.keymap.short(Action::Quit)
        )),
    ];
    frame.render_widget(
        Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}

/// The `/` or `:` input, else the last action's result or a warning.
fn status_line(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let line = match &model.input {
        Some(Input::Filter(text)) => Line::from(vec![
            Span::styled("/", theme.key()),
            Span::raw(widgets::inert(text, 200)),
            Span::styled(theme.caret(), theme.key()),
            Span::styled("  Enter keep  Esc clear", theme.dim()),
        ]),
        Some(Input::Command(text)) => Line::from(vec![
            Span::styled(":", theme.key()),
            Span::raw(widgets::inert(text, 200)),
            Span::styled(theme.caret(), theme.key()),
            Span::styled(
                if model.logview.open_file().is_some() && model.view == View::Logs {
                    "  goto 2026-11-21 10:00 | dashboard | jobs | detections | logs | help | quit"
                } else {
                    "  dashboard | jobs | detections | logs | help | quit"
                },
                theme.dim(),
            ),
        ]),
        Some(Input::Search(text)) => Line::from(vec![
            Span::styled("/", theme.key()),
            Span::raw(widgets::inert(text, 200)),
            Span::styled(theme.caret(), theme.key()),
            Span::styled(
                "  Enter search (any case unless you type a capital; re:PATTERN for a regex)  Esc cancel",
                theme.dim(),
            ),
        ]),
        None => match &model.flash {
            Some(f) => Line::from(Span::styled(
                widgets::inert(&f.text, 400),
                if f.warning { theme.warn() } else { theme.ok() },
            )),
            None => Line::from(""),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys that work where the focus is, from the live keymap.
fn hint_bar(frame: &mut Frame, model: &Model, area: Rect) {
    let km = &model.keymap;
    let k = |a: Action| km.short(a);
    let pairs: Vec<(String, &str)> = match (&model.overlay, model.view, model.pane) {
        (Some(Overlay::Confirm(_)), _, _) => vec![
            (km.label(Action::Confirm), "yes"),
            (km.label(Action::Cancel), "no"),
        ],
        (Some(Overlay::Help { .. }), _, _) => vec![
            (k(Action::Down), "scroll"),
            (k(Action::Back), "close"),
            (k(Action::Quit), "quit"),
        ],
        (Some(Overlay::Settings(f)), _, _) if f.editing.is_some() => {
            vec![("enter".into(), "keep"), ("esc".into(), "undo")]
        }
        (Some(Overlay::Settings(_)), _, _) => vec![
            (k(Action::Down), "next"),
            (k(Action::Up), "prev"),
            (k(Action::Open), "edit/toggle/save"),
            (k(Action::Back), "close"),
        ],
        (Some(Overlay::JobDetail { .. }), _, _) => vec![
            (k(Action::Down), "scroll"),
            (k(Action::Retry), "retry"),
            (k(Action::Back), "close"),
        ],
        (None, View::Dashboard, Pane::Configs) => vec![
            (k(Action::Trigger), "sync now"),
            (k(Action::Start), "start"),
            (k(Action::Stop), "stop"),
            (k(Action::Settings), "settings"),
            (k(Action::Open), "open"),
            (k(Action::NextPane), "pane"),
            (k(Action::Filter), "filter"),
            (k(Action::ViewJobs), "jobs"),
            (k(Action::ViewLogs), "logs"),
            (k(Action::Help), "help"),
            (k(Action::Quit), "quit"),
        ],
        (None, View::Dashboard, Pane::Resources) => vec![
            (k(Action::Down), "scroll"),
            (k(Action::Trigger), "sync now"),
            (k(Action::NextPane), "pane"),
            (k(Action::Back), "back"),
            (k(Action::Help), "help"),
        ],
        (None, View::Logs, _) if model.logview.mode != crate::tui::state::logview::Mode::Live => {
            log_viewer::hints(model)
        }
        (None, View::Dashboard, Pane::Tail) | (None, View::Logs, _) => vec![
            (k(Action::Up), "scroll back"),
            (k(Action::Follow), "follow"),
            (k(Action::Level), "level"),
            (k(Action::Filter), "filter"),
            (k(Action::Back), "back"),
            (k(Action::Help), "help"),
        ],
        (None, View::Jobs, _) => vec![
            (k(Action::Open), "details"),
            (k(Action::Retry), "retry"),
            (k(Action::RetryAll), "retry all"),
            (k(Action::Clear), "clear"),
            (k(Action::Filter), "filter"),
            (k(Action::Back), "back"),
            (k(Action::Help), "help"),
        ],
        (None, View::Detections, _) => vec![
            (k(Action::Down), "down"),
            (k(Action::Filter), "filter"),
            (k(Action::Back), "back"),
            (k(Action::Help), "help"),
        ],
    };
    frame.render_widget(Paragraph::new(widgets::hints(&model.theme, &pairs)), area);
}
