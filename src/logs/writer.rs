//! The tracing layer that writes the five files. Each event is formatted
//! once and appended, whole, to every file that wants it; each file has its
//! own lock, so concurrent events never interleave inside a line.
//!
//! Writes are synchronous (no background thread): log volume is a few
//! lines per job, and a line written before a crash is a line kept, which
//! is what the logs are for.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;

use super::format::{self, Fields, LogFormat};
use super::names::LogName;
use super::rotate::RotatingFile;
use super::settings::LogSettings;

struct Shared {
    dir: PathBuf,
    files: [Mutex<RotatingFile>; 5],
    write_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// The open log files. Cheap to clone; the console keeps one to clear a
/// file through the writer.
#[derive(Clone)]
pub struct LogFiles {
    shared: Arc<Shared>,
    format: LogFormat,
}

impl LogFiles {
    /// Creates `dir` if needed and opens (or creates) the five files.
    pub fn open(dir: &Path, settings: &LogSettings, format: LogFormat) -> anyhow::Result<LogFiles> {
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
            opened.push(Mutex::new(file));
        }
        let files: [Mutex<RotatingFile>; 5] = opened
            .try_into()
            .map_err(|_| anyhow::anyhow!("internal: five log files expected"))?;
        Ok(LogFiles {
            shared: Arc::new(Shared {
                dir,
                files,
                write_errors: AtomicU64::new(0),
                last_error: Mutex::new(None),
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
        self.file(name).clear()
    }

    /// Writes one preformatted record to one file (tests, benchmarks).
    pub fn write_record(&self, name: LogName, record: &[u8]) -> io::Result<()> {
        self.file(name).write_record(record)
    }

    /// Failed writes so far and the last error, for a status line.
    pub fn write_errors(&self) -> (u64, Option<String>) {
        let n = self.shared.write_errors.load(Ordering::Relaxed);
        let last = self
            .shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        (n, last)
    }

    fn file(&self, name: LogName) -> std::sync::MutexGuard<'_, RotatingFile> {
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
            if let Err(e) = self.files.write_record(name, line.as_bytes()) {
                // Logging about a logging failure would recurse: count it.
                let shared = &self.files.shared;
                shared.write_errors.fetch_add(1, Ordering::Relaxed);
                *shared
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) =
                    Some(format!("{}: {e}", name.file_name()));
            }
        }
    }
}
