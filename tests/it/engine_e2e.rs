//! The engine end to end, through the real binary: `apply`, `trigger --wait`,
//! the `daemon`'s scheduler detecting and syncing changes, a daemon killed
//! mid-sync, flaky servers and bad credentials, on SQLite and PostgreSQL.
//! Success is judged by the simulators' digests (source = destination).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::common::binary::{Daemon, Syncdeck};
use crate::common::edits::digest_differences;
use crate::common::{SimProcess, digest, http, sim_counter};

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

fn stop(mut daemon: Daemon) {
    let pid = daemon.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = daemon.0.wait().unwrap();
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
    kill(daemon);
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

/// Waits for a running job of the jobs list whose current resource starts
/// with one of `prefixes`; returns its id.
fn wait_until_running_in(sd: &Syncdeck, prefixes: &[&str]) -> i64 {
    let start = Instant::now();
    loop {
        let jobs = sd.jobs();
        let found = jobs.iter().find(|j| {
            j["state"] == "running"
                && j["progress"]["current_resource"]
                    .as_str()
                    .is_some_and(|r| prefixes.iter().any(|p| r.starts_with(p)))
        });
        if let Some(job) = found {
            return job["id"].as_i64().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no job running in {prefixes:?}: {jobs:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the running job's current resource (one starting with
/// `prefix`) has stored some objects of its own: a cut after that point
/// leaves objects at the destination that the next attempt finds unchanged.
fn wait_until_resource_moved(sd: &Syncdeck, prefix: &str) -> i64 {
    let start = Instant::now();
    loop {
        for job in sd.jobs().iter().filter(|j| j["state"] == "running") {
            let id = job["id"].as_i64().unwrap();
            let detail = sd.json(&["jobs", "show", &id.to_string()]);
            let moved = detail["resources"].as_array().unwrap().iter().any(|r| {
                r["status"] == "running"
                    && r["resource"].as_str().unwrap().starts_with(prefix)
                    && r["processed"].as_u64().unwrap_or(0) > 0
            });
            if moved {
                return id;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no {prefix} resource moved"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(mut daemon: Daemon) {
    daemon.0.kill().unwrap();
    daemon.0.wait().unwrap();
}

fn job_by_id(sd: &Syncdeck, id: i64) -> Value {
    sd.jobs()
        .into_iter()
        .find(|j| j["id"].as_i64() == Some(id))
        .unwrap_or_else(|| panic!("job {id} is gone"))
}

/// Deletion passes look at objects rather than move them: not comparable
/// with the source's counts.
fn is_deletion_pass(key: &str) -> bool {
    key.starts_with("trackerDeletions:") || key == "metadataDeletions"
}

/// The job's counts add up (the job is the sum of its resources, nothing
/// processed beyond what was expected), and, for a first sync into an empty
/// destination, each resource counted each source object exactly once.
async fn assert_counts(sd: &Syncdeck, id: i64, source: &SimProcess, first_sync: bool) {
    let detail = sd.json(&["jobs", "show", &id.to_string()]);
    let job = &detail["job"];
    let resources = detail["resources"].as_array().unwrap();
    let sum = |field: &str| -> u64 { resources.iter().map(|r| r[field].as_u64().unwrap()).sum() };
    let progress = &job["progress"];
    for field in ["processed", "synced", "errors"] {
        assert_eq!(
            progress[field].as_u64().unwrap(),
            sum(field),
            "job {field}: {detail:#}"
        );
    }
    let expected = progress["expected"].as_u64().unwrap();
    assert!(
        sum("processed") <= expected,
        "processed > expected: {detail:#}"
    );
    assert!(
        job["last_error"].is_null(),
        "completed with an old error: {job:#}"
    );
    if !first_sync {
        return;
    }
    let counts = &digest(source).await;
    let count = |name: &str| {
        counts[name]["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("the source's digest has no {name}: {counts:#}"))
    };
    let mut by_kind: std::collections::BTreeMap<&str, u64> = Default::default();
    for r in resources {
        let key = r["resource"].as_str().unwrap();
        let (processed, synced) = (
            r["processed"].as_u64().unwrap(),
            r["synced"].as_u64().unwrap(),
        );
        assert_eq!(r["status"], "done", "{r:#}");
        assert_eq!(r["errors"], 0, "{r:#}");
        assert!(processed <= r["total"].as_u64().unwrap(), "{r:#}");
        if is_deletion_pass(key) {
            continue;
        }
        assert_eq!(
            synced, processed,
            "every object reached the empty destination once: {r:#}"
        );
        if let Some(types) = key.strip_prefix("metadata:") {
            // A type of /api/schemas the simulator holds nothing of is not
            // in its digest: its list is empty.
            let want: u64 = types
                .split('+')
                .map(|t| if counts.get(t).is_some() { count(t) } else { 0 })
                .sum();
            assert_eq!(processed, want, "{key}: {r:#}");
        } else {
            let kind = key.split(':').next().unwrap();
            *by_kind.entry(kind).or_default() += processed;
        }
    }
    for (kind, processed) in by_kind {
        assert_eq!(processed, count(kind), "{kind}: {resources:#?}");
    }
}

/// SIGKILL of the daemon at each stage of a sync, then a restart: at
/// metadata, at tracker data and right after a completion (database `a`);
/// at data values and during the retry wait that follows (database `b`).
/// Nothing is left running, nothing fails because of the crashes alone,
/// counts add up and the data is equal.
async fn crash_loop(a: Syncdeck, b: Syncdeck) {
    let source = SimProcess::start(&["--seed", "31", "--latency", "100ms"]);
    let quick = [
        "--first-check-within",
        "1s",
        "--lease",
        "2s",
        "--retry-delay",
        "1s",
    ];

    // First sync into one destination: cut at metadata, then at tracker data.
    let dest = SimProcess::start(&["--empty"]);
    a.apply(&source, &dest, "");
    let daemon = a.daemon(&quick);
    let job = wait_until_running_in(&a, &["metadata:"]);
    kill(daemon);
    assert_eq!(
        job_by_id(&a, job)["state"],
        "running",
        "SIGKILL leaves it running"
    );
    let daemon = a.daemon(&quick);
    wait_until_running_in(&a, &["trackedEntities:", "enrollments:", "events:"]);
    kill(daemon);
    // The last attempt completes; the daemon dies right after.
    let daemon = a.daemon(&quick);
    wait_for_jobs(&a, Duration::from_secs(180), "first sync", |jobs| {
        jobs.iter()
            .any(|j| j["id"].as_i64() == Some(job) && j["state"] == "completed")
    });
    kill(daemon);
    let done = job_by_id(&a, job);
    assert_eq!(
        done["attempt"], 3,
        "two runs cut, the third completed: {done:#}"
    );
    let daemon = a.daemon(&quick);
    std::thread::sleep(Duration::from_secs(3));
    stop(daemon);
    no_job_running(&a);
    let jobs = a.jobs();
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    assert_same(&source, &dest, "after the first crash loop").await;
    assert_counts(&a, job, &source, true).await;
    let log = std::fs::read_to_string(a.dir.path().join("syncdeck/logs/sync_jobs.log")).unwrap();
    assert_eq!(
        log.matches("attempt failed (lease_expired)").count(),
        2,
        "each reclaimed run has its line: {log}"
    );

    // Another destination: cut at data values; the next daemon reclaims the
    // job into a 5 s retry wait and dies during it.
    let dest = SimProcess::start(&["--empty"]);
    b.apply(&source, &dest, "");
    let daemon = b.daemon(&quick);
    let job = wait_until_running_in(&b, &["dataValues:"]);
    kill(daemon);
    let daemon = b.daemon(&[
        "--first-check-within",
        "1s",
        "--lease",
        "2s",
        "--retry-delay",
        "5s",
    ]);
    wait_for_jobs(
        &b,
        Duration::from_secs(60),
        "reclaimed into its retry wait",
        |jobs| {
            jobs.iter()
                .any(|j| j["id"].as_i64() == Some(job) && j["state"] == "queued")
        },
    );
    kill(daemon);
    let daemon = b.daemon(&quick);
    wait_for_jobs(
        &b,
        Duration::from_secs(180),
        "resumed after the wait",
        |jobs| {
            jobs.iter()
                .any(|j| j["id"].as_i64() == Some(job) && j["state"] == "completed")
        },
    );
    stop(daemon);
    no_job_running(&b);
    let jobs = b.jobs();
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    assert_eq!(job_by_id(&b, job)["attempt"], 2);
    assert_same(&source, &dest, "after the second crash loop").await;
    assert_counts(&b, job, &source, true).await;
}

#[tokio::test]
async fn sqlite_crash_loop_converges_and_counts_once() {
    crash_loop(Syncdeck::sqlite(), Syncdeck::sqlite()).await;
}

#[tokio::test]
async fn postgres_crash_loop_converges_and_counts_once() {
    let (Some(a), Some(b)) = (common::pg::database().await, common::pg::database().await) else {
        return;
    };
    let pg = |db| Syncdeck::with_db(db, tempfile::tempdir().unwrap());
    crash_loop(pg(a), pg(b)).await;
}

/// `trigger --wait` stopped by SIGTERM gives its job back at once (no lease
/// to wait for) and exits 143; a daemon later completes it once.
#[tokio::test]
async fn trigger_wait_sigterm_gives_the_job_back() {
    let source = SimProcess::start(&["--size", "medium", "--seed", "12", "--latency", "5ms"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let child = sd
        .command(&["trigger", "copy", "--wait"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_resource_moved(&sd, "dataValues:");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("goes back to the queue"), "{stderr}");
    // No lease to wait for: queued the moment the process is gone.
    let jobs = sd.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["state"], "queued", "{jobs:#?}");
    assert_eq!(jobs[0]["attempt"], 0, "the interrupted run is not counted");
    let id = jobs[0]["id"].as_i64().unwrap();

    let daemon = sd.daemon(&[]);
    wait_for_jobs(
        &sd,
        Duration::from_secs(300),
        "resumed by the daemon",
        |jobs| jobs.iter().any(|j| j["state"] == "completed"),
    );
    stop(daemon);
    let jobs = sd.jobs();
    assert_eq!(jobs.len(), 1, "completed once, not re-run: {jobs:#?}");
    assert_eq!(jobs[0]["attempt"], 1, "{jobs:#?}");
    assert_same(&source, &dest, "after the resumed trigger").await;
    assert_counts(&sd, id, &source, true).await;
}

/// The lease is renewed from the claim on: a source failing during set-up
/// (server time, plan) keeps its in-process retries longer than the lease,
/// and the attempt ends with the source's error, not "lease expired".
#[tokio::test]
async fn a_failing_set_up_keeps_its_lease_and_its_error() {
    let source = SimProcess::start(&["--seed", "13", "--fail-rate", "1"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let daemon = sd.daemon(&[
        "--first-check-within",
        "1s",
        "--lease",
        "2s",
        "--retry-delay",
        "1h",
    ]);
    wait_for_jobs(
        &sd,
        Duration::from_secs(120),
        "first attempt failed",
        |jobs| {
            jobs.iter()
                .any(|j| j["state"] == "queued" && j["attempt"] == 1)
        },
    );
    stop(daemon);
    let job = &sd.jobs()[0];
    assert_eq!(job["error_kind"], "transient", "{job:#}");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.contains("system/info"), "names the endpoint: {error}");
    let log = std::fs::read_to_string(sd.dir.path().join("syncdeck/logs/sync_jobs.log")).unwrap();
    assert!(!log.contains("lease"), "no lease was lost: {log}");
}

/// A job whose every run dies (SIGKILL) ends as any other failed job: its
/// last reclaim fails it with one "job failed" line and the config cools down.
#[tokio::test]
async fn a_job_whose_runs_all_die_fails_and_cools_down() {
    let source = SimProcess::start(&["--seed", "14", "--latency", "100ms"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let quick = [
        "--first-check-within",
        "1s",
        "--lease",
        "2s",
        "--retry-delay",
        "1s",
    ];
    for attempt in 1..=3 {
        let daemon = sd.daemon(&quick);
        // A killed run still reads `running`: wait for this run's own rows.
        wait_for_jobs(&sd, Duration::from_secs(60), "the next run", |jobs| {
            jobs.iter().any(|j| {
                j["state"] == "running"
                    && j["attempt"] == attempt
                    && j["progress"]["current_resource"].is_string()
            })
        });
        kill(daemon);
    }
    let daemon = sd.daemon(&quick);
    wait_for_jobs(&sd, Duration::from_secs(60), "the last reclaim", |jobs| {
        jobs.iter().any(|j| j["state"] == "failed")
    });
    stop(daemon);
    let job = &sd.jobs()[0];
    assert_eq!(
        (job["attempt"].as_u64(), job["error_kind"].as_str()),
        (Some(3), Some("lease_expired")),
        "{job:#}"
    );
    let status = sd.json(&["status", "copy"]);
    let lifecycle = &status[0]["lifecycle"];
    assert!(lifecycle["cooldown_until"].as_i64().is_some(), "{status:#}");
    assert!(
        lifecycle["last_error"]
            .as_str()
            .unwrap()
            .contains("lease expired"),
        "{status:#}"
    );
    let log = std::fs::read_to_string(sd.dir.path().join("syncdeck/logs/sync_jobs.log")).unwrap();
    assert_eq!(
        log.matches("attempt failed (lease_expired)").count(),
        2,
        "{log}"
    );
    assert_eq!(
        log.matches("job failed (lease_expired)").count(),
        1,
        "{log}"
    );
}

/// A small tmpfs mounted for one test (root only), unmounted on drop.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    /// `None` (after saying so loudly) where mounting is not allowed; under
    /// `SYNCDECK_REQUIRE_TMPFS=1` (CI) that is a failure.
    fn mount(size: &str) -> Option<SmallFs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::piped())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallFs { dir }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                eprintln!("full-disk tests DID NOT RUN: cannot mount a tmpfs ({why})");
                assert!(
                    std::env::var_os("SYNCDECK_REQUIRE_TMPFS").is_none(),
                    "SYNCDECK_REQUIRE_TMPFS is set: cannot mount a tmpfs: {why}"
                );
                None
            }
        }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        let mut size = block.len();
        // Smaller and smaller writes until not one byte fits.
        while size > 0 {
            match file.write(&block[..size]) {
                Ok(0) | Err(_) => size /= 2,
                Ok(_) => {}
            }
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The database on a file system that fills up mid-sync, for longer than a
/// lease: the worker keeps its own run (no "lease expired", no reclaim),
/// waits for the database, and completes once space returns.
#[tokio::test]
async fn a_full_database_disk_pauses_the_job_instead_of_losing_it() {
    let Some(fs) = SmallFs::mount("32m") else {
        return;
    };
    let source = SimProcess::start(&["--seed", "15", "--latency", "20ms"]);
    let dest = SimProcess::start(&["--empty"]);
    let db = fs.path().join("syncdeck.db").display().to_string();
    let sd = Syncdeck::with_db(db, tempfile::tempdir().unwrap());
    sd.apply(&source, &dest, "");
    let daemon = sd.daemon(&["--first-check-within", "1s", "--lease", "2s"]);
    wait_until_moving_data(&sd);
    let filler = fs.fill();
    // Several leases long: renewals and progress writes all fail meanwhile.
    std::thread::sleep(Duration::from_secs(8));
    std::fs::remove_file(&filler).unwrap();
    wait_for_jobs(
        &sd,
        Duration::from_secs(180),
        "completed after the disk-full spell",
        |jobs| jobs.iter().any(|j| j["state"] == "completed"),
    );
    stop(daemon);
    no_job_running(&sd);
    let jobs = sd.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["attempt"], 1, "not reclaimed: {jobs:#?}");
    assert_same(&source, &dest, "after the disk-full spell").await;
    let log = std::fs::read_to_string(sd.dir.path().join("syncdeck/logs/sync_jobs.log")).unwrap();
    assert!(
        !log.contains("lease_expired") && !log.contains("reclaim"),
        "{log}"
    );
    assert!(
        log.contains("full"),
        "the disk-full error is reported: {log}"
    );
}
