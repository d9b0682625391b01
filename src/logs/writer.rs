//! The tracing layer that writes the five files. Each event is formatted
//! once and appended, whole, to every file that wants it; each file has its
//! own lock, so concurrent events never interleave inside a line.
//!
//! Writes are synchronous (no background thread): log volume is a few
//! lines per job, and a line written before a crash is a line kept, which
//! is what the logs are for.
//!
//! A write that fails (a full disk, a read-only remount) loses that record
//! and nothing else: [`RotatingFile`] leaves no fragment, the first failure
//! is announced once (stderr for the daemon; the console reads
//! [`LogFiles::health`] for its status line, since it owns the terminal),
//! and the first record that can be written again is preceded, in the same
//! write, by a line saying how many records that file lost and why.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;

use super::format::{self, Fields, LogFormat};
use super::names::LogName;
use super::rotate::RotatingFile;
use super::settings::LogSettings;

/// Who hears of the first failed write besides [`LogFiles::health`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureNotice {
    /// One line on stderr (the daemon: a service manager keeps it).
    Stderr,
    /// Nobody: the caller polls `health` (the console, which draws on the
    /// terminal stderr would write to).
    HealthOnly,
}

/// How the files are doing, for a status line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogHealth {
    /// Records lost since the files were opened.
    pub lost: u64,
    /// While a file cannot be written: the first that failed and why
    /// (`PATH: error`). `None` once every file writes again.
    pub failing: Option<String>,
}

/// One file and what it lost since its last successful write.
struct Slot {
    file: RotatingFile,
    lost: u64,
    /// The error that started the loss.
    cause: Option<String>,
}

struct Shared {
    dir: PathBuf,
    notice: FailureNotice,
    files: [Mutex<Slot>; 5],
    lost: AtomicU64,
    /// One bit per file (`LogName::index`) that is losing records.
    failing: AtomicU8,
    /// `PATH: error` of the failure that started the current outage.
    trouble: Mutex<Option<String>>,
    /// When stderr last heard of a failure (see [`ANNOUNCE_AGAIN_AFTER`]).
    announced: Mutex<Option<Instant>>,
}

/// A disk at its limit fails and recovers by turns as others free and take
/// space: stderr hears of a new outage only this long after the last one.
const ANNOUNCE_AGAIN_AFTER: Duration = Duration::from_secs(60);

/// The open log files. Cheap to clone; the console keeps one to clear a
/// file through the writer and to show write failures.
#[derive(Clone)]
pub struct LogFiles {
    shared: Arc<Shared>,
    format: LogFormat,
}

