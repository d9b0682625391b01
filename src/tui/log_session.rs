//! The blocking side of the viewer: the catalog and the open
//! [`LogDocument`]. `app` runs [`LogSession::handle`] on a blocking thread,
//! one op after another, and turns each reply into a message; tests call it
//! directly. Nothing here is called from the draw path.

use std::path::{Path, PathBuf};

use crate::logs::export::default_exports_dir;
use crate::logs::{DocUpdate, LogCatalog, LogDocument, LogFiles, LogLevel};
use crate::tui::flash::Flash;

use crate::tui::state::logview::{
    DocAction, DocFrame, Jump, ListedFile, LogOp, LogReply, Top, ViewAt,
};

/// Lines shown above a jump target, for context.
const JUMP_CONTEXT: usize = 3;

pub struct LogSession {
    catalog: Option<LogCatalog>,
    doc: Option<(u64, LogDocument)>,
    /// The screen and row count of the last frame sent: a quiet poll for the
    /// same screen answers without reading any line.
    sent: Option<(ViewAt, usize)>,
}

impl LogSession {
    /// `dir`: the logs directory (`None`: the console has none; the list
    /// says so).
    pub fn new(dir: Option<PathBuf>) -> LogSession {
        LogSession {
            catalog: dir.map(LogCatalog::new),
            doc: None,
            sent: None,
        }
    }

    /// The open document (tests wait on its index and search through it).
    #[cfg(test)]
    pub fn document_mut(&mut self) -> Option<&mut LogDocument> {
        self.doc.as_mut().map(|(_, d)| d)
    }

    pub fn handle(&mut self, op: LogOp) -> LogReply {
        match op {
            LogOp::List => LogReply::Listed(self.list()),
            LogOp::Open { doc, name, view } => {
                self.sent = None;
                self.open(doc, &name, view)
            }
            LogOp::Close => {
                self.doc = None;
                LogReply::Listed(self.list())
            }
            LogOp::Doc { doc, action, view } => {
                let reply = self.act(doc, action, view);
                self.sent = match &reply {
                    LogReply::Doc {
                        frame: Ok(f),
                        moved_to,
                        ..
                    } => {
                        let top = match moved_to {
                            _ if f.from_end => Top::End,
                            Some(row) => Top::Row(*row),
                            None => view.top,
                        };
                        Some((
                            ViewAt {
                                top,
                                height: view.height,
                            },
                            f.rows,
                        ))
                    }
                    LogReply::Unchanged { .. } => self.sent,
                    _ => None,
                };
                reply
            }
            LogOp::Export { doc } => LogReply::Exported(self.export(doc)),
        }
    }

    fn catalog(&self) -> Result<&LogCatalog, String> {
        self.catalog.as_ref().ok_or_else(|| {
            "this console has no logs directory (start it with --logs DIR to read log files)".into()
        })
    }

    fn list(&self) -> Result<Vec<ListedFile>, String> {
        let entries = self.catalog()?.list().map_err(|e| e.to_string())?;
        Ok(entries
            .into_iter()
            .map(|e| ListedFile {
                name: e.name,
                rotation: e.rotation,
                size: e.size,
                modified: e.modified,
            })
            .collect())
    }

    fn open(&mut self, doc: u64, name: &str, view: ViewAt) -> LogReply {
        self.doc = None;
        let opened = self
            .catalog()
            .and_then(|c| c.select(name).map_err(|e| e.to_string()))
            .and_then(|entry| LogDocument::open(&entry).map_err(|e| e.to_string()));
        let mut document = match opened {
            Ok(d) => d,
            Err(e) => return failed(doc, e),
        };
        // An active file is followed from the start, as `tail -f` would
        // (a rotated one refuses, and stays still).
        if document.entry().rotation == 0 {
            let _ = document.set_following(true);
        }
        let frame = frame_of(&document, view);
        self.doc = Some((doc, document));
        reply(doc, frame, None, None, None)
    }

