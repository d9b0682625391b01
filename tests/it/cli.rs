//! The CLI as a user meets it: output into a closed pipe, empty states, help,
//! `init`. Each test drives the real binary on a database of its own.

use std::process::Stdio;

use crate::common::binary::Syncdeck;
use crate::common::copy_config_between;

/// A database with one config (its servers are closed ports: nothing here
/// talks to them) and one queued job, so that every listing has rows.
fn with_a_config_and_a_job() -> Syncdeck {
    let sd = Syncdeck::sqlite();
    let path = sd.dir.path().join("syncdeck.toml");
    let text = copy_config_between("http://127.0.0.1:9", "http://127.0.0.1:9", "30m", "");
    std::fs::write(&path, text).unwrap();
    sd.ok(&["apply", "-f", path.to_str().unwrap()]);
    sd.ok(&["trigger", "copy"]);
    // A log file for `logs list` / `logs view` to show.
    let logs = sd.dir.path().join("syncdeck/logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("sync_jobs.log"),
        "[AUTO-SYNC] [INFO] line one\n".repeat(50),
    )
    .unwrap();
    sd
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly_with_exit_0() {
    let sd = with_a_config_and_a_job();
    let commands: &[&[&str]] = &[
        &["list"],
        &["status"],
        &["status", "copy"],
        &["jobs"],
        &["jobs", "show", "1"],
        &["jobs", "show", "1", "--rejections"],
        &["export"],
        &["logs", "list"],
        &["logs", "view", "sync_jobs.log"],
        &["logs", "search", "line"],
        &["--help"],
        &["list", "--json"],
        &["status", "--json"],
        &["jobs", "--json"],
        &["export", "--json"],
    ];
    for args in commands {
        // The reading end is closed before the process starts: its first
        // write fails with EPIPE, whatever the timing.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = sd
            .command(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "syncdeck {args:?} panicked on a closed pipe: {stderr}"
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "syncdeck {args:?} on a closed pipe: {stderr}"
        );
        assert!(stderr.trim().is_empty(), "syncdeck {args:?} said: {stderr}");
    }
}
