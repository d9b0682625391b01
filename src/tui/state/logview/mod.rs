//! The full-screen log viewer (the logs view): a list of the log files from
//! the catalog plus the console's live tail, and an opened file with
//! scrolling, follow, level filter, search, jumps, wrap, go to time, export
//! and clear.
//!
//! The split keeps file I/O out of the draw path: `state` (here) is plain
//! data held in the model, `update::logview` turns actions into state
//! changes and [`LogOp`]s, `log_session` runs those ops against the
//! `LogDocument` on a blocking thread (app.rs owns it) and answers with
//! [`LogReply`]s carrying a [`DocFrame`]: the rows around the screen, already
//! inert. `views::log_viewer` draws only that. This module holds the types
//! they share, below `msg` (which carries ops and replies) and the model.

pub mod state;

use std::time::SystemTime;

use crate::logs::LogLevel;
use crate::logs::SearchQuery;
use crate::logs::document::{DisplayLine, IndexStatus, SearchStatus};
use crate::tui::flash::Flash;

pub use state::{FileView, LogViewState, Mode, Top};

/// One file of the catalog's listing, as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedFile {
    pub name: String,
    /// 0 for the active file, N for `NAME.log.N` (cannot be cleared or followed).
    pub rotation: u32,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// Where the screen is: the newest rows, or a first row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewAt {
    pub top: Top,
    /// Text rows on screen.
    pub height: usize,
}

/// What the session does to the open document.
#[derive(Debug, Clone, PartialEq)]
pub enum DocAction {
    /// Only send the rows around `view` again.
    Refresh,
    /// Take indexing/search progress and, when following, new lines.
    Poll,
    CancelIndex,
    Follow(bool),
    Filter(Option<LogLevel>),
    Search(Option<SearchQuery>),
    Jump(Jump),
}

/// `n`/`N`, next/previous error and `:goto`.
#[derive(Debug, Clone, PartialEq)]
pub enum Jump {
    /// From the row after (or before) `from`; `None`: from the start (or end).
    Match {
        from: Option<usize>,
        forward: bool,
    },
    Error {
        from: Option<usize>,
        forward: bool,
    },
    /// A prefix of `YYYY-MM-DD HH:MM:SS`.
    Time(String),
}

/// A request to the log session. Files are named only as the catalog
/// listed them; the session selects them from a fresh listing again.
#[derive(Debug, Clone, PartialEq)]
pub enum LogOp {
    List,
    Open {
        doc: u64,
        name: String,
        view: ViewAt,
    },
    Close,
    Doc {
        doc: u64,
        action: DocAction,
        view: ViewAt,
    },
    Export {
        doc: u64,
    },
}

/// The open document as the view needs it: counts, progress and the rows
/// around the screen (read by the session, never by the draw).
#[derive(Debug, Clone, PartialEq)]
pub struct DocFrame {
    /// Rows under the level filter (lines indexed so far while indexing).
    pub rows: usize,
    /// Row of `lines[0]`.
    pub first_row: usize,
    pub lines: Vec<DisplayLine>,
    /// `lines` are the first screen read backwards from the end while the
    /// index has not got there: they end the file, and have no row.
    pub from_end: bool,
    pub index: IndexStatus,
    pub search: Option<SearchStatus>,
    pub filter: Option<LogLevel>,
    pub following: bool,
}

/// The session's notes are the status line's own [`Flash`].
/// What the session answers.
#[derive(Debug, Clone, PartialEq)]
pub enum LogReply {
    Listed(Result<Vec<ListedFile>, String>),
    Doc {
        doc: u64,
        /// `Err`: the file could not be opened or read (back to the list).
        frame: Result<Box<DocFrame>, String>,
        /// A new first row chosen by the session (jump, filter change).
        moved_to: Option<usize>,
        /// The row a jump landed on, marked on screen.
        current: Option<usize>,
        note: Option<Flash>,
    },
    /// A poll found nothing new for the screen sent last: nothing to draw.
    Unchanged {
        doc: u64,
    },
    /// The session failed and started afresh: the open file is gone.
    Crashed(String),
    Exported(Result<String, String>),
    Cleared {
        name: String,
        result: Result<String, String>,
    },
}
