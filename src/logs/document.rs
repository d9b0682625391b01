//! An open log as a viewer needs it, with no drawing in it: the first
//! screen at once (read backwards from the end), a line index built in the
//! background, rows under a level filter, search on a worker thread with
//! hits and a count, next/previous error, go to time, follow across
//! rotation and truncation, and export. The console view draws
//! [`LogDocument::visible_lines`]; `syncdeck logs` uses the same pieces.
//!
//! Lines are numbered across *segments*: the file that was opened, then,
//! while following, each file that replaced it after a rotation (the old
//! ones stay readable through their open descriptors). "Rows" are the lines
//! that pass the level filter; without a filter row = line.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use super::catalog::{LogEntry, SelectError};
use super::follow::{Tail, TailEvent};
use super::index::{IndexBuild, LineIndex, lock};
use super::inert::display_line;
use super::names::LogLevel;
use super::search::{Matcher, SearchQuery, search_file};

/// Bytes of one line read for display; longer lines are cut (a 100 MB line
/// must not stall a redraw).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Characters of one line shown (after escaping).
pub const MAX_LINE_CHARS: usize = 16 * 1024;
/// Hit line numbers kept per search (8 MB); the count goes on past it.
pub const MAX_HITS: usize = 1_000_000;
/// Bytes read from the end for the first screen.
const TAIL_BLOCK: u64 = 64 * 1024;

/// One line ready to draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayLine {
    /// 0-based line number; `None` on a first screen drawn before the index
    /// reached the end.
    pub line: Option<u64>,
    pub level: Option<LogLevel>,
    /// Inert: escapes and controls shown as text, tabs expanded.
    pub text: String,
    /// Byte ranges of `text` that match the current search.
    pub matches: Vec<Range<usize>>,
}

struct Segment {
    file: Arc<File>,
    index: Arc<Mutex<LineIndex>>,
    first_line: u64,
}

impl Segment {
    fn len(&self) -> u64 {
        lock(&self.index).len() as u64
    }
}

/// What a poll changed, for the view to react (scroll to the end, reset).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DocUpdate {
    pub new_lines: u64,
    pub rotated: bool,
    /// The active file was cleared: its lines are gone from the document.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexStatus {
    pub scanned_bytes: u64,
    pub total_bytes: u64,
    pub lines: u64,
    pub done: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchStatus {
    pub query: SearchQuery,
    /// Matching lines so far (under the level filter in force at start).
    pub matches: u64,
    pub scanned_bytes: u64,
    pub total_bytes: u64,
    pub done: bool,
    pub error: Option<String>,
}

#[derive(Default)]
struct SearchShared {
    hits: Mutex<Vec<u64>>,
    count: AtomicU64,
    scanned: AtomicU64,
    done: AtomicBool,
    cancel: AtomicBool,
    error: Mutex<Option<String>>,
}

struct SearchRun {
    query: SearchQuery,
    matcher: Arc<Matcher>,
    shared: Arc<SearchShared>,
    total: u64,
}

impl SearchShared {
    /// Counts a matching line; its number is kept up to [`MAX_HITS`].
    fn record(&self, line: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        if hits.len() < MAX_HITS {
            hits.push(line);
        }
    }
}

impl Drop for SearchRun {
    fn drop(&mut self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }
}

pub struct LogDocument {
    entry: LogEntry,
    build: IndexBuild,
    segments: Vec<Segment>,
    tail: Option<Tail>,
    following: bool,
    filter: Option<LogLevel>,
    /// Lines passing the filter (only with a filter).
    rows: Vec<u64>,
    rows_upto: u64,
    search: Option<SearchRun>,
}

impl LogDocument {
    /// Opens a listed file and starts indexing it; returns at once.
    pub fn open(entry: &LogEntry) -> Result<LogDocument, SelectError> {
        let file = Arc::new(entry.open()?);
        // A rotated file is final: its last line counts even unterminated.
        let build = IndexBuild::spawn(file.clone(), entry.rotation != 0);
        let segments = vec![Segment {
            file,
            index: build.index.clone(),
            first_line: 0,
        }];
        Ok(LogDocument {
            entry: entry.clone(),
            build,
            segments,
            tail: None,
            following: false,
            filter: None,
            rows: Vec::new(),
            rows_upto: 0,
            search: None,
        })
    }

