//! The CLI as a user meets it: output into a closed pipe, empty states, help,
//! `init`. Each test drives the real binary on a database of its own.

use std::process::Stdio;

use crate::common::binary::Syncdeck;
use crate::common::{SimProcess, copy_config_between};

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
    let config = sd.dir.path().join("syncdeck.toml").display().to_string();
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
        &["init"],
        &["--help"],
        &["list", "--json"],
        &["status", "--json"],
        &["jobs", "--json"],
        &["export", "--json"],
        &["apply", "-f", &config],
        &["trigger", "copy"],
        &["setup", "copy", "--check-interval", "5m"],
        &["cooldown", "clear", "copy"],
        &["start", "copy"],
        &["jobs", "retry", "--all"],
        &["stop", "--all"],
        &["jobs", "clear"],
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

#[test]
fn init_writes_the_example_that_applies_cleanly_on_a_fresh_database() {
    let sd = Syncdeck::sqlite();
    // On stdout (no FILE, and `-`): the embedded example, byte for byte.
    let printed = sd.ok(&["init"]);
    assert_eq!(printed, sd.ok(&["init", "-"]));
    assert_eq!(printed, include_str!("../../assets/example.toml"));
    let file = sd.dir.path().join("syncdeck.toml");
    let path = file.to_str().unwrap();
    let out = sd.ok_output(&["init", path]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("apply -f"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);

    let applied = sd.ok(&["apply", "-f", path]);
    assert!(
        applied.contains("applied: 6 created"),
        "3 instances and 3 syncs: {applied}"
    );
    let configs = sd.json(&["list"]);
    let names: Vec<&str> = configs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{configs}");
    assert!(names.contains(&"national-to-reporting"), "{names:?}");
    assert!(names.contains(&"site-config"), "{names:?}");
    assert!(sd.ok(&["apply", "-f", path]).contains("nothing to do"));
}

#[test]
fn init_refuses_to_overwrite_a_file_unless_forced() {
    let sd = Syncdeck::sqlite();
    let file = sd.dir.path().join("mine.toml");
    let path = file.to_str().unwrap();
    std::fs::write(&file, "# my own\n").unwrap();
    let out = sd.run(&["init", path]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mine.toml exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# my own\n");
    sd.ok(&["init", path, "--force"]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        include_str!("../../assets/example.toml")
    );
}

#[test]
fn empty_states_say_what_to_do() {
    let sd = Syncdeck::sqlite();
    for args in [&["list"][..], &["status"]] {
        let out = sd.ok(args);
        assert!(
            out.contains("no configurations yet")
                && out.contains("syncdeck init")
                && out.contains("syncdeck apply -f FILE"),
            "syncdeck {args:?}: {out:?}"
        );
    }
    let jobs = sd.ok(&["jobs"]);
    assert!(
        jobs.contains("no jobs yet") && jobs.contains("syncdeck trigger CONFIG"),
        "{jobs:?}"
    );
    let failed = sd.ok(&["jobs", "--failed"]);
    assert!(failed.contains("no failed jobs"), "{failed:?}");
    let retry = sd.ok(&["jobs", "retry", "--all"]);
    assert!(retry.contains("no failed jobs to retry"), "{retry:?}");
    let export = sd.ok_output(&["export"]);
    let note = String::from_utf8_lossy(&export.stderr);
    assert!(note.contains("syncdeck init"), "{note:?}");
    // The document itself stays valid TOML that applies (to nothing).
    let doc = String::from_utf8(export.stdout).unwrap();
    assert!(toml::from_str::<toml::Table>(&doc).is_ok(), "{doc}");
    // --json is for scripts: an empty list, no sentence.
    assert_eq!(sd.json(&["list"]), serde_json::json!([]));
    assert_eq!(sd.json(&["jobs"]), serde_json::json!([]));
}

fn cooldown_until(sd: &Syncdeck) -> Option<i64> {
    sd.json(&["status", "copy"])[0]["lifecycle"]["cooldown_until"].as_i64()
}

/// Fails the job for good at once (a wrong destination password: auth
/// errors are not retried) and returns what `trigger --wait` said on stderr.
fn fail_for_good(sd: &mut Syncdeck) -> String {
    sd.env[1].1 = "wrong-password-123".into();
    let out = sd.run(&["trigger", "copy", "--wait"]);
    sd.env[1].1 = crate::common::PASSWORD.into();
    assert!(!out.status.success(), "the job failed: exit 1");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_final_failure_says_so_success_clears_its_cooldown_and_cooldown_clear_ends_one() {
    let source = SimProcess::start(&["--size", "small", "--seed", "21"]);
    let dest = SimProcess::start(&["--empty"]);
    let mut sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");

    let said = fail_for_good(&mut sd);
    let failed = said
        .lines()
        .find(|l| l.contains("job failed (auth)"))
        .unwrap_or_else(|| panic!("no final failure line: {said}"));
    assert!(
        failed.contains("will not be retried")
            && failed.contains("syncdeck jobs retry 1")
            && failed.contains("syncdeck cooldown clear copy"),
        "{failed}"
    );
    assert!(!said.contains("will be retried"), "{said}");
    assert!(
        cooldown_until(&sd).is_some(),
        "the failure started the cooldown"
    );
    let status = sd.ok(&["status", "copy"]);
    assert!(status.contains("cooldown until"), "{status}");
    assert!(status.contains("will not be retried"), "{status}");

    // Times read as sentences: `in 29m 59s`, not a bare number or `0s in`.
    let cooldown_line = status
        .lines()
        .find(|l| l.contains("cooldown until"))
        .unwrap();
    assert!(
        cooldown_line.contains("(in 29m") || cooldown_line.contains("(in 30m"),
        "{cooldown_line}"
    );

    // A completed job clears the cooldown the failure set.
    let done = sd.ok(&["trigger", "copy", "--wait"]);
    assert_eq!(cooldown_until(&sd), None, "success clears the cooldown");
    let first = done.lines().next().unwrap();
    assert!(first.starts_with("job 2 completed in "), "{first}");
    let last = sd.ok(&["status", "copy"]);
    let last = last.lines().find(|l| l.contains("last job 2")).unwrap();
    assert!(
        last.contains(" ago (took ") || last.contains(" now (took "),
        "{last}"
    );

    // The operator ends one.
    fail_for_good(&mut sd);
    assert!(cooldown_until(&sd).is_some());
    let cleared = sd.ok(&["cooldown", "clear", "copy"]);
    assert!(cleared.contains("copy: cooldown ended"), "{cleared}");
    assert_eq!(cooldown_until(&sd), None);
    let again = sd.ok(&["cooldown", "clear", "copy"]);
    assert!(again.contains("not in cooldown"), "{again}");
    assert_eq!(
        sd.json(&["cooldown", "clear", "copy"]),
        serde_json::json!({ "config": "copy", "cleared_until": null })
    );
    let unknown = sd.run(&["cooldown", "clear", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("syncdeck list"));
}

/// The summary's resource rows (after the header, before the notes).
fn summary_resources(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("RESOURCE"))
        .skip(1)
        .take_while(|l| !l.contains("not shown") && !l.starts_with("error:"))
        .collect()
}

#[test]
fn trigger_wait_off_a_terminal_prints_plain_lines_and_a_summary_without_empty_rows() {
    let source = SimProcess::start(&["--size", "small", "--seed", "22"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let out = sd.ok_output(&["trigger", "copy", "--wait"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    // No bar when stderr is not a terminal: whole lines, no cursor movement.
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
    // Which resources get a line depends on what the coalesced progress
    // events showed (a busy machine may skip fast ones): at least one does.
    assert!(stderr.lines().any(|l| l.starts_with("job 1: ")), "{stderr}");
    let all = sd.json(&["jobs", "show", "1"])["resources"]
        .as_array()
        .unwrap()
        .clone();
    let zero = |r: &serde_json::Value| {
        ["total", "processed", "synced", "errors"]
            .iter()
            .all(|k| r[k] == 0)
            && r["message"].is_null()
            && r["status"] != "failed"
    };
    let quiet: Vec<&str> = all
        .iter()
        .filter(|r| zero(r))
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    let rows = summary_resources(&stdout);
    assert_eq!(rows.len(), all.len() - quiet.len(), "{stdout}");
    for name in &quiet {
        assert!(
            rows.iter()
                .all(|row| row.split_whitespace().next() != Some(name)),
            "{name} has nothing to show: {stdout}"
        );
    }
    if quiet.is_empty() {
        assert!(!stdout.contains("not shown"), "{stdout}");
    } else {
        assert!(
            stdout.contains(&format!(
                "{} resource(s) with nothing to sync not shown",
                quiet.len()
            )),
            "{stdout}"
        );
    }
    println!(
        "summary: {} rows shown, {} left out",
        rows.len(),
        quiet.len()
    );
}

#[test]
fn trigger_wait_on_a_terminal_shows_a_progress_bar() {
    use crate::common::tmux::{self, Tmux};
    if !tmux::available() {
        return;
    }
    let source = SimProcess::start(&["--size", "small", "--seed", "23", "--latency", "150ms"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let bin = env!("CARGO_BIN_EXE_syncdeck");
    let cmd = format!(
        "'{bin}' --db '{}' trigger copy --wait; echo \"syncdeck exited with $?\"; sleep 120",
        sd.db
    );
    let env: Vec<(&str, &str)> = sd
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let t = Tmux::start(&cmd, 160, 30, sd.dir.path(), &env);
    let wait = std::time::Duration::from_secs(120);
    let bar = t.wait_for("the progress bar", wait, |s| {
        s.lines()
            .any(|l| l.contains("ETA") && l.contains('%') && l.contains("synced ·"))
    });
    let line = crate::common::tmux::line_with(&bar, "ETA");
    assert!(line.contains('[') && line.contains(']'), "{line}");
    let done = t.wait_text("syncdeck exited with", wait);
    assert!(done.contains("syncdeck exited with 0"), "{done}");
    assert!(done.contains("job 1 completed in "), "{done}");
    // The bar is cleared before the summary.
    assert!(!done.lines().any(|l| l.contains("ETA")), "{done}");
}
