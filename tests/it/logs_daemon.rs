//! The real daemon writing the five files during real syncs between two
//! simulators: each file gets its share, rotation settings come from the
//! local settings file, `logs clear` from another process is honoured, and
//! no password (wrong or right) ends up in any file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use crate::common::SimProcess;
use serde_json::Value;

const WRONG: &str = "wrong-Pa55word-7f3k";

struct Env {
    dir: tempfile::TempDir,
    dest_password: String,
}

impl Env {
    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.arg("--db")
            .arg(self.dir.path().join("syncdeck.db"))
            .args(args)
            .env_remove("SYNCDECK_DB")
            .env_remove("SYNCDECK_LOG")
            .env("XDG_DATA_HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("SD_SOURCE_PW", common::PASSWORD)
            .env("SD_DEST_PW", &self.dest_password);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn daemon(&self) -> Child {
        self.command(&["daemon", "--first-check-within", "1s", "--logs"])
            .arg(self.logs())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Waits until `n` jobs are in `state`.
    fn wait_for_jobs(&self, state: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let jobs: Value = serde_json::from_str(&self.ok(&["jobs", "--json"])).unwrap();
            let count = jobs
                .as_array()
                .unwrap()
                .iter()
                .filter(|j| j["state"] == state)
                .count();
            if count >= n {
                return;
            }
            assert!(Instant::now() < deadline, "no {state} job: {jobs:#}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn stop(mut daemon: Child) {
    let pid = daemon.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(daemon.wait().unwrap().success());
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn daemon_writes_five_files_without_secrets_and_honours_an_outside_clear() {
    let source = SimProcess::start(&["--seed", "5"]);
    let dest = SimProcess::start(&["--empty"]);
    let mut env = Env {
        dir: tempfile::tempdir().unwrap(),
        dest_password: WRONG.into(),
    };
    let settings_dir = env.dir.path().join("config/syncdeck");
    std::fs::create_dir_all(&settings_dir).unwrap();
    // A broken settings file stops the daemon with FILE:LINE:COL.
    std::fs::write(
        settings_dir.join("syncdeck.toml"),
        "[logs]\nerrors = { max_size = \"lots\" }\n",
    )
    .unwrap();
    let out = env.daemon().wait_with_output().unwrap();
    assert!(!out.status.success());
    let out = env
        .command(&["daemon", "--logs"])
        .arg(env.logs())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("syncdeck.toml:2:"), "{err}");
    assert!(err.contains("\"10MB\""), "says what to write: {err}");
    std::fs::write(
        settings_dir.join("syncdeck.toml"),
        "[logs]\nerrors = { max_size = \"64KB\", keep = 2 }\n",
    )
    .unwrap();

    let toml = env.dir.path().join("sync.toml");
    std::fs::write(&toml, common::copy_config(&source, &dest, "0s", "")).unwrap();
    env.ok(&["apply", "-f", toml.to_str().unwrap()]);

    // 1. The destination refuses the password: an auth failure.
    let daemon = env.daemon();
    env.wait_for_jobs("failed", 1);
    stop(daemon);

    // 2. The right password: the initial sync, then a change at the source
    //    detected by the scheduler and synced.
    env.dest_password = common::PASSWORD.into();
    let daemon = env.daemon();
    env.wait_for_jobs("completed", 1);
    stop(daemon);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let r = common::http()
            .post(source.api("/api/_sim/mutate?rounds=2"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    });
    let daemon = env.daemon();
    env.wait_for_jobs("completed", 2);

    // 3. Cleared from another process while the daemon writes.
    let logs = env.logs();
    let cleared = env
        .command(&["logs", "clear", "sync_jobs.log", "--yes", "--logs"])
        .arg(&logs)
        .output()
        .unwrap();
    assert!(cleared.status.success(), "{cleared:?}");
    env.ok(&["trigger", "copy"]);
    env.wait_for_jobs("completed", 3);
    stop(daemon);

    let syncdeck = read(&logs, "syncdeck.log");
    let errors = read(&logs, "errors.log");
    let auto_sync = read(&logs, "auto_sync.log");
    let changes = read(&logs, "changes_detected.log");
    let jobs = read(&logs, "sync_jobs.log");
    let line = regex::Regex::new(
        // Local time with its offset: one zone, and it is shown.
        r"^\[AUTO-SYNC\] \[(INFO|WARN|ERROR)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d \[[a-z_:]+\] - .+$",
    )
    .unwrap();
    for (name, text) in [
        ("syncdeck.log", &syncdeck),
        ("errors.log", &errors),
        ("auto_sync.log", &auto_sync),
        ("changes_detected.log", &changes),
        ("sync_jobs.log", &jobs),
    ] {
        assert!(!text.is_empty(), "{name} is empty");
        for l in text.lines() {
            assert!(line.is_match(l), "{name}: {l:?}");
        }
        for secret in [WRONG, common::PASSWORD, "YWRtaW46ZGlzdHJpY3Q", "d2FkbWlu"] {
            assert!(!text.contains(secret), "{name} holds a secret: {secret}");
        }
        assert!(!text.contains('\u{1b}') && !text.contains('\0'), "{name}");
        // Fields are written as values, not as Rust's Debug of an Option.
        assert!(
            !text.contains("Some(") && !text.contains("=None"),
            "{name}: {text}"
        );
    }
    let started = jobs
        .lines()
        .find(|l| l.contains("job started"))
        .unwrap_or_else(|| panic!("no job started line: {jobs}"));
    assert!(
        regex::Regex::new(r" config_id=\d+ ")
            .unwrap()
            .is_match(started),
        "{started}"
    );
    let offset = chrono::Local::now().format("%:z").to_string();
    assert!(
        started.contains(&format!("{offset} [sync_jobs]")),
        "{started}"
    );
    assert!(errors.lines().all(|l| l.starts_with("[AUTO-SYNC] [ERROR]")));
    assert!(errors.contains("job failed (auth)"), "{errors}");
    assert!(
        changes.lines().all(|l| l.contains("[changes] - ")),
        "{changes}"
    );
    assert!(auto_sync.contains("sync queued"), "{auto_sync}");
    assert!(auto_sync.contains("[changes] - "), "{auto_sync}");
    assert!(!auto_sync.contains("job completed"), "{auto_sync}");
    assert!(syncdeck.contains("job failed (auth)") && syncdeck.contains("job completed"));
    // After the outside clear, sync_jobs.log holds only the later job, from
    // its first byte (no NUL hole, no premature rotation).
    assert!(jobs.starts_with("[AUTO-SYNC] [INFO]"), "{jobs}");
    assert!(!jobs.contains("(auth)"), "{jobs}");
    assert!(!logs.join("sync_jobs.log.1").exists());
}
