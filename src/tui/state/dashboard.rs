//! The dashboard's own state: the configs list, the selected config's
//! history and resources, the throughput sparklines. `update::dashboard`
//! is its handler; `views::dashboard` draws it. The configs themselves are the
//! model's (the header and the other views show them too).

use std::collections::{BTreeMap, VecDeque};

use crate::store::queue::{Job, ResourceProgress};

use crate::tui::list::ListState;

/// Samples kept for the throughput sparkline (one per second).
pub const THROUGHPUT_SAMPLES: usize = 120;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashboardState {
    /// Cursor and `/` filter of the configs list.
    pub list: ListState,
    /// Objects/s per config, one sample per second, newest last.
    pub throughput: BTreeMap<i64, VecDeque<u64>>,
    /// Last jobs of the selected config.
    pub history: Vec<Job>,
    pub history_of: Option<i64>,
    /// Per-resource results of the newest job in `history`.
    pub history_resources: Vec<ResourceProgress>,
    pub resources_scroll: usize,
}