impl LogFiles {
    /// Creates `dir` if needed and opens (or creates) the five files.
    pub fn open(
        dir: &Path,
        settings: &LogSettings,
        format: LogFormat,
        notice: FailureNotice,
    ) -> anyhow::Result<LogFiles> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the logs directory {}: {e}", dir.display())
        })?;
        // Absolute, so a later chdir cannot move the files.
        let dir = dir.canonicalize().map_err(|e| {
            anyhow::anyhow!("cannot resolve the logs directory {}: {e}", dir.display())
        })?;
        let mut opened = Vec::with_capacity(5);
        for name in LogName::ALL {
            let path = dir.join(name.file_name());
            let file = RotatingFile::open(&path, settings.rotation(name)).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open {}: {e} (is it a symlink or not writable?)",
                    path.display()
                )
            })?;
            opened.push(Mutex::new(Slot {
                file,
                lost: 0,
                cause: None,
            }));
        }
        let files: [Mutex<Slot>; 5] = opened
            .try_into()
            .map_err(|_| anyhow::anyhow!("internal: five log files expected"))?;
        Ok(LogFiles {
            shared: Arc::new(Shared {
                dir,
                notice,
                files,
                lost: AtomicU64::new(0),
                failing: AtomicU8::new(0),
                trouble: Mutex::new(None),
                announced: Mutex::new(None),
            }),
            format,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The tracing layer writing into these files. It takes INFO and above;
    /// give it a per-layer `LevelFilter::INFO` (as `logging::init_files`
    /// does) so DEBUG events are not even built for it.
    pub fn layer(&self) -> FileLayer {
        FileLayer {
            files: self.clone(),
        }
    }

    /// Empties one active file (rotated files stay), keeping the writer's
    /// byte count right.
    pub fn clear(&self, name: LogName) -> io::Result<()> {
        self.slot(name).file.clear()
    }

    /// Appends one preformatted record to one file, whole or not at all.
    /// A failure is counted as a lost record (see the module comment) and
    /// returned.
    pub fn write_record(&self, name: LogName, record: &[u8]) -> io::Result<()> {
        let mut slot = self.slot(name);
        let result = if slot.lost == 0 {
            slot.file.write_record(record)
        } else {
            // The count goes in the same write as the record: both or neither.
            let cause = slot.cause.as_deref().unwrap_or("unknown error");
            let mut both = self.lost_notice(slot.lost, cause).into_bytes();
            both.extend_from_slice(record);
            slot.file.write_record(&both)
        };
        let bit = 1u8 << name.index();
        let shared = &self.shared;
        match &result {
            Ok(()) if slot.lost > 0 => {
                slot.lost = 0;
                slot.cause = None;
                shared.failing.fetch_and(!bit, Ordering::Relaxed);
            }
            Ok(()) => {}
            Err(e) => {
                slot.lost += 1;
                shared.lost.fetch_add(1, Ordering::Relaxed);
                if slot.cause.is_none() {
                    slot.cause = Some(e.to_string());
                }
                if shared.failing.fetch_or(bit, Ordering::Relaxed) == 0 {
                    self.announce(&format!("{}: {e}", slot.file.path().display()));
                }
            }
        }
        result
    }

    /// The line that precedes the first record written after a loss.
    fn lost_notice(&self, lost: u64, cause: &str) -> String {
        let records = if lost == 1 { "record" } else { "records" };
        let fields = Fields {
            message: format!(
                "{lost} log {records} lost while {} was not writable: {cause}",
                self.shared.dir.display()
            ),
            fields: vec![("lost", lost.to_string())],
        };
        format::record(
            self.format,
            tracing::Level::ERROR,
            chrono::Local::now(),
            "syncdeck::logs",
            &fields,
        )
    }

    /// The first failure of an outage: kept for `health`, and said once.
    fn announce(&self, trouble: &str) {
        let shared = &self.shared;
        *shared
            .trouble
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(trouble.to_string());
        if shared.notice != FailureNotice::Stderr {
            return;
        }
        let mut announced = shared
            .announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if announced.is_none_or(|at| at.elapsed() >= ANNOUNCE_AGAIN_AFTER) {
            *announced = Some(Instant::now());
            // Not through tracing: that would come back here. A closed
            // stderr is no reason to stop.
            let _ = writeln!(
                io::stderr(),
                "syncdeck: cannot write the log file {trouble}; log records are lost until it can be written again, then each file says how many"
            );
        }
    }

    /// Records lost so far and the failure going on now, for a status line.
    pub fn health(&self) -> LogHealth {
        let shared = &self.shared;
        let failing = (shared.failing.load(Ordering::Relaxed) != 0)
            .then(|| {
                shared
                    .trouble
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .flatten();
        LogHealth {
            lost: shared.lost.load(Ordering::Relaxed),
            failing,
        }
    }

    fn slot(&self, name: LogName) -> std::sync::MutexGuard<'_, Slot> {
        // A panic while holding the lock leaves the file usable: keep logging.
        self.shared.files[name.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// See [`LogFiles::layer`].
pub struct FileLayer {
    files: LogFiles,
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for FileLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let targets: Vec<LogName> = LogName::ALL
            .into_iter()
            .filter(|n| n.accepts(meta))
            .collect();
        if targets.is_empty() {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = format::record(
            self.files.format,
            *meta.level(),
            chrono::Local::now(),
            meta.target(),
            &fields,
        );
        for name in targets {
            // Counted, announced and noted in the file by `write_record`;
            // logging about it here would come back to this layer.
            let _ = self.files.write_record(name, line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory planted where the active file was: every write fails
    /// (EISDIR on reopen) until it is gone, as on a disk that said ENOSPC.
    #[test]
    fn a_failed_write_is_counted_shown_once_and_noted_when_writing_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::open(
            dir.path(),
            &LogSettings::default(),
            LogFormat::Text,
            FailureNotice::HealthOnly,
        )
        .unwrap();
        let path = dir.path().join("sync_jobs.log");
        let line =
            |n: u32| format!("[AUTO-SYNC] [INFO] 2026-12-01 19:05:58 [sync_jobs] - job {n}\n");
        files
            .write_record(LogName::SyncJobs, line(1).as_bytes())
            .unwrap();
        assert_eq!(files.health(), LogHealth::default());

        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        for n in 2..=4 {
            assert!(
                files
                    .write_record(LogName::SyncJobs, line(n).as_bytes())
                    .is_err()
            );
        }
        // Other files are not affected.
        files
            .write_record(LogName::Syncdeck, line(9).as_bytes())
            .unwrap();
        let health = files.health();
        assert_eq!(health.lost, 3);
        let failing = health.failing.expect("a failure going on");
        assert!(failing.contains("sync_jobs.log"), "{failing}");
        assert!(failing.contains("directory"), "says why: {failing}");

        std::fs::remove_dir(&path).unwrap();
        files
            .write_record(LogName::SyncJobs, line(5).as_bytes())
            .unwrap();
        files
            .write_record(LogName::SyncJobs, line(6).as_bytes())
            .unwrap();
        assert_eq!(
            files.health(),
            LogHealth {
                lost: 3,
                failing: None
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("[AUTO-SYNC] [ERROR] ")
                && lines[0].contains(&format!(
                    "[logs] - 3 log records lost while {} was not writable: ",
                    files.dir().display()
                ))
                && lines[0].ends_with(" lost=3"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with("job 5") && lines[2].ends_with("job 6"),
            "{text}"
        );
        // Nothing for the file that kept working.
        let other = std::fs::read_to_string(dir.path().join("syncdeck.log")).unwrap();
        assert!(!other.contains("lost"), "{other}");
    }
}