    pub fn entry(&self) -> &LogEntry {
        &self.entry
    }

    pub fn index_status(&self) -> IndexStatus {
        let p = &self.build.progress;
        IndexStatus {
            scanned_bytes: p.scanned.load(Ordering::Relaxed),
            total_bytes: p.total.load(Ordering::Relaxed),
            lines: self.line_count(),
            done: self.build.is_done(),
            error: p
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    pub fn is_indexed(&self) -> bool {
        self.build.is_done()
    }

    /// Stops indexing; what was indexed stays usable.
    pub fn cancel_index(&self) {
        self.build.cancel();
    }

    /// Blocks until the index is built (CLI, tests, benchmark).
    pub fn wait_indexed(&mut self) {
        self.build.wait();
        self.refresh_rows();
    }

    /// Heap bytes of the line index (8 B offset + 1 B level per line).
    pub fn index_heap_bytes(&self) -> usize {
        self.segments
            .iter()
            .map(|s| lock(&s.index).heap_bytes())
            .sum()
    }

    pub fn line_count(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.first_line + s.len())
    }

    /// The last `height` lines (passing the filter), read backwards from
    /// the end of the file: drawn before the index gets there, in a
    /// time that does not depend on the file's size.
    pub fn first_screen(&self, height: usize) -> std::io::Result<Vec<DisplayLine>> {
        if self.build.is_done() || height == 0 {
            let n = self.row_count();
            return Ok(self.visible_lines(n.saturating_sub(height), height));
        }
        let file = &self.segments[0].file;
        let lines = tail_lines(file, file.metadata()?.len(), height, self.filter)?;
        Ok(lines
            .iter()
            .map(|l| self.display(None, LogLevel::of_line(l), l))
            .collect())
    }

    // ---- rows and level filter ----

    pub fn level_filter(&self) -> Option<LogLevel> {
        self.filter
    }

    /// Shows only lines at `min` or above (`None`: all lines).
    pub fn set_level_filter(&mut self, min: Option<LogLevel>) {
        self.filter = min;
        self.rows.clear();
        self.rows_upto = 0;
        self.refresh_rows();
    }

    fn refresh_rows(&mut self) {
        let Some(min) = self.filter else { return };
        let min = min as u8;
        for seg in &self.segments {
            let idx = lock(&seg.index);
            let end = seg.first_line + idx.len() as u64;
            if self.rows_upto >= end {
                continue;
            }
            let from = self.rows_upto.max(seg.first_line);
            let local = (from - seg.first_line) as usize;
            for (i, &lvl) in idx.levels[local..].iter().enumerate() {
                if lvl >= min {
                    self.rows.push(from + i as u64);
                }
            }
            self.rows_upto = end;
        }
    }

    /// Rows available now (grows while indexing and following).
    pub fn row_count(&self) -> usize {
        match self.filter {
            Some(_) => self.rows.len(),
            None => self.line_count() as usize,
        }
    }

    pub fn row_line(&self, row: usize) -> Option<u64> {
        match self.filter {
            Some(_) => self.rows.get(row).copied(),
            None => ((row as u64) < self.line_count()).then_some(row as u64),
        }
    }

    /// The row showing `line`, or the first row after it.
    pub fn line_row(&self, line: u64) -> usize {
        match self.filter {
            Some(_) => self.rows.partition_point(|&l| l < line),
            None => line as usize,
        }
    }

    fn locate(&self, line: u64) -> Option<&Segment> {
        self.segments.iter().rev().find(|s| s.first_line <= line)
    }

    /// The raw bytes of a line (cut at [`MAX_LINE_BYTES`]) and its level.
    pub fn raw_line(&self, line: u64) -> Option<(Vec<u8>, Option<LogLevel>)> {
        let seg = self.locate(line)?;
        let (range, level) = {
            let idx = lock(&seg.index);
            let i = (line - seg.first_line) as usize;
            (idx.range(i)?, idx.level(i))
        };
        let len = ((range.1 - range.0) as usize).min(MAX_LINE_BYTES);
        let mut buf = vec![0u8; len];
        let n = seg.file.read_at(&mut buf, range.0).ok()?;
        buf.truncate(n);
        Some((buf, level))
    }

    fn display(&self, line: Option<u64>, level: Option<LogLevel>, raw: &[u8]) -> DisplayLine {
        let text = display_line(raw, MAX_LINE_CHARS);
        let matches = self
            .search
            .as_ref()
            .map(|s| s.matcher.ranges(&text))
            .unwrap_or_default();
        DisplayLine {
            line,
            level,
            text,
            matches,
        }
    }

    /// Up to `height` rows from `first_row`, ready to draw.
    pub fn visible_lines(&self, first_row: usize, height: usize) -> Vec<DisplayLine> {
        (first_row..first_row.saturating_add(height))
            .map_while(|row| self.row_line(row))
            .filter_map(|line| {
                let (raw, level) = self.raw_line(line)?;
                Some(self.display(Some(line), level, &raw))
            })
            .collect()
    }

    /// The level of a row's line, from the index (no read).
    pub fn row_level(&self, row: usize) -> Option<LogLevel> {
        let line = self.row_line(row)?;
        let seg = self.locate(line)?;
        lock(&seg.index).level((line - seg.first_line) as usize)
    }

    /// The next (or previous) row after `from_row` whose line is at `min`
    /// or above: `e`/`E` with `min` = Error.
    pub fn next_level(&self, from_row: usize, min: LogLevel, forward: bool) -> Option<usize> {
        let rows = self.row_count();
        let mut row = from_row;
        loop {
            row = if forward {
                row.checked_add(1).filter(|&r| r < rows)?
            } else {
                row.checked_sub(1)?
            };
            if self.row_level(row).is_some_and(|l| l >= min) {
                return Some(row);
            }
        }
    }

    /// The first row whose timestamp is at or after `when` (a prefix of
    /// `YYYY-MM-DD HH:MM:SS`, e.g. `2025-03-04 05:06`), by binary search.
    pub fn row_at_time(&self, when: &str) -> usize {
        let (mut lo, mut hi) = (0usize, self.row_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // Rows without a time take the next one's.
            let stamp = (mid..hi.min(mid + 32)).find_map(|r| {
                self.row_line(r)
                    .and_then(|l| self.raw_line(l))
                    .and_then(|(raw, _)| timestamp(&raw))
            });
            match stamp {
                Some(t) if t.as_str() < when => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    // ---- search ----

    /// Starts a search over the whole document on a worker thread (the
    /// previous one is cancelled). Lines appended later by following are
    /// checked as they arrive.
    pub fn start_search(&mut self, query: SearchQuery) -> Result<(), String> {
        let matcher = Arc::new(query.compile()?);
        let shared = Arc::new(SearchShared::default());
        let mut parts: Vec<(Arc<File>, u64, u64)> = self
            .segments
            .iter()
            .map(|s| (s.file.clone(), lock(&s.index).end, s.first_line))
            .collect();
        // While indexing, the first segment is searched to its current size.
        if !self.build.is_done()
            && let Some(first) = parts.first_mut()
        {
            first.1 = first.0.metadata().map(|m| m.len()).unwrap_or(first.1);
        }
        let total = parts.iter().map(|p| p.1).sum();
        let filter = self.filter;
        let (m, sh) = (matcher.clone(), shared.clone());
        std::thread::Builder::new()
            .name("log-search".into())
            .spawn(move || {
                let mut done_bytes = 0u64;
                for (file, end, first_line) in parts {
                    let r = search_file(&file, end, &m, filter, &sh.cancel, &sh.scanned, |n, _| {
                        sh.record(first_line + n);
                        true
                    });
                    if let Err(e) = r {
                        *sh.error.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(e.to_string());
                        break;
                    }
                    // A file found shorter than `end` still counts whole.
                    done_bytes += end;
                    sh.scanned.store(done_bytes, Ordering::Relaxed);
                }
                sh.done.store(true, Ordering::Release);
            })
            .map_err(|e| format!("cannot start the search thread: {e}"))?;
        self.search = Some(SearchRun {
            query,
            matcher,
            shared,
            total,
        });
        Ok(())
    }

    pub fn clear_search(&mut self) {
        self.search = None;
    }

    pub fn search_status(&self) -> Option<SearchStatus> {
        let s = self.search.as_ref()?;
        Some(SearchStatus {
            query: s.query.clone(),
            matches: s.shared.count.load(Ordering::Relaxed),
            scanned_bytes: s.shared.scanned.load(Ordering::Relaxed),
            total_bytes: s.total,
            done: s.shared.done.load(Ordering::Acquire),
            error: s
                .shared
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        })
    }

    /// Blocks until the search ends (CLI, tests, benchmark).
    pub fn wait_search(&self) {
        while let Some(s) = &self.search {
            if s.shared.done.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// `n` / `N`: the next (or previous) row after `from_row` holding a hit.
    pub fn next_match(&self, from_row: usize, forward: bool) -> Option<usize> {
        let s = self.search.as_ref()?;
        let hits = s.shared.hits.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.row_line(from_row);
        let mut i = match current {
            Some(line) if forward => hits.partition_point(|&h| h <= line),
            Some(line) => hits.partition_point(|&h| h < line),
            None if forward => 0,
            None => hits.len(),
        };
        loop {
            let line = if forward {
                let l = *hits.get(i)?;
                i += 1;
                l
            } else {
                i = i.checked_sub(1)?;
                hits[i]
            };
            let row = self.line_row(line);
            if self.row_line(row) == Some(line) {
                return Some(row);
            }
        }
    }

    // ---- follow ----

    /// Follow the active file: [`poll`](Self::poll) then takes appended
    /// lines, rotations and truncations. Rotated files cannot be followed.
    pub fn set_following(&mut self, on: bool) -> Result<(), String> {
        if on && let Some(why) = self.entry.follow_refusal() {
            return Err(why);
        }
        self.following = on;
        Ok(())
    }

    pub fn is_following(&self) -> bool {
        self.following
    }

    /// Call on every tick (e.g. every 100–250 ms): extends the filter rows
    /// as the index grows and, when following, reads what was appended.
    pub fn poll(&mut self) -> std::io::Result<DocUpdate> {
        let mut update = DocUpdate::default();
        if self.following && self.build.is_done() {
            if self.tail.is_none() {
                let seg = &self.segments[0];
                let end = lock(&seg.index).end;
                self.tail = Some(Tail::new(self.entry.path(), seg.file.clone(), end)?);
            }
            let events = match self.tail.as_mut() {
                Some(t) => t.poll()?,
                None => Vec::new(),
            };
            for event in events {
                self.apply(event, &mut update);
            }
        }
        self.refresh_rows();
        Ok(update)
    }

    fn apply(&mut self, event: TailEvent, update: &mut DocUpdate) {
        match event {
            TailEvent::Lines { offset, data } => {
                let Some(seg) = self.segments.last() else {
                    return;
                };
                let before = {
                    let mut idx = lock(&seg.index);
                    let before = idx.len();
                    // NULs skipped after a truncation move the start.
                    idx.end = offset;
                    idx.push_lines(offset, &data);
                    before
                };
                let first_new = seg.first_line + before as u64;
                let mut n = 0u64;
                for (k, line) in data.split_inclusive(|&b| b == b'\n').enumerate() {
                    n += 1;
                    self.check_new_line(first_new + k as u64, line);
                }
                update.new_lines += n;
            }
            TailEvent::Rotated { file } => {
                let first_line = self.line_count();
                self.segments.push(Segment {
                    file,
                    index: Arc::new(Mutex::new(LineIndex::default())),
                    first_line,
                });
                update.rotated = true;
            }
            TailEvent::Truncated => {
                let Some(seg) = self.segments.last() else {
                    return;
                };
                let first = seg.first_line;
                *lock(&seg.index) = LineIndex::default();
                self.rows.retain(|&l| l < first);
                self.rows_upto = self.rows_upto.min(first);
                if let Some(s) = &self.search {
                    let mut hits = s.shared.hits.lock().unwrap_or_else(PoisonError::into_inner);
                    let kept = hits.partition_point(|&h| h < first);
                    let gone = (hits.len() - kept) as u64;
                    hits.truncate(kept);
                    s.shared.count.fetch_sub(gone, Ordering::Relaxed);
                }
                update.truncated = true;
            }
        }
    }

    /// Keeps search hits current for lines arriving while following.
    fn check_new_line(&self, line_no: u64, line: &[u8]) {
        let Some(s) = &self.search else { return };
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if LogLevel::passes(self.filter, line) && s.matcher.is_match(line) {
            s.shared.record(line_no);
        }
    }

    // ---- export ----

    /// Writes `rows` (or every row of the filtered view) to a new file in
    /// `exports_dir`; returns its path.
    pub fn export(
        &self,
        exports_dir: &std::path::Path,
        rows: Option<Range<usize>>,
    ) -> std::io::Result<std::path::PathBuf> {
        let rows = rows.unwrap_or(0..self.row_count());
        // Read line by line as they are written: a whole file is never held.
        let lines = rows
            .filter_map(|r| self.row_line(r))
            .filter_map(|l| self.raw_line(l).map(|(raw, _)| raw));
        super::export::export_lines(exports_dir, self.entry.log, lines)
    }
}

/// The first `YYYY-MM-DD HH:MM:SS` in a line's first 96 bytes (`T` accepted
/// for the space), with a space.
fn timestamp(line: &[u8]) -> Option<String> {
    let head = &line[..line.len().min(96)];
    head.windows(19).find_map(|w| {
        let ok = w.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ' || b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
        ok.then(|| {
            let mut s = String::from_utf8_lossy(w).into_owned();
            s.replace_range(10..11, " ");
            s
        })
    })
}

/// The last `n` lines of `file[..end]` that pass `min` (empty lines
/// skipped), reading backwards in 64 KiB blocks: the cost depends on `n`
/// and the lines' length, not on the file's size.
pub fn tail_lines(
    file: &File,
    end: u64,
    n: usize,
    min: Option<LogLevel>,
) -> std::io::Result<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    // The start of the file's part already read that is not a whole line
    // yet (its beginning lies before `pos`), newline included.
    let mut pending: Vec<u8> = Vec::new();
    let mut pos = end;
    while out.len() < n && pos > 0 {
        let start = pos.saturating_sub(TAIL_BLOCK);
        let mut data = vec![0u8; (pos - start) as usize];
        file.read_exact_at(&mut data, start)?;
        data.extend_from_slice(&pending);
        pos = start;
        let cut = if start == 0 {
            0
        } else {
            match memchr::memchr(b'\n', &data) {
                Some(i) => i + 1,
                None => {
                    pending = data;
                    continue;
                }
            }
        };
        for line in data[cut..].rsplit(|&b| b == b'\n') {
            if out.len() >= n {
                break;
            }
            if !line.is_empty() && LogLevel::passes(min, line) {
                out.push(line.to_vec());
            }
        }
        data.truncate(cut);
        pending = data;
    }
    out.reverse();
    Ok(out)
}

/// Offset just past the last newline of `file[..len]` (0 if none): where
/// complete lines end, so a follower starts on a line boundary.
pub fn complete_end(file: &File, len: u64) -> std::io::Result<u64> {
    let mut pos = len;
    while pos > 0 {
        let start = pos.saturating_sub(TAIL_BLOCK);
        let mut data = vec![0u8; (pos - start) as usize];
        file.read_exact_at(&mut data, start)?;
        if let Some(i) = memchr::memrchr(b'\n', &data) {
            return Ok(start + i as u64 + 1);
        }
        pos = start;
    }
    Ok(0)
}
