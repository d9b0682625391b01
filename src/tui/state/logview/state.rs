//! The viewer's state in the model: plain data, no file handles. The open
//! document itself lives in the log session (app.rs); what is drawn is the
//! last [`DocFrame`] it sent.

use super::{DocFrame, ListedFile, ViewAt};
use crate::logs::LogLevel;

/// Text rows of the file view on a screen `height` rows tall: header,
/// status line, hint bar and the two borders of the box.
pub fn text_rows(screen_height: u16) -> usize {
    usize::from(screen_height.saturating_sub(5)).max(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The file list (the live tail first).
    List,
    /// The console's in-memory tail, full screen.
    Live,
    /// One opened file.
    File,
}

/// The first row on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// The newest rows; while following, new lines scroll in.
    End,
    Row(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogViewState {
    pub mode: Mode,
    pub files: Vec<ListedFile>,
    /// Why the listing failed, shown in the list.
    pub list_error: Option<String>,
    /// 0 is the live tail, `i + 1` is `files[i]`.
    pub cursor: usize,
    pub file: Option<FileView>,
    /// Text rows on screen (from the terminal size).
    pub height: usize,
    /// Generation of the last opened document: replies for an older one
    /// are dropped.
    pub doc_seq: u64,
}

impl Default for LogViewState {
    fn default() -> Self {
        LogViewState {
            mode: Mode::List,
            files: Vec::new(),
            list_error: None,
            cursor: 0,
            file: None,
            height: text_rows(24),
            doc_seq: 0,
        }
    }
}

/// An opened file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileView {
    pub doc: u64,
    pub name: String,
    pub rotation: u32,
    pub top: Top,
    /// The row the last jump landed on.
    pub current: Option<usize>,
    pub wrap: bool,
    /// Characters cut on the left when not wrapping.
    pub hscroll: usize,
    /// `None` until the session's first answer.
    pub frame: Option<DocFrame>,
    /// The level filter and follow asked for by keys, ahead of the frame
    /// while ops are on their way (so `v v v` steps three levels); the
    /// frame's own values win once nothing is pending.
    pub filter: Option<LogLevel>,
    pub follow: bool,
    /// Ops sent for this document and not answered yet.
    pub pending: usize,
}

impl FileView {
    pub fn new(doc: u64, file: &ListedFile) -> FileView {
        FileView {
            doc,
            name: file.name.clone(),
            rotation: file.rotation,
            top: Top::End,
            current: None,
            wrap: false,
            hscroll: 0,
            frame: None,
            pending: 0,
            filter: None,
            follow: file.rotation == 0,
        }
    }

    pub fn rows(&self) -> usize {
        self.frame.as_ref().map_or(0, |f| f.rows)
    }

    pub fn indexing(&self) -> bool {
        self.frame.as_ref().is_some_and(|f| !f.index.done)
    }

    pub fn searching(&self) -> bool {
        self.frame
            .as_ref()
            .and_then(|f| f.search.as_ref())
            .is_some_and(|s| !s.done)
    }

    pub fn following(&self) -> bool {
        self.frame.as_ref().is_some_and(|f| f.following)
    }

    /// Whether progress or new lines may be waiting in the session.
    pub fn wants_poll(&self) -> bool {
        self.indexing() || self.searching() || self.following()
    }

    /// The first row on screen as a number (End resolved).
    pub fn top_row(&self, height: usize) -> usize {
        match self.top {
            Top::End => self.rows().saturating_sub(height),
            Top::Row(r) => r,
        }
    }

    /// Whether the last frame holds every row the screen needs.
    pub fn covered(&self, height: usize) -> bool {
        let Some(f) = &self.frame else { return false };
        let end = f.first_row + f.lines.len();
        match self.top {
            Top::End => end >= f.rows && f.lines.len() >= height.min(f.rows),
            Top::Row(_) if f.from_end => false,
            Top::Row(t) => f.first_row <= t && end >= (t + height).min(f.rows),
        }
    }

    /// Moves the first row by `delta`; reaching the bottom sticks to the
    /// end again (and so follows, when following).
    pub fn scroll(&mut self, delta: isize, height: usize) {
        let last = self.rows().saturating_sub(height);
        let from = self.top_row(height) as isize;
        let to = (from + delta).clamp(0, last as isize) as usize;
        self.top = if to >= last && delta > 0 {
            Top::End
        } else {
            Top::Row(to)
        };
    }

    pub fn view_at(&self, height: usize) -> ViewAt {
        ViewAt {
            top: self.top,
            height,
        }
    }
}

impl LogViewState {
    /// The listed file under the cursor (`None` on the live entry).
    pub fn selected_file(&self) -> Option<&ListedFile> {
        self.cursor.checked_sub(1).and_then(|i| self.files.get(i))
    }

    /// The opened file, when the file view is showing.
    pub fn open_file(&self) -> Option<&FileView> {
        self.file.as_ref().filter(|_| self.mode == Mode::File)
    }

    /// Whether the app should send poll ticks (≤ 4 Hz).
    pub fn wants_poll(&self) -> bool {
        self.open_file().is_some_and(FileView::wants_poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileView {
        FileView::new(
            1,
            &ListedFile {
                name: "syncdeck.log".into(),
                rotation: 0,
                size: 0,
                modified: None,
            },
        )
    }

    #[test]
    fn scrolling_clamps_and_the_bottom_sticks_to_the_end() {
        let mut f = file();
        f.frame = Some(crate::tui::log_fixture::doc_frame(100, 40, 60, false));
        assert!(f.covered(20));
        f.scroll(-5, 20);
        assert_eq!(f.top, Top::Row(75));
        assert!(f.covered(20));
        f.scroll(-1000, 20);
        assert_eq!(f.top, Top::Row(0));
        assert!(!f.covered(20), "rows 0..20 are not in the frame");
        f.scroll(3, 20);
        assert_eq!(f.top, Top::Row(3));
        f.scroll(1000, 20);
        assert_eq!(f.top, Top::End);
    }

    #[test]
    fn a_short_file_is_covered_at_the_end_and_from_row_zero() {
        let mut f = file();
        f.frame = Some(crate::tui::log_fixture::doc_frame(5, 0, 5, false));
        assert!(f.covered(20));
        f.top = Top::Row(0);
        assert!(f.covered(20));
    }
}
