//! The real daemon logging onto a real full file system (a 64 KiB tmpfs
//! filled to the last page), then space freed: no line split or glued in
//! any file, one message on stderr, and every lost record accounted for by
//! an "N log records lost" line in the file that lost it.
//!
//! Mounting needs root (CI) or an unprivileged user + mount namespace
//! (`unshare --user --map-root-user --mount`, into which the test re-runs
//! itself). When neither works it prints "full-disk log test DID NOT RUN"
//! and passes, unless `SYNCDECK_REQUIRE_TMPFS=1` (set by CI) makes that a
//! failure.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// This test's full name in the `it` binary, for `--exact`.
const TEST: &str =
    "logs_full_disk::full_disk_loses_whole_records_says_so_once_and_counts_every_loss";
/// Set in the copy of this test that runs inside a user namespace.
const IN_NAMESPACE: &str = "SYNCDECK_TEST_IN_USERNS";
/// Jobs run while the disk is full: each logs ~400 B to syncdeck.log and
/// sync_jobs.log, so together they cross the slack of the files' last
/// pages and some writes come back short (what split lines before).
const DURING: u64 = 15;
const AFTER: u64 = 3;

/// A tmpfs mounted on `path`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            Ok(Tmpfs(path.to_path_buf()))
        } else {
            Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon left running by a failed assertion cannot keep it.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Runs this test again inside a new user + mount namespace, where we are
/// root and may mount. `Err` when no namespace could be had.
fn rerun_in_user_namespace() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount"])
        .arg(exe)
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(IN_NAMESPACE, "1")
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stdout.contains("test result: ok. 1 passed") {
        return Ok(());
    }
    if stdout.contains("running 1 test") {
        panic!("the test failed in its user namespace:\n{stdout}\n{stderr}");
    }
    Err(format!("unshare failed: {}", stderr.trim()))
}

fn did_not_run(why: &str) {
    eprintln!("\n*** full-disk log test DID NOT RUN: {why} ***\n");
    assert!(
        std::env::var("SYNCDECK_REQUIRE_TMPFS").as_deref() != Ok("1"),
        "SYNCDECK_REQUIRE_TMPFS=1 and no tmpfs could be mounted: {why}"
    );
}

struct Env {
    dir: tempfile::TempDir,
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
            .env_remove("SD_UNSET_PW")
            .env("XDG_DATA_HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"));
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

    fn failed_jobs(&self) -> u64 {
        let jobs: Value = serde_json::from_str(&self.ok(&["jobs", "--failed", "--json"])).unwrap();
        jobs.as_array().unwrap().len() as u64
    }

    /// Queues `n` syncs and waits until `total` jobs have failed.
    fn run_jobs(&self, n: u64, total: u64) {
        for _ in 0..n {
            self.ok(&["trigger", "copy"]);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.failed_jobs() < total {
            assert!(Instant::now() < deadline, "jobs did not fail in time");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Fills the file system of `dir` to its last page.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut filler = File::create(&path).unwrap();
    let chunk = [b'f'; 4096];
    loop {
        match filler.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    // Full indeed: a new file cannot take a single byte.
    let probe = dir.join("probe");
    let e = std::fs::write(&probe, b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
    let _ = std::fs::remove_file(probe);
    path
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

#[test]
fn full_disk_loses_whole_records_says_so_once_and_counts_every_loss() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::create_dir(env.logs()).unwrap();
    let tmpfs = match Tmpfs::mount(&env.logs(), "64k") {
        Ok(t) => t,
        Err(why) if std::env::var_os(IN_NAMESPACE).is_none() => {
            match rerun_in_user_namespace() {
                Ok(()) => eprintln!("({why}; ran in a user namespace instead)"),
                Err(also) => did_not_run(&format!("{why}; {also}")),
            }
            return;
        }
        Err(why) => panic!("in the user namespace: {why}"),
    };

    // Every job fails at once and logs the same lines: its secret is not set.
    let toml = env.dir.path().join("sync.toml");
    std::fs::write(
        &toml,
        r#"
[[instance]]
name = "source"
url = "http://127.0.0.1:9"
username = "admin"
password_env = "SD_UNSET_PW"

[[instance]]
name = "destination"
url = "http://127.0.0.1:9/dest"
username = "admin"
password_env = "SD_UNSET_PW"

[[sync]]
name = "copy"
source = "source"
destination = "destination"
mode = "manual"
"#,
    )
    .unwrap();
    env.ok(&["apply", "-f", toml.to_str().unwrap()]);
    let stderr_path = env.dir.path().join("daemon.stderr");
    let daemon = env
        .command(&["daemon", "--logs"])
        .arg(env.logs())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(env.logs().join("syncdeck.log"))
        .unwrap_or_default()
        .contains("daemon started")
    {
        assert!(started.elapsed() < Duration::from_secs(30), "no daemon");
        std::thread::sleep(Duration::from_millis(100));
    }

    let filler = fill(&env.logs());
    env.run_jobs(DURING, DURING);
    std::fs::remove_file(filler).unwrap();
    env.run_jobs(AFTER, DURING + AFTER);
    stop(daemon);

    let line = regex::Regex::new(
        r"^\[AUTO-SYNC\] \[(INFO|WARN|ERROR)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d \[[a-z_:]+\] - .+$",
    )
    .unwrap();
    let notice = regex::Regex::new(&format!(
        r"\[logs\] - (\d+) log records? lost while {} was not writable: No space left on device",
        regex::escape(&env.logs().canonicalize().unwrap().display().to_string())
    ))
    .unwrap();
    let job = regex::Regex::new(r" job=(\d+) ").unwrap();
    let mut lost_in_all = 0;
    for name in ["syncdeck.log", "errors.log", "sync_jobs.log"] {
        let text = std::fs::read_to_string(env.logs().join(name)).unwrap();
        assert!(text.ends_with('\n'), "{name} ends mid-line");
        let mut per_job: BTreeMap<u64, u64> = BTreeMap::new();
        let mut lost = 0;
        for l in text.lines() {
            // Split or glued records fail one of these.
            assert!(line.is_match(l), "{name}: {l:?}");
            assert_eq!(l.matches("[AUTO-SYNC]").count(), 1, "{name}: {l:?}");
            if let Some(c) = notice.captures(l) {
                lost += c[1].parse::<u64>().unwrap();
            } else if let Some(c) = job.captures(l) {
                *per_job.entry(c[1].parse().unwrap()).or_default() += 1;
            }
        }
        // Jobs after the outage show how many lines a job writes here.
        let after: Vec<u64> = (DURING + 1..=DURING + AFTER)
            .map(|id| per_job.get(&id).copied().unwrap_or(0))
            .collect();
        assert!(
            after[0] > 0 && after.iter().all(|&n| n == after[0]),
            "{name}: {after:?}\n{text}"
        );
        let kept: u64 = (1..=DURING)
            .map(|id| per_job.get(&id).copied().unwrap_or(0))
            .sum();
        assert_eq!(
            kept + lost,
            after[0] * DURING,
            "{name}: every record of the outage is either in the file or counted as lost\n{text}"
        );
        eprintln!("{name}: {kept} records of the outage kept, {lost} lost and counted");
        lost_in_all += lost;
    }
    assert!(lost_in_all > 0, "the disk was full: some records were lost");

    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot write the log file"))
        .collect();
    assert_eq!(said.len(), 1, "said once on stderr:\n{stderr}");
    assert!(
        said[0].contains(&env.logs().canonicalize().unwrap().display().to_string())
            && said[0].contains("No space left on device"),
        "names the file and the error: {}",
        said[0]
    );
    drop(tmpfs);
}
