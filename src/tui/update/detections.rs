//! The detections view's handler: a read-only list.

use crate::store::state::Detection;
use crate::tui::keymap::Action;
use crate::tui::list::clamp;
use crate::tui::model::Model;
use crate::tui::msg::Effect;
use crate::tui::scroll::move_cursor;

/// What the detections view loads.
pub fn loads() -> Vec<Effect> {
    vec![Effect::LoadDetections]
}

pub fn on_loaded(model: &mut Model, detections: Vec<Detection>) -> Vec<Effect> {
    model.detections.rows = detections;
    let n = model.visible_detections().len();
    clamp(&mut model.detections.list.cursor, n);
    model.dirty = true;
    Vec::new()
}

pub fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    let n = model.visible_detections().len();
    move_cursor(&mut model.detections.list.cursor, n, action);
    Vec::new()
}
