//! The detections view's state: the loaded change detections and the list
//! over them. `update::detections` is its handler; `views::detections`
//! draws it.

use crate::store::state::Detection;

use crate::tui::list::ListState;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectionsState {
    pub rows: Vec<Detection>,
    pub list: ListState,
}
