//! The line index of one file: 8 bytes (start offset) and 1 byte (level)
//! per line, built on a background thread that reports progress and can be
//! cancelled. The file is read with `pread` in 1 MiB chunks, never mapped:
//! a live log can be truncated under us, which would be a SIGBUS with mmap.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::names::LogLevel;

/// Bytes of a line's start kept to read its level when the line runs past a
/// chunk boundary.
const HEAD: usize = 64;
const CHUNK: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct LineIndex {
    /// Start offset of every line.
    pub offsets: Vec<u64>,
    /// Level byte of every line ([`LogLevel`] as u8; 0 = none). A line with
    /// no level of its own (a continuation) takes the one before it.
    pub levels: Vec<u8>,
    /// Offset just past the last indexed line.
    pub end: u64,
}

impl LineIndex {
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Byte range of line `i` (newline included).
    pub fn range(&self, i: usize) -> Option<(u64, u64)> {
        let start = *self.offsets.get(i)?;
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.end);
        Some((start, end))
    }

    pub fn level(&self, i: usize) -> Option<LogLevel> {
        self.levels.get(i).copied().and_then(LogLevel::from_byte)
    }

    /// Heap bytes held (for the benchmark's memory figure).
    pub fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 8 + self.levels.capacity()
    }

    fn push(&mut self, start: u64, head: &[u8]) {
        let inherited = self.levels.last().copied().unwrap_or(0);
        self.push_inheriting(start, head, inherited);
    }

    /// Pushes a line; returns its level byte.
    fn push_inheriting(&mut self, start: u64, head: &[u8], inherited: u8) -> u8 {
        let level = LogLevel::of_line(head).map_or(inherited, |l| l as u8);
        self.offsets.push(start);
        self.levels.push(level);
        level
    }

    /// Indexes the complete lines of `data` (which starts at file offset
    /// `base` = `self.end`); returns the bytes consumed.
    pub fn push_lines(&mut self, base: u64, data: &[u8]) -> usize {
        let mut start = 0usize;
        for nl in memchr::memchr_iter(b'\n', data) {
            self.push(base + start as u64, &data[start..nl.min(start + HEAD)]);
            start = nl + 1;
        }
        self.end = base + start as u64;
        start
    }
}

/// Progress of a build, shared with the thread.
#[derive(Debug, Default)]
pub struct IndexProgress {
    pub scanned: AtomicU64,
    pub total: AtomicU64,
    pub done: AtomicBool,
    pub cancelled: AtomicBool,
    pub error: Mutex<Option<String>>,
}

/// A build in progress (or finished): the index grows under the lock, chunk
/// by chunk, so the head of the file can be shown before the end is read.
pub struct IndexBuild {
    pub index: Arc<Mutex<LineIndex>>,
    pub progress: Arc<IndexProgress>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl IndexBuild {
    /// Indexes `file` from 0 to its end. `include_partial`: index a last
    /// line without a newline (a rotated file is final; the active one may
    /// be mid-write, so its tail is left to the follower).
    pub fn spawn(file: Arc<File>, include_partial: bool) -> IndexBuild {
        let index = Arc::new(Mutex::new(LineIndex::default()));
        let progress = Arc::new(IndexProgress::default());
        let (i, p) = (index.clone(), progress.clone());
        let handle = std::thread::Builder::new()
            .name("log-index".into())
            .spawn(move || {
                if let Err(e) = build(&file, &i, &p, include_partial) {
                    *p.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                }
                p.done.store(true, Ordering::Release);
            })
            .ok();
        if handle.is_none() {
            *progress
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some("cannot start the indexing thread".into());
            progress.done.store(true, Ordering::Release);
        }
        IndexBuild {
            index,
            progress,
            handle,
        }
    }

    pub fn is_done(&self) -> bool {
        self.progress.done.load(Ordering::Acquire)
    }

    pub fn cancel(&self) {
        self.progress.cancelled.store(true, Ordering::Relaxed);
    }

    /// Blocks until the build ends (tests, benchmark, CLI).
    pub fn wait(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, LineIndex> {
        lock(&self.index)
    }
}

impl Drop for IndexBuild {
    fn drop(&mut self) {
        self.cancel();
    }
}

pub(crate) fn lock(index: &Mutex<LineIndex>) -> MutexGuard<'_, LineIndex> {
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

fn build(
    file: &File,
    shared: &Mutex<LineIndex>,
    progress: &IndexProgress,
    include_partial: bool,
) -> std::io::Result<()> {
    let total = file.metadata()?.len();
    progress.total.store(total, Ordering::Relaxed);
    let mut buf = vec![0u8; CHUNK];
    let mut local = LineIndex::default();
    // The line in progress: its start and first bytes.
    let mut line_start = 0u64;
    let mut head: Vec<u8> = Vec::with_capacity(HEAD);
    let mut pos = 0u64;
    let mut last = 0u8;
    loop {
        if progress.cancelled.load(Ordering::Relaxed) {
            return Ok(());
        }
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            break;
        }
        let data = &buf[..n];
        let mut start = 0usize;
        for nl in memchr::memchr_iter(b'\n', data) {
            if line_start == pos + start as u64 {
                last = local.push_inheriting(line_start, &data[start..nl.min(start + HEAD)], last);
            } else {
                // The line began in an earlier chunk: its head was kept.
                let want = HEAD.saturating_sub(head.len());
                head.extend_from_slice(&data[..nl.min(want)]);
                last = local.push_inheriting(line_start, &head, last);
                head.clear();
            }
            start = nl + 1;
            line_start = pos + start as u64;
        }
        if start < n {
            let want = HEAD.saturating_sub(head.len());
            head.extend_from_slice(&data[start..n.min(start + want)]);
        }
        pos += n as u64;
        // Publish the chunk: the viewer can draw indexed lines meanwhile.
        {
            let mut idx = lock(shared);
            idx.offsets.append(&mut local.offsets);
            idx.levels.append(&mut local.levels);
            idx.end = line_start;
        }
        progress.scanned.store(pos, Ordering::Relaxed);
    }
    let mut idx = lock(shared);
    if include_partial && line_start < pos {
        idx.push_inheriting(line_start, &head, last);
        idx.end = pos;
    }
    idx.offsets.shrink_to_fit();
    idx.levels.shrink_to_fit();
    progress.scanned.store(pos, Ordering::Relaxed);
    Ok(())
}
