//! Following an active log file by polling (as lnav does; inotify misses
//! NFS and has watch limits). Each poll:
//! 1. reads what was appended to the open file since the last poll; if the
//!    file is now shorter than what was read, it was truncated (cleared):
//!    start again from 0, skipping the NULs a non-`O_APPEND` writer leaves;
//! 2. if the name now points to another file (rename rotation) or to none,
//!    drains the old file to its end *first* (the lines written just before
//!    the rotation), then opens the new one and reads it.
//!
//! Only complete lines are handed out; a partial last line waits for its
//! newline, so nothing is delivered twice or cut.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug)]
pub enum TailEvent {
    /// Complete lines, starting at `offset` in the current file.
    Lines { offset: u64, data: Vec<u8> },
    /// The name now points to a new file; later `Lines` are in `file`.
    Rotated { file: Arc<File> },
    /// The file was cut back; later `Lines` start again near offset 0.
    Truncated,
}

pub struct Tail {
    path: PathBuf,
    file: Arc<File>,
    id: (u64, u64),
    /// Offset of the first byte not yet delivered (start of `partial`).
    line_start: u64,
    partial: Vec<u8>,
    /// After a truncation: NULs at the start are a hole, not content.
    skip_nuls: bool,
    /// The file's first bytes as last seen: a file cleared and written
    /// past our offset between two polls is still seen as replaced.
    first: Vec<u8>,
    /// The read buffer, allocated on the first read and kept across polls.
    buf: Vec<u8>,
}

const FIRST: usize = 128;

fn first_bytes(file: &File) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; FIRST];
    let n = file.read_at(&mut buf, 0)?;
    buf.truncate(n);
    Ok(buf)
}

/// Opens a log for reading without following symlinks or blocking on a FIFO.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

const READ: usize = 256 * 1024;

impl Tail {
    /// Follows `path`, whose open `file` has been read up to `pos` (the
    /// start of a line).
    pub fn new(path: &Path, file: Arc<File>, pos: u64) -> io::Result<Tail> {
        let meta = file.metadata()?;
        let first = first_bytes(&file)?;
        Ok(Tail {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
            file,
            line_start: pos,
            partial: Vec::new(),
            skip_nuls: false,
            first,
            buf: Vec::new(),
        })
    }

    /// What happened since the last poll, in order.
    pub fn poll(&mut self) -> io::Result<Vec<TailEvent>> {
        let mut events = Vec::new();
        self.drain(&mut events)?;
        let moved = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => (m.dev(), m.ino()) != self.id,
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        if moved {
            // Lines written between our read and the rename are in the old
            // file: take them before switching.
            self.drain(&mut events)?;
            if !self.partial.is_empty() {
                // The old file is final: its unterminated last line is whole.
                let mut data = std::mem::take(&mut self.partial);
                data.push(b'\n');
                events.push(TailEvent::Lines {
                    offset: self.line_start,
                    data,
                });
            }
            match open_no_follow(&self.path) {
                Ok(file) => {
                    let meta = file.metadata()?;
                    self.id = (meta.dev(), meta.ino());
                    self.file = Arc::new(file);
                    self.line_start = 0;
                    self.skip_nuls = false;
                    self.first.clear();
                    events.push(TailEvent::Rotated {
                        file: self.file.clone(),
                    });
                    self.drain(&mut events)?;
                }
                // Mid-rotation (renamed, not yet recreated): next poll.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(events)
    }

    fn drain(&mut self, events: &mut Vec<TailEvent>) -> io::Result<()> {
        let len = self.file.metadata()?.len();
        let read_to = self.line_start + self.partial.len() as u64;
        let now_first = first_bytes(&self.file)?;
        let common = self.first.len().min(now_first.len());
        let replaced = now_first[..common] != self.first[..common];
        if len < read_to || replaced {
            self.line_start = 0;
            self.partial.clear();
            self.skip_nuls = true;
            events.push(TailEvent::Truncated);
            self.first = now_first;
        } else if self.first.len() < FIRST {
            self.first = now_first;
        }
        self.buf.resize(READ, 0);
        loop {
            let pos = self.line_start + self.partial.len() as u64;
            let n = self.file.read_at(&mut self.buf, pos)?;
            if n == 0 {
                return Ok(());
            }
            let mut data = &self.buf[..n];
            if self.skip_nuls && self.partial.is_empty() {
                let holes = data.iter().take_while(|&&b| b == 0).count();
                self.line_start += holes as u64;
                data = &data[holes..];
                if data.is_empty() {
                    continue;
                }
                self.skip_nuls = false;
            }
            self.partial.extend_from_slice(data);
            if let Some(last_nl) = memchr::memrchr(b'\n', &self.partial) {
                let rest = self.partial.split_off(last_nl + 1);
                let lines = std::mem::replace(&mut self.partial, rest);
                let offset = self.line_start;
                self.line_start += lines.len() as u64;
                events.push(TailEvent::Lines {
                    offset,
                    data: lines,
                });
            }
        }
    }
}
