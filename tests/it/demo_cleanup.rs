//! `syncdeck demo` leaves no temporary directory behind, however it ends:
//! SIGTERM or SIGINT during a sync, quitting the console during a sync, an
//! error. Each run gets a TMPDIR of its own, which must be empty after.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::tmux::{self, Tmux};

const WAIT: Duration = Duration::from_secs(90);

fn demo(tmp: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
    c.arg("demo")
        .args(args)
        .env("TMPDIR", tmp)
        .env("XDG_DATA_HOME", tmp.join("../data"))
        .env("XDG_CONFIG_HOME", tmp.join("../config"))
        .env_remove("SYNCDECK_DB");
    c
}

/// What is left in `tmp`.
fn left_in(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// The demo's database, once its directory exists.
fn demo_db(tmp: &Path) -> Option<PathBuf> {
    left_in(tmp)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("syncdeck-demo-"))
        })
        .map(|p| p.join("demo.db"))
        .find(|db| db.exists())
}

/// Waits until a job of the demo is running (read from its own database by
/// another process, as any `syncdeck jobs` would).
fn wait_for_a_running_sync(tmp: &Path) {
    let start = Instant::now();
    loop {
        if let Some(db) = demo_db(tmp) {
            let out = Command::new(env!("CARGO_BIN_EXE_syncdeck"))
                .arg("--db")
                .arg(&db)
                .args(["jobs", "--json"])
                .output()
                .unwrap();
            if let Ok(jobs) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
                && jobs
                    .as_array()
                    .is_some_and(|j| j.iter().any(|j| j["state"] == "running"))
            {
                return;
            }
        }
        assert!(start.elapsed() < WAIT, "no sync ran: {:?}", left_in(tmp));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("the demo did not stop");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal_during_a_sync(signal: &str) {
    let home = tempfile::tempdir().unwrap();
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut child = demo(
        &tmp,
        &[
            "--headless",
            "--for",
            "10m",
            "--size",
            "small",
            "--latency",
            "150ms",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_a_running_sync(&tmp);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_exit(&mut child);
    assert!(status.success(), "demo after {signal}: {status}");
    assert_eq!(
        left_in(&tmp),
        Vec::<PathBuf>::new(),
        "left behind after {signal}"
    );
}

#[test]
fn sigterm_during_a_sync_leaves_no_temporary_directory() {
    signal_during_a_sync("-TERM");
}

#[test]
fn sigint_during_a_sync_leaves_no_temporary_directory() {
    signal_during_a_sync("-INT");
}

#[test]
fn an_error_leaves_no_temporary_directory() {
    // The console cannot start without a terminal: the demo fails after its
    // servers, database and log directory exist.
    let home = tempfile::tempdir().unwrap();
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = demo(&tmp, &["--size", "small"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "no terminal: an error");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert_eq!(left_in(&tmp), Vec::<PathBuf>::new());
}

#[test]
fn quitting_the_console_during_a_sync_leaves_no_temporary_directory() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let bin = env!("CARGO_BIN_EXE_syncdeck");
    let cmd = format!(
        "TMPDIR='{}' '{bin}' demo --size small --latency 150ms; echo \"syncdeck exited with $?\"; sleep 120",
        tmp.display()
    );
    let t = Tmux::start(&cmd, 120, 40, home.path(), &[]);
    wait_for_a_running_sync(&tmp);
    t.keys(&["q"]);
    // A console that asks before quitting while syncs run gets its yes.
    let start = Instant::now();
    while !t.screen().contains("syncdeck exited with") {
        if start.elapsed() > Duration::from_secs(3) {
            t.keys(&["y"]);
        }
        assert!(
            start.elapsed() < WAIT,
            "the console did not quit:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        t.screen().contains("syncdeck exited with 0"),
        "{}",
        t.screen()
    );
    assert_eq!(left_in(&tmp), Vec::<PathBuf>::new());
}
