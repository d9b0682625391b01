//! The engine end to end, through the real binary: `apply`, `trigger --wait`,
//! the `daemon`'s scheduler detecting and syncing changes, a daemon killed
//! mid-sync, flaky servers and bad credentials, on SQLite and PostgreSQL.
//! Success is judged by the simulators' digests (source = destination).

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::edits::digest_differences;
use common::{SimProcess, digest, http, sim_counter};

/// The real binary on one database, with the instances' passwords in its env.
struct Syncdeck {
    db: String,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Syncdeck {
    fn sqlite() -> Syncdeck {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("syncdeck.db").display().to_string();
        Syncdeck::with_db(db, dir)
    }

    fn with_db(db: String, dir: tempfile::TempDir) -> Syncdeck {
        Syncdeck {
            db,
            dir,
            env: vec![
                ("SD_SOURCE_PW".into(), common::PASSWORD.into()),
                ("SD_DEST_PW".into(), common::PASSWORD.into()),
            ],
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.arg("--db").arg(&self.db).args(args);
        c.env_remove("SYNCDECK_DB");
        c.env("XDG_DATA_HOME", self.dir.path());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects exit 0.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "syncdeck {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn daemon(&self, args: &[&str]) -> Child {
        let mut all = vec!["daemon"];
        all.extend_from_slice(args);
        self.command(&all)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Writes a config for `source` → `dest` and applies it.
    fn apply(&self, source: &SimProcess, dest: &SimProcess, auto: &str) {
        let path = self.dir.path().join("syncdeck.toml");
        std::fs::write(&path, common::copy_config(source, dest, "30m", auto)).unwrap();
        self.ok(&["apply", "-f", path.to_str().unwrap()]);
    }

    fn jobs(&self) -> Vec<Value> {
        self.json(&["jobs"]).as_array().unwrap().clone()
    }
}

async fn assert_same(source: &SimProcess, dest: &SimProcess, when: &str) {
    let differing = digest_differences(&digest(source).await, &digest(dest).await);
    assert!(differing.is_empty(), "{when}: {differing:#?}");
}

async fn mutate(sim: &SimProcess, rounds: u32) {
    let r = http()
        .post(sim.api(&format!("/api/_sim/mutate?rounds={rounds}")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Waits until `done(jobs)` or panics after `limit`.
fn wait_for_jobs(sd: &Syncdeck, limit: Duration, what: &str, done: impl Fn(&[Value]) -> bool) {
    let start = Instant::now();
    loop {
        let jobs = sd.jobs();
        if done(&jobs) {
            return;
        }
        assert!(start.elapsed() < limit, "{what}: jobs {jobs:#?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn stop(mut daemon: Child) {
    let pid = daemon.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = daemon.wait().unwrap();
    assert!(status.success(), "daemon exit after SIGTERM: {status}");
}

fn no_job_running(sd: &Syncdeck) {
    let jobs = sd.jobs();
    assert!(
        jobs.iter().all(|j| j["state"] != "running"),
        "a job is left running: {jobs:#?}"
    );
}

/// First sync by `trigger --wait`, then a change at the source found by the
/// daemon's scheduler and synced incrementally.
async fn first_then_incremental(sd: Syncdeck) {
    let source = SimProcess::start(&["--seed", "21"]);
    let dest = SimProcess::start(&["--empty"]);
    sd.apply(&source, &dest, "");

    let before_full = sim_counter(&source, "objectsReturned").await;
    let result = sd.json(&["trigger", "copy", "--wait"]);
    assert_eq!(result["job"]["state"], "completed", "{result:#}");
    let resources = result["resources"].as_array().unwrap();
    assert!(resources.len() > 20, "{resources:#?}");
    let values: u64 = resources
        .iter()
        .filter(|r| r["resource"].as_str().unwrap().starts_with("dataValues:"))
        .map(|r| r["synced"].as_u64().unwrap())
        .sum();
    assert_eq!(values, 10_000, "every data value synced once");
    assert_same(&source, &dest, "after the first sync").await;
    let after_full = sim_counter(&source, "objectsReturned").await;
    let full_objects = after_full - before_full;

    mutate(&source, 3).await;
    let daemon = sd.daemon(&["--first-check-within", "1s"]);
    wait_for_jobs(&sd, Duration::from_secs(120), "incremental sync", |jobs| {
        jobs.iter()
            .any(|j| j["kind"] == "incremental" && j["state"] == "completed")
    });
    stop(daemon);
    no_job_running(&sd);
    assert_same(&source, &dest, "after the incremental sync").await;
    let incremental_objects = sim_counter(&source, "objectsReturned").await - after_full;
    assert!(
        incremental_objects * 20 < full_objects,
        "the incremental run fetched {incremental_objects} objects, the full one {full_objects}"
    );
    let status = sd.ok(&["status", "copy"]);
    assert!(status.contains("initial sync done"), "{status}");
    let log = std::fs::read_to_string(sd.dir.path().join("syncdeck/logs/syncdeck.log")).unwrap();
    assert!(log.contains("[changes] - "), "detections are logged: {log}");
    assert!(log.contains("incremental sync queued"), "{log}");
    assert!(log.contains("job completed"), "{log}");
}

#[tokio::test]
async fn sqlite_first_sync_then_scheduler_detects_and_syncs_changes() {
    first_then_incremental(Syncdeck::sqlite()).await;
}

#[tokio::test]
async fn postgres_first_sync_then_scheduler_detects_and_syncs_changes() {
    let Some(db) = common::pg::database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    first_then_incremental(Syncdeck::with_db(db, dir)).await;
}

/// Waits until a running job has synced some data values.
fn wait_until_moving_data(sd: &Syncdeck) {
    let start = Instant::now();
    loop {
        let jobs = sd.jobs();
        let moving = jobs.iter().any(|j| {
            j["state"] == "running"
                && j["progress"]["current_resource"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("dataValues:"))
                && j["progress"]["synced"].as_u64().unwrap_or(0) > 0
        });
        if moving {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{jobs:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn sigterm_mid_sync_gives_the_job_back_and_stops_cleanly() {
    let source = SimProcess::start(&["--size", "medium", "--seed", "6", "--latency", "5ms"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let daemon = sd.daemon(&["--first-check-within", "1s"]);
    wait_until_moving_data(&sd);
    stop(daemon);
    let jobs = sd.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["state"], "queued", "given back: {jobs:#?}");
    assert_eq!(jobs[0]["attempt"], 0, "the interrupted run is not counted");
}

#[tokio::test]
async fn daemon_killed_mid_sync_resumes_and_counts_nothing_twice() {
    let source = SimProcess::start(&["--size", "medium", "--seed", "4", "--latency", "5ms"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let daemon = sd.daemon(&["--first-check-within", "1s", "--lease", "3s"]);
    wait_until_moving_data(&sd);
    let mut daemon = daemon;
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let jobs = sd.jobs();
    assert!(jobs.iter().any(|j| j["state"] == "running"), "{jobs:#?}");

    let daemon = sd.daemon(&["--first-check-within", "1s", "--lease", "3s"]);
    wait_for_jobs(&sd, Duration::from_secs(300), "resumed sync", |jobs| {
        jobs.iter()
            .any(|j| j["kind"] == "initial" && j["state"] == "completed")
    });
    stop(daemon);
    no_job_running(&sd);
    assert_same(&source, &dest, "after the resumed sync").await;

    let jobs = sd.jobs();
    let initial = jobs.iter().find(|j| j["kind"] == "initial").unwrap();
    assert_eq!(initial["attempt"], 2, "reclaimed once: {initial:#}");
    let id = initial["id"].as_i64().unwrap().to_string();
    let detail = sd.json(&["jobs", "show", &id]);
    let values = |field: &str| -> u64 {
        detail["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["resource"].as_str().unwrap().starts_with("dataValues:"))
            .map(|r| r[field].as_u64().unwrap())
            .sum()
    };
    let want = digest(&source).await["dataValues"]["count"]
        .as_u64()
        .unwrap();
    // The resource cut by the kill is counted by its second run only; values
    // it had already written come back as unchanged, hence synced <= processed.
    assert_eq!(values("processed"), want, "each data value counted once");
    assert!(values("synced") <= want);
}

#[tokio::test]
async fn flaky_servers_complete_through_retries() {
    let flaky = ["--fail-rate", "0.1", "--latency", "20ms"];
    let source = SimProcess::start(&[&flaky[..], &["--seed", "8"]].concat());
    let dest = SimProcess::start(&[&flaky[..], &["--empty"]].concat());
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let result = sd.json(&["trigger", "copy", "--wait"]);
    assert_eq!(result["job"]["state"], "completed", "{result:#}");
    assert_same(&source, &dest, "through flaky servers").await;
}

/// A source that hangs and stalls some requests, with its deadlines set to
/// 1 s in the TOML: the job completes through in-process retries (never a
/// whole-job retry), and each timeout is announced on `trigger --wait`'s stderr.
#[tokio::test]
async fn hung_requests_cost_the_instance_timeouts_and_are_announced() {
    let source = SimProcess::start(&["--seed", "3", "--hang-rate", "0.03", "--stall-rate", "0.03"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    let config = common::copy_config(&source, &dest, "30m", "").replacen(
        "password_env = \"SD_SOURCE_PW\"\n",
        "password_env = \"SD_SOURCE_PW\"\nfirst_byte_timeout = \"1s\"\nidle_timeout = \"1s\"\n",
        1,
    );
    let path = sd.dir.path().join("syncdeck.toml");
    std::fs::write(&path, config).unwrap();
    sd.ok(&["apply", "-f", path.to_str().unwrap()]);
    assert!(sd.ok(&["export"]).contains("first_byte_timeout = \"1s\""));

    let started = std::time::Instant::now();
    let out = sd.run(&["trigger", "copy", "--wait", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(result["job"]["state"], "completed", "{result:#}\n{stderr}");
    assert_eq!(
        result["job"]["attempt"], 1,
        "no whole-job retry: {result:#}"
    );
    let stats: Value = common::http()
        .get(source.api("/api/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let faults = &stats["faultsInjected"];
    println!(
        "completed in {:.1} s through {faults} injected faults",
        started.elapsed().as_secs_f64()
    );
    assert!(
        faults["hang"].as_u64() > Some(0) && faults["stall"].as_u64() > Some(0),
        "no hang or stall injected: {faults}"
    );
    let announced: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("sync_jobs") && l.contains("timed out after 1 s, retrying"))
        .collect();
    println!("{}", announced.join("\n"));
    assert!(!announced.is_empty(), "no timeout announced:\n{stderr}");
    assert!(
        announced.iter().any(|l| l.contains("resource=")),
        "a retry within a resource names it: {announced:#?}"
    );
    // URLs are shown without their query strings.
    assert!(announced.iter().all(|l| !l.contains('?')), "{announced:#?}");
    assert!(!stderr.contains(common::PASSWORD));
    assert_same(&source, &dest, "through hangs and stalls").await;
}

#[tokio::test]
async fn bad_credentials_fail_once_without_retry() {
    let source = SimProcess::start(&["--seed", "9"]);
    let dest = SimProcess::start(&["--empty"]);
    let mut sd = Syncdeck::sqlite();
    sd.env[1].1 = "wrong-password-123".into();
    sd.apply(&source, &dest, "");
    let before = sim_counter(&dest, "requests").await;
    let out = sd.run(&["trigger", "copy", "--wait", "--json"]);
    assert!(!out.status.success(), "exit 1 when the job failed");
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = &result["job"];
    assert_eq!(job["state"], "failed", "{job:#}");
    assert_eq!(job["attempt"], 1, "no retry: {job:#}");
    assert_eq!(job["error_kind"], "auth");
    let error = job["last_error"].as_str().unwrap();
    assert!(!error.contains("wrong-password-123"), "{error}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-password-123"));
    let requests = sim_counter(&dest, "requests").await - before;
    assert!(requests <= 2, "one login attempt, not a storm: {requests}");
    let failed = sd.json(&["jobs", "--failed"]);
    assert_eq!(failed.as_array().unwrap().len(), 1);
}
