//! The settings form's handler: typing into a field, moving between
//! fields, and saving through the dispatcher once the form validates.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::dispatch::dispatch;
use crate::tui::keymap::Action;
use crate::tui::model::{Model, Overlay};
use crate::tui::msg::{Command, Effect};

/// A key while a field is being edited: it is text, not an action.
/// Returns whether the key was taken.
pub fn on_edit_key(model: &mut Model, key: KeyEvent) -> bool {
    let Some(Overlay::Settings(form)) = &mut model.overlay else {
        return false;
    };
    let Some(text) = &mut form.editing else {
        return false;
    };
    match key.code {
        KeyCode::Esc => form.editing = None,
        KeyCode::Enter => form.commit_edit(),
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
    true
}

/// An action while the form is open.
pub fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let Some(Overlay::Settings(form)) = &mut model.overlay else {
        return Vec::new();
    };
    match action {
        Action::Back => {
            model.overlay = None;
            Vec::new()
        }
        Action::Up => {
            form.move_by(-1);
            Vec::new()
        }
        Action::Down => {
            form.move_by(1);
            Vec::new()
        }
        Action::Top => {
            form.cursor = 0;
            Vec::new()
        }
        Action::Bottom => {
            form.move_by(isize::MAX / 2);
            Vec::new()
        }
        Action::Open if form.on_save_button() => match form.validate() {
            Some(settings) => {
                let cmd = Command::Setup {
                    id: form.config_id,
                    name: form.config_name.clone(),
                    settings,
                };
                let effects = dispatch(model, cmd);
                if !effects.is_empty() {
                    model.overlay = None;
                }
                effects
            }
            None => Vec::new(),
        },
        Action::Open => {
            form.activate();
            Vec::new()
        }
        _ => Vec::new(),
    }
}
