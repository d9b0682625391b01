//! The one-line input at the bottom: the `/` filter of the list in focus,
//! the `:` command line and the log viewer's search. Typing edits the line
//! (a filter applies as it is typed); Enter hands a command or a search
//! back to `update`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::{Input, Model, Pane, View};

/// A line submitted with Enter.
pub enum Submitted {
    Command(String),
    Search(String),
}

/// A key while the input line is open.
pub fn on_key(model: &mut Model, key: KeyEvent) -> Option<Submitted> {
    let input = model.input.as_mut()?;
    let command = matches!(input, Input::Command(_));
    let text = match input {
        Input::Filter(t) | Input::Command(t) | Input::Search(t) => t,
    };
    match key.code {
        KeyCode::Esc => {
            if matches!(input, Input::Filter(_)) {
                set_filter(model, String::new());
            }
            model.input = None;
        }
        KeyCode::Enter => match model.input.take() {
            Some(Input::Command(cmd)) => return Some(Submitted::Command(cmd)),
            Some(Input::Search(text)) => return Some(Submitted::Search(text)),
            _ => {}
        },
        KeyCode::Tab if command => {
            *text = super::command_line::complete(text);
        }
        KeyCode::Backspace => {
            text.pop();
            if let Some(Input::Filter(t)) = &model.input {
                let t = t.clone();
                set_filter(model, t);
            }
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.push(c);
            if let Some(Input::Filter(t)) = &model.input {
                let t = t.clone();
                set_filter(model, t);
            }
        }
        _ => {}
    }
    None
}

/// Sets the filter of the list in focus.
pub fn set_filter(model: &mut Model, text: String) {
    model.remember_selection();
    match (model.view, model.pane) {
        (View::Dashboard, Pane::Tail) | (View::Logs, _) => {
            model.tail_view.filter = text;
            model.tail_view.back = 0;
        }
        // The selection stays on its item when the filter still shows it.
        (View::Dashboard, _) => {
            model.dashboard.list.filter = text;
            model.follow_selection();
        }
        (View::Jobs, _) => {
            model.jobs.list.filter = text;
            model.follow_selection();
        }
        (View::Detections, _) => {
            model.detections.list.filter = text;
            model.detections.list.cursor = 0;
        }
    }
}

/// The filter of the list in focus.
pub fn current_filter(model: &Model) -> String {
    match (model.view, model.pane) {
        (View::Dashboard, Pane::Tail) | (View::Logs, _) => model.tail_view.filter.clone(),
        (View::Dashboard, _) => model.dashboard.list.filter.clone(),
        (View::Jobs, _) => model.jobs.list.filter.clone(),
        (View::Detections, _) => model.detections.list.filter.clone(),
    }
}
