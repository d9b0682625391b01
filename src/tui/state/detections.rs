//! The detections view's state: the loaded change detections and the list
//! over them. `update` is its handler; `views::detections` draws it.

pub mod update;

use crate::store::state::Detection;

use super::list::ListState;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectionsState {
    pub rows: Vec<Detection>,
    pub list: ListState,
}
