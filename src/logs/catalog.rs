//! The viewer's own listing of the logs directory, and the only way to get
//! a file to read or clear: by a name from that listing. No path given by a
//! user is ever joined, opened or followed.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::names::{LogName, parse_file_name};

/// Why a name was refused; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(
        "\"{0}\" is not a log name: give a file name as `syncdeck logs list` shows it (e.g. syncdeck.log); paths are not accepted"
    )]
    NotAName(String),
    #[error(
        "unknown log file \"{0}\": the logs are syncdeck.log, errors.log, auto_sync.log, changes_detected.log, sync_jobs.log and their rotations (NAME.log.1 …)"
    )]
    Unknown(String),
    #[error(
        "{0} is a symbolic link in the logs directory; refused (log files are read only as regular files)"
    )]
    Symlink(String),
    #[error("{0} is not a regular file; refused")]
    NotRegular(String),
    #[error("{name} does not exist in {dir} (nothing logged there yet, or another --logs DIR?)")]
    Missing { name: String, dir: String },
    #[error("{0} changed while it was being opened; try again")]
    Changed(String),
    #[error("cannot read the logs directory {dir}: {error}")]
    Dir { dir: String, error: std::io::Error },
    #[error("cannot open {name}: {error}")]
    Open { name: String, error: std::io::Error },
}

impl SelectError {
    /// Bad input from the user (exit code 2) rather than a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SelectError::NotAName(_)
                | SelectError::Unknown(_)
                | SelectError::Symlink(_)
                | SelectError::NotRegular(_)
                | SelectError::Missing { .. }
        )
    }
}

/// One listed file.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// The file name, e.g. `errors.log.2`.
    pub name: String,
    pub log: LogName,
    /// 0 for the active file, N for `NAME.log.N`.
    pub rotation: u32,
    pub size: u64,
    #[serde(serialize_with = "modified_local")]
    pub modified: Option<SystemTime>,
    #[serde(skip)]
    pub(crate) path: PathBuf,
    #[serde(skip)]
    id: (u64, u64),
}

fn epoch_ms(t: Option<SystemTime>) -> Option<i64> {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
}

fn modified_local<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_some(&crate::text::when(epoch_ms(*t)))
}

impl LogEntry {
    /// Opens the listed file for reading: no symlink followed (`O_NOFOLLOW`),
    /// no FIFO blocking (`O_NONBLOCK`), and it must still be the same
    /// regular file that was listed.
    pub fn open(&self) -> Result<File, SelectError> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&self.path)
            .map_err(|error| match error.raw_os_error() {
                Some(libc::ELOOP) => SelectError::Symlink(self.name.clone()),
                _ => SelectError::Open {
                    name: self.name.clone(),
                    error,
                },
            })?;
        let meta = file.metadata().map_err(|error| SelectError::Open {
            name: self.name.clone(),
            error,
        })?;
        if !meta.is_file() || (meta.dev(), meta.ino()) != self.id {
            return Err(SelectError::Changed(self.name.clone()));
        }
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The modification time in ms since the epoch, as
    /// [`crate::text::when`] takes it.
    pub fn modified_ms(&self) -> Option<i64> {
        epoch_ms(self.modified)
    }

    /// Why this file cannot be followed (a rotated file no longer grows),
    /// or `None` when it can.
    pub fn follow_refusal(&self) -> Option<String> {
        (self.rotation != 0).then(|| {
            format!(
                "{} is a rotated file and no longer grows: follow {} instead",
                self.name,
                self.log.file_name()
            )
        })
    }
}

/// The logs directory as the viewer sees it.
#[derive(Debug, Clone)]
pub struct LogCatalog {
    dir: PathBuf,
}

impl LogCatalog {
    pub fn new(dir: impl Into<PathBuf>) -> LogCatalog {
        LogCatalog { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The allowlisted regular files, active files first (in the order of
    /// [`LogName::ALL`]), then rotations by number. Symlinks and anything
    /// not named like a log are left out. A missing directory lists empty.
    pub fn list(&self) -> Result<Vec<LogEntry>, SelectError> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(SelectError::Dir {
                    dir: self.dir.display().to_string(),
                    error,
                });
            }
        };
        let mut out = Vec::new();
        for entry in read.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Some((log, rotation)) = parse_file_name(&name) else {
                continue;
            };
            // DirEntry::metadata does not follow symlinks.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.file_type().is_file() {
                continue;
            }
            out.push(LogEntry {
                path: self.dir.join(&name),
                name,
                log,
                rotation,
                size: meta.len(),
                modified: meta.modified().ok(),
                id: (meta.dev(), meta.ino()),
            });
        }
        out.sort_by_key(|e| (e.rotation, e.log.index()));
        Ok(out)
    }

    /// Whether `name` is one a listing can hold (`errors.log`,
    /// `sync_jobs.log.3`): nothing else may be written under a log directory.
    pub fn is_log_file_name(name: &str) -> bool {
        !name.contains(['/', '\\', '\0']) && !name.contains("..") && parse_file_name(name).is_some()
    }

    /// A file by its listed name; every refusal says why.
    pub fn select(&self, name: &str) -> Result<LogEntry, SelectError> {
        let looks_like_path = name.is_empty()
            || name.contains(['/', '\\', '\0'])
            || name.contains("..")
            || name.chars().any(char::is_control);
        if looks_like_path {
            return Err(SelectError::NotAName(crate::text::sanitize(name, 80)));
        }
        if parse_file_name(name).is_none() {
            return Err(SelectError::Unknown(crate::text::sanitize(name, 80)));
        }
        if let Some(entry) = self.list()?.into_iter().find(|e| e.name == name) {
            return Ok(entry);
        }
        // Allowlisted but not listed: say why.
        let path = self.dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => Err(SelectError::Symlink(name.into())),
            Ok(_) => Err(SelectError::NotRegular(name.into())),
            Err(_) => Err(SelectError::Missing {
                name: name.into(),
                dir: self.dir.display().to_string(),
            }),
        }
    }
}