    fn act(&mut self, doc: u64, action: DocAction, view: ViewAt) -> LogReply {
        let Some((_, document)) = self.doc.as_mut().filter(|(d, _)| *d == doc) else {
            return failed(
                doc,
                "the log file was closed; open it again from the list".into(),
            );
        };
        let mut moved_to = None;
        let mut current = None;
        let mut note = None;
        match action {
            DocAction::Refresh => {}
            DocAction::Poll => match document.poll() {
                // Following a quiet file: only the metadata was looked at.
                Ok(update)
                    if update == DocUpdate::default()
                        && quiet(document)
                        && self.sent == Some((view, document.row_count())) =>
                {
                    return LogReply::Unchanged { doc };
                }
                Ok(update) if update.truncated => {
                    note = Some(Flash::info(format!(
                        "{} was cleared; showing it from the top",
                        document.entry().name
                    )));
                }
                Ok(_) => {}
                Err(e) => note = Some(Flash::warn(format!("cannot follow: {e}"))),
            },
            DocAction::CancelIndex => {
                document.cancel_index();
                // Following would read the unindexed rest in one go.
                let _ = document.set_following(false);
                note = Some(Flash::info(
                    "indexing stopped: the lines read so far can be browsed; open the file again to index all of it",
                ));
            }
            DocAction::Follow(on) => {
                let stopped = document.index_status();
                if on && stopped.done && stopped.scanned_bytes < stopped.total_bytes {
                    note = Some(Flash::warn(
                        "indexing was stopped, so this file cannot be followed: open it again to follow it",
                    ));
                } else if let Err(e) = document.set_following(on) {
                    note = Some(Flash::warn(e));
                }
            }
            DocAction::Filter(level) => {
                let line = match view.top {
                    Top::Row(r) => document.row_line(r),
                    Top::End => None,
                };
                document.set_level_filter(level);
                if let Some(line) = line {
                    moved_to = Some(document.line_row(line));
                }
            }
            DocAction::Search(None) => document.clear_search(),
            DocAction::Search(Some(query)) => {
                if let Err(e) = document.start_search(query) {
                    note = Some(Flash::warn(e));
                }
            }
            DocAction::Jump(jump) => match jump_target(document, &jump) {
                Ok(row) => {
                    current = Some(row);
                    let last = document.row_count().saturating_sub(view.height);
                    moved_to = Some(row.saturating_sub(JUMP_CONTEXT).min(last));
                }
                Err(text) => note = Some(Flash::warn(text)),
            },
        }
        let view = match moved_to {
            Some(r) => ViewAt {
                top: Top::Row(r),
                ..view
            },
            None => view,
        };
        let frame = frame_of(document, view);
        reply(doc, frame, moved_to, current, note)
    }

    fn export(&self, doc: u64) -> Result<String, String> {
        let (_, document) = self
            .doc
            .as_ref()
            .filter(|(d, _)| *d == doc)
            .ok_or("the log file was closed; open it again to export it")?;
        let dir = default_exports_dir(self.catalog()?.dir());
        let rows = document.row_count();
        let path = document
            .export(&dir, None)
            .map_err(|e| format!("cannot export to {}: {e}", dir.display()))?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Ok(format!(
            "exported {} lines of {} to exports/{name}",
            crate::tui::views::widgets::count(rows as u64),
            document.entry().name
        ))
    }
}

/// Nothing in progress that a frame would show moving.
fn quiet(document: &LogDocument) -> bool {
    document.is_indexed() && document.search_status().is_none_or(|s| s.done)
}

fn failed(doc: u64, error: String) -> LogReply {
    LogReply::Doc {
        doc,
        frame: Err(error),
        moved_to: None,
        current: None,
        note: None,
    }
}

fn reply(
    doc: u64,
    frame: Result<DocFrame, String>,
    moved_to: Option<usize>,
    current: Option<usize>,
    note: Option<Flash>,
) -> LogReply {
    LogReply::Doc {
        doc,
        frame: frame.map(Box::new),
        moved_to,
        current,
        note,
    }
}

fn jump_target(document: &LogDocument, jump: &Jump) -> Result<usize, String> {
    match jump {
        Jump::Match { from, forward } => {
            let Some(status) = document.search_status() else {
                return Err("no search: press / and type what to look for".into());
            };
            document
                .next_match(from.unwrap_or(usize::MAX), *forward)
                .ok_or_else(|| match (*forward, status.done) {
                    (_, false) => "no match there yet; the search is still running".into(),
                    (true, true) => "no more matches below (N goes up)".into(),
                    (false, true) => "no more matches above (n goes down)".into(),
                })
        }
        Jump::Error { from, forward } => {
            let found = match from {
                Some(row) => document.next_level(*row, LogLevel::Error, *forward),
                None => first_error(document, *forward),
            };
            found.ok_or_else(|| {
                format!(
                    "no ERROR line {} in this view",
                    if *forward { "below" } else { "above" }
                )
            })
        }
        Jump::Time(when) => {
            let row = document.row_at_time(when);
            if row >= document.row_count() {
                Err(format!("no line at or after {when} in this file"))
            } else {
                Ok(row)
            }
        }
    }
}

/// The first (or last) ERROR row of the whole view.
fn first_error(document: &LogDocument, forward: bool) -> Option<usize> {
    let rows = document.row_count();
    let edge = if forward { 0 } else { rows.checked_sub(1)? };
    if document.row_level(edge) >= Some(LogLevel::Error) {
        Some(edge)
    } else {
        document.next_level(edge, LogLevel::Error, forward)
    }
}

