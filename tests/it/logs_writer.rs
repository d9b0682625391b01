//! The log writer on real files: many threads logging through the tracing
//! layer past many rotations, then every file read back.

use std::collections::HashMap;
use std::path::Path;

use syncdeck::logs::settings::Rotation;
use syncdeck::logs::writer::FailureNotice;
use syncdeck::logs::{LogFiles, LogFormat, LogName, LogSettings};
use tracing_subscriber::layer::SubscriberExt;

const THREADS: usize = 8;
const PER_THREAD: usize = 600;

/// The lines of `NAME.log` and all its rotations, with each file's size.
fn family(dir: &Path, log: LogName) -> (Vec<String>, Vec<(String, u64)>) {
    let mut lines = Vec::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if !name.starts_with(log.file_name()) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} ends mid-line"
        );
        files.push((name, text.len() as u64));
        lines.extend(text.lines().map(str::to_string));
    }
    (lines, files)
}

fn settings(max_bytes: u64, keep: usize, errors_keep: usize) -> LogSettings {
    let mut s = LogSettings::default();
    for name in LogName::ALL {
        s.set(name, Rotation { max_bytes, keep });
    }
    s.set(
        LogName::Errors,
        Rotation {
            max_bytes,
            keep: errors_keep,
        },
    );
    s
}

#[test]
fn concurrent_writers_past_many_rotations_keep_every_line_once_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let max_bytes = 4096;
    let files = LogFiles::open(
        dir.path(),
        &settings(max_bytes, 300, 2),
        LogFormat::Text,
        FailureNotice::Stderr,
    )
    .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(files.layer()));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..PER_THREAD {
                        // Varying lengths, so rotation points differ.
                        let pad = "x".repeat((t * 7 + i * 13) % 90);
                        if i % 10 == 0 {
                            tracing::error!(target: "sync_jobs", t, i, "job failed {pad}");
                        } else {
                            tracing::info!(target: "sync_jobs", t, i, "job completed {pad}");
                        }
                        tracing::debug!(target: "sync_jobs", "never written");
                    }
                });
            });
        }
    });

    let line_re = regex::Regex::new(
        r"^\[AUTO-SYNC\] \[(INFO|ERROR)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d \[sync_jobs\] - job (completed|failed) x* t=(\d+) i=(\d+)$",
    )
    .unwrap();
    for log in [LogName::Syncdeck, LogName::SyncJobs] {
        let (lines, file_sizes) = family(dir.path(), log);
        assert!(
            file_sizes.len() > 30,
            "{log:?}: many rotations expected: {file_sizes:?}"
        );
        for (name, size) in &file_sizes {
            assert!(*size <= max_bytes, "{name} is {size} B > {max_bytes}");
        }
        let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
        for line in &lines {
            let c = line_re
                .captures(line)
                .unwrap_or_else(|| panic!("{log:?}: broken line {line:?}"));
            let key = (c[3].parse().unwrap(), c[4].parse().unwrap());
            *seen.entry(key).or_default() += 1;
        }
        assert_eq!(
            seen.len(),
            THREADS * PER_THREAD,
            "{log:?}: every line present"
        );
        assert!(seen.values().all(|&n| n == 1), "{log:?}: a line repeated");
    }

    // errors.log keeps 2 rotations: at most 3 files, only ERROR lines, the
    // newest ones, none repeated.
    let (lines, file_sizes) = family(dir.path(), LogName::Errors);
    assert!(file_sizes.len() <= 3, "{file_sizes:?}");
    assert!(file_sizes.iter().all(|(_, s)| *s <= max_bytes));
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l.starts_with("[AUTO-SYNC] [ERROR]")));
    let unique: std::collections::HashSet<_> = lines.iter().collect();
    assert_eq!(unique.len(), lines.len());
    assert!(!dir.path().join("errors.log.3").exists());

    // Files not concerned stay empty.
    for log in [LogName::AutoSync, LogName::ChangesDetected] {
        let (lines, _) = family(dir.path(), log);
        assert!(lines.is_empty(), "{log:?}: {lines:?}");
    }
}

#[test]
fn routing_and_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::open(
        dir.path(),
        &LogSettings::default(),
        LogFormat::Json,
        FailureNotice::Stderr,
    )
    .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(files.layer()));
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(target: "changes", config = "copy", "3 changed");
        tracing::info!(target: "auto_sync", "no changes");
        tracing::warn!(target: "sync_jobs", job = 4, "attempt failed");
        tracing::error!(target: "syncdeck::engine::supervisor", "scheduler died \u{1b}[2J");
        tracing::info!(target: "syncdeck::sim::gate", "other");
    });
    let read = |n: LogName| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join(n.file_name()))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let messages = |n: LogName| -> Vec<String> {
        read(n)
            .iter()
            .map(|v| v["message"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(messages(LogName::Syncdeck).len(), 5);
    assert_eq!(messages(LogName::ChangesDetected), ["3 changed"]);
    assert_eq!(
        messages(LogName::AutoSync),
        ["3 changed", "no changes", "scheduler died \u{1b}[2J"]
    );
    assert_eq!(messages(LogName::SyncJobs), ["attempt failed"]);
    assert_eq!(messages(LogName::Errors), ["scheduler died \u{1b}[2J"]);
    let change = &read(LogName::ChangesDetected)[0];
    assert_eq!(change["level"], "INFO");
    assert_eq!(change["component"], "changes");
    assert_eq!(change["fields"]["config"], "copy");
    // No raw ESC byte in any file: JSON escapes it.
    for n in LogName::ALL {
        let bytes = std::fs::read(dir.path().join(n.file_name())).unwrap();
        assert!(!bytes.contains(&0x1b), "{n:?}");
    }
}

#[test]
fn clearing_through_the_writer_keeps_rotation_right() {
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::open(
        dir.path(),
        &settings(2048, 3, 3),
        LogFormat::Text,
        FailureNotice::Stderr,
    )
    .unwrap();
    let line = format!(
        "[AUTO-SYNC] [INFO] 2025-01-01 00:00:00 [t] - {}\n",
        "y".repeat(100)
    );
    for _ in 0..15 {
        files
            .write_record(LogName::Syncdeck, line.as_bytes())
            .unwrap();
    }
    files.clear(LogName::Syncdeck).unwrap();
    let path = dir.path().join("syncdeck.log");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    let rotated_before = std::fs::read(dir.path().join("syncdeck.log.1")).unwrap();
    // 10 more lines fit in 2048 B after the clear: no rotation.
    for _ in 0..10 {
        files
            .write_record(LogName::Syncdeck, line.as_bytes())
            .unwrap();
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        10 * line.len() as u64
    );
    assert_eq!(
        std::fs::read(dir.path().join("syncdeck.log.1")).unwrap(),
        rotated_before
    );
}
