//! The jobs view's state: the loaded jobs and the list over them.
//! `update::jobs` is its handler; `views::jobs` draws it.

use crate::store::queue::Job;

use crate::tui::list::ListState;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobsState {
    pub rows: Vec<Job>,
    /// The view has had its first load (until then it says loading).
    pub loaded: bool,
    pub list: ListState,
}