/// The rows around `view`: one screen above and one below it as margin,
/// so small scrolls are drawn from the frame without asking again.
pub fn frame_of(document: &LogDocument, view: ViewAt) -> Result<DocFrame, String> {
    let height = view.height.max(1);
    let index = document.index_status();
    let rows = document.row_count();
    let (first_row, lines, from_end) = if !index.done && view.top == Top::End {
        // Before the index gets to the end: the last screen, read backwards.
        let lines = document
            .first_screen(height)
            .map_err(|e| format!("cannot read {}: {e}", document.entry().name))?;
        (rows.saturating_sub(lines.len()), lines, true)
    } else {
        let top = match view.top {
            Top::End => rows.saturating_sub(height),
            Top::Row(r) => r.min(rows.saturating_sub(1)),
        };
        let first = top.saturating_sub(height);
        let wanted = (top + 2 * height).min(rows) - first.min(rows);
        (first, document.visible_lines(first, wanted), false)
    };
    Ok(DocFrame {
        rows,
        first_row,
        lines,
        from_end,
        index,
        search: document.search_status(),
        filter: document.level_filter(),
        following: document.is_following(),
    })
}

/// Empties an active log file named as the catalog lists it: through the
/// console's writer when it writes that directory (its size count stays
/// right), else in place as `syncdeck logs clear` does (a daemon writing it
/// notices the shorter file).
pub fn clear_log(files: Option<&LogFiles>, dir: &Path, name: &str) -> Result<String, String> {
    let entry = LogCatalog::new(dir)
        .select(name)
        .map_err(|e| e.to_string())?;
    if entry.rotation != 0 {
        return Err(format!(
            "{} is a rotated file; only active files can be cleared",
            entry.name
        ));
    }
    let ours = files.filter(|f| dir.canonicalize().is_ok_and(|d| d == f.dir()));
    let result = match ours {
        Some(files) => files.clear(entry.log),
        None => crate::logs::rotate::clear_file(entry.path()),
    };
    result.map_err(|e| format!("cannot clear {}: {e}", entry.name))?;
    Ok(format!("cleared {}; rotated files kept", entry.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::log_fixture;
    use std::io::Write;

    fn poll(session: &mut LogSession, view: ViewAt) -> LogReply {
        session.handle(LogOp::Doc {
            doc: 1,
            action: DocAction::Poll,
            view,
        })
    }

    #[test]
    fn a_quiet_followed_file_is_polled_without_reading_lines() {
        let dir = log_fixture::log_dir();
        let mut s = LogSession::new(Some(dir.path().to_path_buf()));
        let view = ViewAt {
            top: Top::End,
            height: 10,
        };
        let opened = s.handle(LogOp::Open {
            doc: 1,
            name: "sync_jobs.log".into(),
            view,
        });
        assert!(
            matches!(opened, LogReply::Doc { frame: Ok(_), .. }),
            "{opened:?}"
        );
        if let Some(doc) = s.document_mut() {
            doc.wait_indexed();
        }
        let LogReply::Doc { frame: Ok(f), .. } = poll(&mut s, view) else {
            panic!("the first poll after indexing sends a frame");
        };
        assert!(f.following && f.index.done);
        assert_eq!(f.rows, 1);
        assert_eq!(poll(&mut s, view), LogReply::Unchanged { doc: 1 });

        // A new line: a frame with it.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("sync_jobs.log"))
            .expect("open");
        file.write_all(
            b"[AUTO-SYNC] [INFO] 2026-11-21 10:00:01 [sync_jobs] - job completed job=1\n",
        )
        .expect("append");
        let LogReply::Doc { frame: Ok(f), .. } = poll(&mut s, view) else {
            panic!("new lines send a frame");
        };
        assert_eq!(f.rows, 2);
        assert!(
            f.lines
                .last()
                .is_some_and(|l| l.text.contains("job completed"))
        );
        assert_eq!(poll(&mut s, view), LogReply::Unchanged { doc: 1 });
        // Another screen position is read even when the file is quiet.
        let moved = ViewAt {
            top: Top::Row(0),
            ..view
        };
        assert!(matches!(poll(&mut s, moved), LogReply::Doc { .. }));
    }

    #[test]
    fn files_are_opened_only_by_listed_names() {
        let dir = log_fixture::log_dir();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("auto_sync.log.3"))
            .expect("symlink");
        let mut s = LogSession::new(Some(dir.path().to_path_buf()));
        let view = ViewAt {
            top: Top::End,
            height: 5,
        };
        for name in [
            "../errors.log",
            "/etc/passwd",
            "auto_sync.log.3",
            "errors.log\0",
            "notes.txt",
        ] {
            let reply = s.handle(LogOp::Open {
                doc: 1,
                name: name.into(),
                view,
            });
            let LogReply::Doc { frame: Err(e), .. } = reply else {
                panic!("{name} opened: {reply:?}");
            };
            assert!(!e.is_empty());
        }
        let LogReply::Listed(Ok(files)) = s.handle(LogOp::List) else {
            panic!("no listing");
        };
        assert!(
            files.iter().all(|f| f.name != "auto_sync.log.3"),
            "symlink listed"
        );
    }
}
