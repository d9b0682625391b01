//! The five log files, what each one receives, and the only file names the
//! viewer accepts (the five and their numbered rotations).

use serde::Serialize;
use tracing::{Level, Metadata};

/// One of the five log files. Their names are the allowlist: nothing else in
/// the logs directory is ever listed, opened, cleared or followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogName {
    /// `syncdeck.log`: everything at INFO and above.
    Syncdeck,
    /// `errors.log`: ERROR only.
    Errors,
    /// `auto_sync.log`: schedulers, change detection, lifecycle, config pulls.
    AutoSync,
    /// `changes_detected.log`: detections only.
    ChangesDetected,
    /// `sync_jobs.log`: job start, finish and results.
    SyncJobs,
}

impl LogName {
    pub const ALL: [LogName; 5] = [
        LogName::Syncdeck,
        LogName::Errors,
        LogName::AutoSync,
        LogName::ChangesDetected,
        LogName::SyncJobs,
    ];

    /// The key in the `[logs]` settings table and the file's stem.
    pub fn stem(self) -> &'static str {
        match self {
            LogName::Syncdeck => "syncdeck",
            LogName::Errors => "errors",
            LogName::AutoSync => "auto_sync",
            LogName::ChangesDetected => "changes_detected",
            LogName::SyncJobs => "sync_jobs",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            LogName::Syncdeck => "syncdeck.log",
            LogName::Errors => "errors.log",
            LogName::AutoSync => "auto_sync.log",
            LogName::ChangesDetected => "changes_detected.log",
            LogName::SyncJobs => "sync_jobs.log",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Default rotation: (bytes per file, rotated files kept).
    pub fn default_limits(self) -> (u64, usize) {
        const MB: u64 = 1024 * 1024;
        match self {
            LogName::Syncdeck | LogName::Errors => (10 * MB, 5),
            LogName::AutoSync | LogName::SyncJobs => (10 * MB, 10),
            LogName::ChangesDetected => (5 * MB, 5),
        }
    }

    /// Whether an event belongs in this file. Everything below INFO stays out
    /// of every file.
    pub fn accepts(self, meta: &Metadata<'_>) -> bool {
        let level = *meta.level();
        if level > Level::INFO {
            return false;
        }
        let target = meta.target();
        match self {
            LogName::Syncdeck => true,
            LogName::Errors => level == Level::ERROR,
            LogName::AutoSync => {
                matches!(target, "auto_sync" | "changes" | "config_sync")
                    || [
                        "syncdeck::engine::scheduler",
                        "syncdeck::engine::pull_scheduler",
                        "syncdeck::engine::supervisor",
                        "syncdeck::engine::lifecycle",
                        "syncdeck::engine::port",
                    ]
                    .iter()
                    .any(|m| target.starts_with(m))
            }
            LogName::ChangesDetected => target == "changes",
            LogName::SyncJobs => {
                target == "sync_jobs" || target.starts_with("syncdeck::engine::worker")
            }
        }
    }
}

/// Highest rotation number the viewer accepts (`NAME.log.1` … `NAME.log.999`).
pub const MAX_ROTATION: u32 = 999;

/// A file name from the allowlist: one of the five, and 0 for the active
/// file or N for `NAME.log.N`. Anything else (paths, `..`, leading zeros,
/// other suffixes) is `None`.
pub fn parse_file_name(name: &str) -> Option<(LogName, u32)> {
    LogName::ALL.iter().find_map(|&log| {
        let rest = name.strip_prefix(log.file_name())?;
        if rest.is_empty() {
            return Some((log, 0));
        }
        let digits = rest.strip_prefix('.')?;
        let valid = !digits.is_empty()
            && digits.len() <= 3
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return None;
        }
        let n: u32 = digits.parse().ok()?;
        (n <= MAX_ROTATION).then_some((log, n))
    })
}

