//! One size-rotated log file: file-rotate does the renaming
//! (`NAME.log` → `NAME.log.1` → …, oldest deleted), this wrapper decides
//! *when*, so that
//! - a record is never split and a file never passes its limit (we rotate
//!   before a record that would not fit; file-rotate's own
//!   `BytesSurpassed` check stays as a backstop and never fires first);
//! - another process clearing, deleting or rotating the file (`syncdeck
//!   logs clear` beside a running daemon) is noticed before the next write:
//!   file-rotate keeps a private byte counter, so when the file on disk is
//!   not the one we believe (other inode, gone, or shorter than what we
//!   wrote) we reopen it, which re-reads the real size.
//!
//! Files are opened with `O_APPEND` (a truncation by someone else never
//! leaves a NUL-filled hole), `O_NOFOLLOW` (a planted symlink is not
//! written through) and mode 0600 (logs can hold server names and errors).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate, compression::Compression};

use super::settings::Rotation;

pub struct RotatingFile {
    path: PathBuf,
    rotation: Rotation,
    inner: FileRotate<AppendCount>,
    /// Bytes in the file as far as this writer knows.
    size: u64,
    /// (device, inode) of the file `inner` writes to.
    id: (u64, u64),
}

fn identity(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

impl RotatingFile {
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<RotatingFile> {
        let (inner, size, id) = Self::open_inner(path, rotation)?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            rotation,
            inner,
            size,
            id,
        })
    }

    fn open_inner(
        path: &Path,
        rotation: Rotation,
    ) -> io::Result<(FileRotate<AppendCount>, u64, (u64, u64))> {
        // file-rotate panics when it cannot create the directory and keeps
        // going without a file when it cannot open one: check both first.
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW);
        // Opening here first reports the real error (ELOOP for a symlink…).
        let probe = options.open(path)?;
        let meta = probe.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        drop(probe);
        let limit = usize::try_from(rotation.max_bytes).unwrap_or(usize::MAX);
        let inner = FileRotate::new(
            path,
            AppendCount::new(rotation.keep),
            ContentLimit::BytesSurpassed(limit),
            Compression::None,
            Some(options),
        );
        Ok((inner, meta.len(), identity(&meta)))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reopens when the file on disk is no longer the one we write to or
    /// is shorter than we believe (cleared or rotated by another process).
    fn resync(&mut self) -> io::Result<()> {
        let stale = match fs::symlink_metadata(&self.path) {
            Ok(meta) => identity(&meta) != self.id || meta.len() < self.size,
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        if stale {
            self.reopen()?;
        }
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        let (inner, size, id) = Self::open_inner(&self.path, self.rotation)?;
        self.inner = inner;
        self.size = size;
        self.id = id;
        Ok(())
    }

    /// Appends one whole record (one or more complete lines).
    pub fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        self.resync()?;
        if self.size > 0 && self.size + record.len() as u64 > self.rotation.max_bytes {
            self.inner.rotate()?;
            // file-rotate creates the new file; learn its identity.
            let meta = fs::symlink_metadata(&self.path)?;
            self.id = identity(&meta);
            self.size = meta.len();
        }
        // Our writes never return short: one write_all is one record.
        self.inner.write_all(record)?;
        self.size += record.len() as u64;
        Ok(())
    }

    /// Empties the active file; rotated files stay. Done here so the byte
    /// count is reset with it.
    pub fn clear(&mut self) -> io::Result<()> {
        clear_file(&self.path)?;
        self.reopen()
    }
}

/// Truncates a log file without following a symlink. A writer in another
/// process notices on its next write (see [`RotatingFile`]).
pub fn clear_file(path: &Path) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    file.set_len(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rot(max_bytes: u64, keep: usize) -> Rotation {
        Rotation { max_bytes, keep }
    }

    #[test]
    fn rotates_before_a_record_that_would_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.log");
        let mut f = RotatingFile::open(&path, rot(100, 2)).unwrap();
        let line = [b'x'; 39].iter().chain(b"\n").copied().collect::<Vec<_>>();
        for _ in 0..7 {
            f.write_record(&line).unwrap();
        }
        // 2 lines per file: 7 lines = active(1) + .1(2) + .2(2), oldest gone.
        assert_eq!(fs::metadata(&path).unwrap().len(), 40);
        assert_eq!(
            fs::metadata(dir.path().join("errors.log.1")).unwrap().len(),
            80
        );
        assert_eq!(
            fs::metadata(dir.path().join("errors.log.2")).unwrap().len(),
            80
        );
        assert!(!dir.path().join("errors.log.3").exists());
    }

    #[test]
    fn notices_a_clear_by_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syncdeck.log");
        let mut f = RotatingFile::open(&path, rot(100, 2)).unwrap();
        f.write_record(&[b'a'; 90]).unwrap();
        clear_file(&path).unwrap(); // as `syncdeck logs clear` would
        f.write_record(&[b'b'; 50]).unwrap();
        // Without the resync the writer would think 140 B and rotate.
        assert_eq!(fs::metadata(&path).unwrap().len(), 50);
        assert!(!dir.path().join("syncdeck.log.1").exists());
        f.clear().unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn refuses_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        fs::write(&target, "keep").unwrap();
        let path = dir.path().join("syncdeck.log");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(RotatingFile::open(&path, rot(100, 2)).is_err());
        assert!(clear_file(&path).is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
    }
}
