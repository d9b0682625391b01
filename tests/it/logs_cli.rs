//! `syncdeck logs` through the real binary: human and JSON output, and
//! attacks on the file selection (traversal, absolute paths, symlinks, odd
//! names) and on the terminal (escape sequences inside log lines).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use syncdeck::logs::{LogCatalog, SelectError};

fn logs(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .arg("logs")
        .args(args)
        .arg("--logs")
        .arg(dir)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = logs(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = logs(dir, args);
    assert_eq!(out.status.code(), Some(2), "{args:?} must exit 2: {out:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

const HOSTILE: &str = "[AUTO-SYNC] [ERROR] 2025-03-04 05:06:07 [sync_jobs] - name \u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}]8;;http://evil\u{1b}\\x\u{9b}31m\tend\n";

fn sample_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("syncdeck.log"),
        "[AUTO-SYNC] [INFO] 2025-03-04 05:06:00 [changes] - 3 changed config=copy\n\
         [AUTO-SYNC] [WARN] 2025-03-04 05:06:01 [sync_jobs] - attempt failed: connection refused\n\
         [AUTO-SYNC] [INFO] 2025-03-04 05:06:02 [sync_jobs] - job completed job=1\n",
    )
    .unwrap();
    std::fs::write(
        p.join("syncdeck.log.1"),
        "[AUTO-SYNC] [ERROR] 2025-03-03 00:00:00 [sync_jobs] - job failed: connection refused\n",
    )
    .unwrap();
    std::fs::write(p.join("errors.log"), HOSTILE).unwrap();
    std::fs::write(p.join("notes.txt"), "connection refused\n").unwrap();
    std::fs::write(p.join("syncdeck.log.bak"), "connection refused\n").unwrap();
    dir
}

#[test]
fn list_view_search_human_and_json() {
    let dir = sample_dir();
    let p = dir.path();
    let list = ok(p, &["list"]);
    assert!(list.starts_with("NAME"), "{list}");
    assert!(list.contains("syncdeck.log.1"), "{list}");
    assert!(
        !list.contains("notes.txt") && !list.contains(".bak"),
        "{list}"
    );
    let json: Value = serde_json::from_str(&ok(p, &["list", "--json"])).unwrap();
    let names: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["syncdeck.log", "errors.log", "syncdeck.log.1"]);
    let size = std::fs::metadata(p.join("syncdeck.log")).unwrap().len();
    assert_eq!(json["files"][0]["size"], size);

    let view = ok(p, &["view", "syncdeck.log", "--lines", "2"]);
    assert_eq!(view.lines().count(), 2);
    assert!(view.starts_with("[AUTO-SYNC] [WARN]"), "{view}");
    let warn = ok(p, &["view", "syncdeck.log", "--level", "warn"]);
    assert_eq!(warn.lines().count(), 1, "{warn}");
    let json: Value =
        serde_json::from_str(&ok(p, &["view", "syncdeck.log", "--json", "--lines", "1"])).unwrap();
    assert_eq!(json["lines"][0]["level"], "INFO");

    let found = ok(p, &["search", "connection refused"]);
    assert!(
        found.contains("syncdeck.log:2: [AUTO-SYNC] [WARN]"),
        "{found}"
    );
    assert!(found.contains("syncdeck.log.1:1:"), "{found}");
    assert!(found.ends_with("2 matching lines in 3 files\n"), "{found}");
    let json: Value = serde_json::from_str(&ok(
        p,
        &[
            "search",
            "REFUSED|completed",
            "--regex",
            "-i",
            "--files",
            "syncdeck.log",
            "--level",
            "info",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(json["count"], 2);
    assert_eq!(json["matches"][1]["line"], 3);
    assert_eq!(json["files"], serde_json::json!(["syncdeck.log"]));
    let bad = refused(p, &["search", "(", "--regex"]);
    assert!(bad.contains("invalid regular expression"), "{bad}");
}

#[test]
fn escape_sequences_in_log_lines_are_printed_inert() {
    let dir = sample_dir();
    let expected = "[AUTO-SYNC] [ERROR] 2025-03-04 05:06:07 [sync_jobs] - name \\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{1b}]8;;http://evil\\u{1b}\\x\\u{9b}31m   end\n";
    for args in [
        &["view", "errors.log"][..],
        &["view", "errors.log", "--json"][..],
        &["search", "owned"][..],
    ] {
        let out = ok(dir.path(), args);
        assert!(
            !out.bytes().any(|b| b == 0x1b || b == 0x07),
            "{args:?}: raw control bytes in {out:?}"
        );
        assert!(!out.contains('\u{9b}'), "{args:?}: C1 CSI in {out:?}");
    }
    assert_eq!(ok(dir.path(), &["view", "errors.log"]), expected);
}

#[test]
fn traversal_absolute_paths_symlinks_and_odd_names_are_refused() {
    let dir = sample_dir();
    let p = dir.path();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "do not read or clear\n").unwrap();
    std::os::unix::fs::symlink(&secret, p.join("auto_sync.log")).unwrap();
    std::os::unix::fs::symlink(&secret, p.join("sync_jobs.log.2")).unwrap();
    let secret_path = secret.to_str().unwrap().to_string();

    for action in ["view", "clear"] {
        let cases: Vec<(&str, &str)> = vec![
            ("../secret", "not a log name"),
            ("../../etc/passwd", "not a log name"),
            (secret_path.as_str(), "not a log name"),
            ("/etc/passwd", "not a log name"),
            ("./syncdeck.log", "not a log name"),
            ("syncdeck.log/", "not a log name"),
            ("..", "not a log name"),
            ("syncdeck.log\n", "not a log name"),
            ("", "not a log name"),
            ("notes.txt", "unknown log file"),
            ("syncdeck.log.bak", "unknown log file"),
            ("syncdeck.log.0", "unknown log file"),
            ("syncdeck.log.01", "unknown log file"),
            ("syncdeck.log.1.gz", "unknown log file"),
            (" syncdeck.log", "unknown log file"),
            ("SYNCDECK.LOG", "unknown log file"),
            ("syncdeck.log%2e%2e", "unknown log file"),
            ("auto_sync.log", "symbolic link"),
            ("sync_jobs.log.2", "symbolic link"),
            ("changes_detected.log", "does not exist"),
        ];
        for (name, why) in cases {
            let mut args = vec![action, name];
            if action == "clear" {
                args.push("--yes");
            }
            let err = refused(p, &args);
            assert!(err.contains(why), "{action} {name:?}: {err}");
            assert!(err.starts_with("error: "), "{err}");
        }
    }
    let err = refused(p, &["search", "x", "--files", "syncdeck.log,../secret"]);
    assert!(err.contains("not a log name"), "{err}");
    let err = refused(p, &["view", "auto_sync.log", "--follow"]);
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "do not read or clear\n"
    );
    // Search over all files does not follow the symlinks either.
    let all = ok(p, &["search", "do not read"]);
    assert!(all.starts_with("0 matching lines"), "{all}");

    // NUL bytes cannot travel in argv; the library refuses them too.
    let catalog = LogCatalog::new(p);
    for name in ["syncdeck.log\0", "syncdeck.log\0../../etc/passwd", "\0"] {
        assert!(matches!(
            catalog.select(name),
            Err(SelectError::NotAName(_))
        ));
    }
}

#[test]
fn clear_needs_yes_and_keeps_rotations() {
    let dir = sample_dir();
    let p = dir.path();
    let err = refused(p, &["clear", "syncdeck.log"]);
    assert!(err.contains("--yes"), "{err}");
    assert!(
        err.contains("syncdeck.log"),
        "the prompt names the file: {err}"
    );
    let err = refused(p, &["clear", "syncdeck.log.1", "--yes"]);
    assert!(err.contains("only active files"), "{err}");
    let out = ok(p, &["clear", "syncdeck.log", "--yes", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cleared"], "syncdeck.log");
    assert_eq!(std::fs::metadata(p.join("syncdeck.log")).unwrap().len(), 0);
    assert!(std::fs::metadata(p.join("syncdeck.log.1")).unwrap().len() > 0);
}
