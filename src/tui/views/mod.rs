//! Drawing: `draw(frame, model)` paints the whole screen from the model. No
//! I/O happens here (the log tail is an in-memory buffer; the log viewer
//! draws the last frame its session sent).

mod columns;
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
                    "  goto 18:21 | dashboard | jobs | detections | logs | help | quit  (Tab completes)"
                } else {
                    "  dashboard | jobs | detections | logs | help | quit  (Tab completes)"
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

/// The keys that work where the focus is, from the live keymap: only those
/// that would work (no scheduler keys on a manual config, nothing refused in
/// read-only mode), most used first, and `?` kept whatever the width.
fn hint_bar(frame: &mut Frame, model: &Model, area: Rect) {
    let pairs = fit_hints(hint_pairs(model), area.width as usize, &model.keymap);
    frame.render_widget(Paragraph::new(widgets::hints(&model.theme, &pairs)), area);
}

/// Pairs from the end go until the line fits; help stays.
fn fit_hints(
    mut pairs: Vec<(String, &'static str)>,
    width: usize,
    km: &super::keymap::Keymap,
) -> Vec<(String, &'static str)> {
    let help = km.short(Action::Help);
    let len = |p: &[(String, &str)]| -> usize {
        p.iter()
            .map(|(k, l)| k.chars().count() + 1 + l.chars().count())
            .sum::<usize>()
            + 2 * p.len().saturating_sub(1)
    };
    while len(&pairs) > width {
        let Some(i) = pairs.iter().rposition(|(k, _)| *k != help) else {
            break;
        };
        pairs.remove(i);
    }
    pairs
}

pub fn hint_pairs(model: &Model) -> Vec<(String, &'static str)> {
    let km = &model.keymap;
    let manual = model
        .selected_config()
        .is_some_and(|c| c.auto == crate::engine::handle::AutoState::NotConfigured);
    let offered = |a: Action| {
        let refused = model.session.read_only && a.changes_something();
        let no_scheduler = manual && a.needs_scheduler() && model.view == View::Dashboard;
        !refused && !no_scheduler
    };
    let keys = |list: &[(Action, &'static str)]| -> Vec<(String, &'static str)> {
        list.iter()
            .filter(|(a, _)| offered(*a))
            .map(|(a, l)| (km.short(*a), *l))
            .collect()
    };
    let cooling = model.selected_config().is_some_and(|c| {
        matches!(
            model.scheduler_of(c),
            crate::engine::events::SchedulerStatus::Cooldown { .. }
        )
    });
    match (&model.overlay, model.view, model.pane) {
        (Some(Overlay::Confirm(_)), _, _) => vec![
            (km.label(Action::Confirm), "yes"),
            (km.label(Action::Cancel), "no"),
        ],
        (Some(Overlay::Help { .. }), _, _) => keys(&[
            (Action::Down, "scroll"),
            (Action::Back, "close"),
            (Action::Help, "close"),
            (Action::Quit, "quit"),
        ]),
        (Some(Overlay::Settings(f)), _, _) if f.editing.is_some() => {
            vec![("enter".into(), "keep"), ("esc".into(), "undo")]
        }
        (Some(Overlay::Settings(_)), _, _) => keys(&[
            (Action::Down, "next"),
            (Action::Up, "prev"),
            (Action::Open, "edit/toggle/save"),
            (Action::Back, "close"),
            (Action::Help, "help"),
        ]),
        (Some(Overlay::JobDetail { .. }), _, _) => keys(&[
            (Action::Down, "scroll"),
            (Action::Open, "refused objects"),
            (Action::ShowError, "error"),
            (Action::Help, "help"),
            (Action::JobLogs, "log lines"),
            (Action::Retry, "retry"),
            (Action::Back, "close"),
        ]),
        (Some(Overlay::Error(_)), _, _) => keys(&[
            (Action::Down, "scroll"),
            (Action::Copy, "copy"),
            (Action::JobLogs, "log lines"),
            (Action::Back, "close"),
            (Action::Help, "help"),
        ]),
        (Some(Overlay::Rejections { .. }), _, _) => keys(&[
            (Action::Down, "scroll"),
            (Action::Copy, "copy"),
            (Action::JobLogs, "log lines"),
            (Action::Back, "close"),
            (Action::Help, "help"),
        ]),
        (None, View::Dashboard, Pane::Configs) => {
            let mut list = vec![(Action::Trigger, "sync now")];
            if cooling {
                list.push((Action::ClearCooldown, "end cooldown"));
            }
            if model
                .selected_config()
                .and_then(crate::tui::update::failures::config_error)
                .is_some()
            {
                list.push((Action::ShowError, "error"));
            }
            list.extend([
                (Action::Open, "open"),
                (Action::Help, "help"),
                (Action::Start, "start"),
                (Action::Stop, "stop"),
                (Action::Settings, "settings"),
                (Action::NextPane, "pane"),
                (Action::Filter, "filter"),
                (Action::Sort, "sort"),
                (Action::ViewJobs, "jobs"),
                (Action::ViewLogs, "logs"),
                (Action::Quit, "quit"),
            ]);
            keys(&list)
        }
        (None, View::Dashboard, Pane::Resources) => keys(&[
            (Action::Down, "scroll"),
            (Action::Open, "refused objects"),
            (Action::Trigger, "sync now"),
            (Action::NextPane, "pane"),
            (Action::Back, "back"),
            (Action::Help, "help"),
        ]),
        (None, View::Logs, _) if model.logview.mode != crate::tui::state::logview::Mode::Live => {
            log_viewer::hints(model)
        }
        (None, View::Dashboard, Pane::Tail) | (None, View::Logs, _) => keys(&[
            (Action::Up, "scroll back"),
            (Action::Follow, "follow"),
            (Action::Level, "level"),
            (Action::Filter, "filter"),
            (Action::Back, "back"),
            (Action::Help, "help"),
        ]),
        (None, View::Jobs, _) => keys(&[
            (Action::Open, "details"),
            (Action::ShowError, "error"),
            (Action::Retry, "retry"),
            (Action::Help, "help"),
            (Action::JobLogs, "log lines"),
            (Action::RetryAll, "retry all"),
            (Action::Clear, "clear"),
            (Action::Filter, "filter"),
            (Action::Sort, "sort"),
            (Action::Back, "back"),
        ]),
        (None, View::Detections, _) => keys(&[
            (Action::Down, "down"),
            (Action::Filter, "filter"),
            (Action::Sort, "sort"),
            (Action::Back, "back"),
            (Action::Help, "help"),
        ]),
    }
}
