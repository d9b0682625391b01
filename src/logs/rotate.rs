//! One size-rotated log file: file-rotate does the renaming
//! (`NAME.log` → `NAME.log.1` → …, oldest deleted), this wrapper decides
//! *when* and does the writing itself, so that
//! - a record is never split and a file never passes its limit (we rotate
//!   before a record that would not fit);
//! - a record is written whole or not at all: a short write (a full disk
//!   takes what fits in the last page, then says ENOSPC) is cut off again
//!   with `set_len`, so no fragment stays for the next record to be glued to;
//! - another process clearing, deleting or rotating the file (`syncdeck
//!   logs clear` beside a running daemon) is noticed before the next write:
//!   when the file on disk is not the one we believe (other inode, gone, or
//!   shorter than what we wrote) we reopen it, which re-reads the real size.
//!
//! Files are opened with `O_APPEND` (a truncation by someone else never
//! leaves a NUL-filled hole), `O_NOFOLLOW` (a planted symlink is not
//! written through) and mode 0600 (logs can hold server names and errors).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate, compression::Compression};

use super::settings::Rotation;

pub struct RotatingFile {
    path: PathBuf,
    rotation: Rotation,
    /// Renames and deletes on rotation; never written through (its `Write`
    /// leaves a partial record behind on a short write).
    rotator: FileRotate<AppendCount>,
    active: Active,
}

/// The active file as this writer holds it.
struct Active {
    /// `O_APPEND`: every record goes here.
    file: File,
    /// Bytes in the file as far as this writer knows.
    size: u64,
    /// (device, inode) of `file`.
    id: (u64, u64),
}

impl Active {
    /// Opens (creating) the active file, refusing anything but a regular file.
    fn open(path: &Path) -> io::Result<Active> {
        // Opening here reports the real error (ELOOP for a symlink…).
        let file = options().open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        Ok(Active {
            file,
            size: meta.len(),
            id: identity(&meta),
        })
    }
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW);
    options
}

fn identity(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

impl RotatingFile {
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<RotatingFile> {
        let (rotator, active) = Self::open_inner(path, rotation)?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            rotation,
            rotator,
            active,
        })
    }

    fn open_inner(
        path: &Path,
        rotation: Rotation,
    ) -> io::Result<(FileRotate<AppendCount>, Active)> {
        // file-rotate panics when it cannot create the directory and keeps
        // going without a file when it cannot open one: check both first.
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let active = Active::open(path)?;
        // We decide when to rotate and never write through it, so it gets
        // no limit of its own.
        let rotator = FileRotate::new(
            path,
            AppendCount::new(rotation.keep),
            ContentLimit::None,
            Compression::None,
            Some(options()),
        );
        Ok((rotator, active))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reopens when the file on disk is no longer the one we write to or
    /// is shorter than we believe (cleared or rotated by another process).
    fn resync(&mut self) -> io::Result<()> {
        let stale = match fs::symlink_metadata(&self.path) {
            Ok(meta) => identity(&meta) != self.active.id || meta.len() < self.active.size,
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        if stale {
            self.reopen()?;
        }
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        (self.rotator, self.active) = Self::open_inner(&self.path, self.rotation)?;
        Ok(())
    }

    /// Appends one record (one or more complete lines), whole or not at
    /// all: after an error nothing of it is left in the file.
    pub fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        self.resync()?;
        let len = record.len() as u64;
        if self.active.size > 0 && self.active.size + len > self.rotation.max_bytes {
            self.rotator.rotate()?;
            // file-rotate created the new file; write to it from now on.
            self.active = Active::open(&self.path)?;
        }
        let active = &mut self.active;
        // Where an O_APPEND write lands: the real end of the file.
        let start = active.file.metadata()?.len();
        match active.file.write_all(record) {
            Ok(()) => {
                active.size = start + len;
                Ok(())
            }
            Err(e) => {
                // A full disk takes what fits in the file's last page, then
                // says ENOSPC: cut that head off again (shrinking needs no
                // space), so the next record does not continue it.
                let cut = active.file.set_len(start);
                active.size = start;
                match cut {
                    Ok(()) => Err(e),
                    Err(cut) => Err(io::Error::new(
                        e.kind(),
                        format!("{e} (and the partial line could not be removed: {cut})"),
                    )),
                }
            }
        }
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
