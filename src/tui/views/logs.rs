//! The logs view: the live tail full screen, or the log viewer (which
//! draws everything else of it).

use ratatui::Frame;
use ratatui::layout::Rect;

use super::tail::tail_pane;
use crate::tui::model::Model;
use crate::tui::state::logview::Mode;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    match model.logview.mode {
        Mode::Live => tail_pane(frame, model, area, true),
        _ => super::log_viewer::draw(frame, model, area),
    }
}