/// Log levels as stored in the index (one byte per line; 0 = none found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[repr(u8)]
pub enum LogLevel {
    Trace = 1,
    Debug = 2,
    Info = 3,
    Warn = 4,
    Error = 5,
}

impl LogLevel {
    pub fn from_byte(b: u8) -> Option<LogLevel> {
        Some(match b {
            1 => LogLevel::Trace,
            2 => LogLevel::Debug,
            3 => LogLevel::Info,
            4 => LogLevel::Warn,
            5 => LogLevel::Error,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }

    pub fn from_tracing(level: Level) -> LogLevel {
        match level {
            Level::TRACE => LogLevel::Trace,
            Level::DEBUG => LogLevel::Debug,
            Level::INFO => LogLevel::Info,
            Level::WARN => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }

    fn from_word(word: &[u8]) -> Option<LogLevel> {
        Some(match word {
            b"TRACE" => LogLevel::Trace,
            b"DEBUG" => LogLevel::Debug,
            b"INFO" => LogLevel::Info,
            b"WARN" | b"WARNING" => LogLevel::Warn,
            b"ERROR" => LogLevel::Error,
            _ => return None,
        })
    }

    /// The level of a line: our text format (`[AUTO-SYNC] [LEVEL] …`), our
    /// JSON lines (`{"level":"LEVEL",…`), or else the first level word in the
    /// first 64 bytes (older plain tracing output). Only the line's start is
    /// read, so indexing stays a newline scan.
    pub fn of_line(line: &[u8]) -> Option<LogLevel> {
        for prefix in [&b"[AUTO-SYNC] ["[..], &b"{\"level\":\""[..]] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let end = rest.iter().take(8).position(|&b| b == b']' || b == b'"')?;
                return LogLevel::from_word(&rest[..end]);
            }
        }
        let head = &line[..line.len().min(64)];
        head.split(|b| !b.is_ascii_alphabetic())
            .find_map(LogLevel::from_word)
    }

    /// Whether `line` passes a minimum level (`None`: every line does).
    pub fn passes(min: Option<LogLevel>, line: &[u8]) -> bool {
        min.is_none_or(|m| LogLevel::of_line(line).is_some_and(|l| l >= m))
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LogLevel::from_word(s.to_ascii_uppercase().as_bytes()).ok_or_else(|| {
            format!("unknown level {s:?}: use one of error, warn, info, debug, trace")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_five_and_their_rotations() {
        assert_eq!(
            parse_file_name("syncdeck.log"),
            Some((LogName::Syncdeck, 0))
        );
        assert_eq!(
            parse_file_name("sync_jobs.log.10"),
            Some((LogName::SyncJobs, 10))
        );
        for bad in [
            "",
            "syncdeck",
            "syncdeck.log.",
            "syncdeck.log.0",
            "syncdeck.log.01",
            "syncdeck.log.1000",
            "syncdeck.log.1.gz",
            "../syncdeck.log",
            "/var/log/syncdeck.log",
            "syncdeck.log/..",
            "syncdeck.log\0",
            "syncdeck.log.-1",
            "syncdeck.log.+1",
            "errors.log ",
            "ERRORS.LOG",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn levels_from_line_starts() {
        assert_eq!(
            LogLevel::of_line(b"[AUTO-SYNC] [ERROR] 2025-01-01 00:00:00 [x] - y"),
            Some(LogLevel::Error)
        );
        assert_eq!(
            LogLevel::of_line(b"{\"level\":\"WARN\",\"time\":\"\"}"),
            Some(LogLevel::Warn)
        );
        assert_eq!(
            LogLevel::of_line(b"2025-01-01T00:00:00Z  INFO changes: 3 changed"),
            Some(LogLevel::Info)
        );
        assert_eq!(LogLevel::of_line(b"   at frame 3"), None);
        assert_eq!("warn".parse::<LogLevel>(), Ok(LogLevel::Warn));
        assert!("loud".parse::<LogLevel>().is_err());
    }
}
