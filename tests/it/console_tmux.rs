//! The console end to end: the real binary in tmux, driven by keys, read
//! from the screen. `syncdeck demo` brings its own simulated servers.

use std::time::Duration;

use crate::common::tmux::{self, Tmux, line_with};

const WAIT: Duration = Duration::from_secs(60);

/// Runs `syncdeck ARGS` in a shell that reports the exit status and stays,
/// so the screen after exit can be checked (terminal restored).
fn console(args: &str, home: &std::path::Path, w: u16, h: u16) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_syncdeck");
    let cmd = format!("'{bin}' {args}; echo \"syncdeck exited with $?\"; sleep 120");
    Tmux::start(&cmd, w, h, home, &[])
}

/// `synced` figure in the header.
fn synced(screen: &str) -> u64 {
    let header = screen.lines().next().unwrap_or("");
    header
        .split('│')
        .find(|part| part.contains("synced"))
        .and_then(|part| part.trim().split(' ').next())
        .map(|n| n.replace(',', ""))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn demo_trigger_stop_jobs_help_and_quit() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let t = console("demo --size small", home.path(), 140, 40);

    // A sync runs by itself within seconds of starting.
    let screen = t.wait_for("objects synced by the automatic config", WAIT, |s| {
        synced(s) > 0
    });
    assert!(screen.contains("national-to-regional"), "{screen}");
    assert!(screen.contains("offline-district"), "{screen}");

    // The unreachable source shows a clean error.
    // (The log tail may show the retries' "cannot connect … retrying" first.)
    t.keys(&["G"]);
    t.wait_for("offline-district selected, with its error", WAIT, |s| {
        s.contains("▶offline-district") && s.contains("cannot connect")
    });

    // Trigger the manual config.
    t.keys(&["k"]);
    t.wait_for("cursor on manual-reporting", WAIT, |s| {
        s.lines().any(|l| l.contains("▶manual-reporting"))
    });
    t.keys(&["t"]);
    t.wait_text("manual-reporting: sync queued as job", WAIT);
    let screen = t.wait_for("the manual sync to finish", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("manual-reporting") && l.contains("ok "))
    });
    assert!(screen.contains("Last sync completed"), "{screen}");

    // Stop the automatic one: it asks first, naming it.
    t.keys(&["g"]);
    t.wait_for("cursor on national-to-regional", WAIT, |s| {
        s.lines().any(|l| l.contains("▶national-to-regional"))
    });
    t.keys(&["x"]);
    let screen = t.wait_text("Confirm", WAIT);
    assert!(
        screen.contains("Stop the scheduler of \"national-to-regional\""),
        "{screen}"
    );
    t.keys(&["y"]);
    let screen = t.wait_text("national-to-regional: scheduler stopped", WAIT);
    assert!(
        line_with(&screen, "▶national-to-regional").contains("stopped"),
        "{screen}"
    );

    // Jobs view: the manual job and the automatic one.
    t.keys(&["2"]);
    // The title shows before the first load ("loading…"): wait for rows.
    let screen = t.wait_for("the jobs loaded", WAIT, |s| {
        s.contains("Jobs (")
            && s.lines()
                .any(|l| l.contains("manual-reporting") && l.contains("completed"))
    });
    assert!(screen.contains("national-to-regional"), "{screen}");

    // Help, generated from the keymap.
    t.keys(&["?"]);
    let screen = t.wait_text("Help: keys from keymap.toml", WAIT);
    assert!(line_with(&screen, "sync now").contains('t'), "{screen}");
    t.keys(&["Escape"]);
    t.wait_for("help closed", WAIT, |s| !s.contains("Help: keys"));

    // Quit: the terminal is given back and the exit status is 0.
    t.keys(&["q"]);
    let screen = t.wait_text("syncdeck exited with", WAIT);
    assert!(screen.contains("syncdeck exited with 0"), "{screen}");
    assert!(
        !screen.contains("Jobs ("),
        "alternate screen left:\n{screen}"
    );
}

#[test]
fn user_keymap_takes_effect_and_a_broken_one_warns_but_works() {
    if !tmux::available() {
        return;
    }
    // trigger moved from t to T.
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("config/syncdeck");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("keymap.toml"), "[scheduler]\ntrigger = [\"T\"]\n").expect("write");
    let t = console("demo --size small", home.path(), 120, 36);
    t.wait_text("manual-reporting", WAIT);
    t.keys(&["j"]);
    t.wait_for("cursor on manual-reporting", WAIT, |s| {
        s.lines().any(|l| l.contains("▶manual-reporting"))
    });
    t.keys(&["t"]);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        !t.screen().contains("manual-reporting: sync queued"),
        "t still triggers"
    );
    t.keys(&["T"]);
    t.wait_text("manual-reporting: sync queued as job", WAIT);
    let screen = t.screen();
    assert!(
        line_with(&screen, "sync now").contains("T sync now"),
        "{screen}"
    );
    t.keys(&["q"]);
    t.wait_text("syncdeck exited with 0", WAIT);
    drop(t);

    // A typo: defaults, and a warning naming file, line and key.
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("config/syncdeck");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("keymap.toml"), "[scheduler]\n\ntriger = [\"T\"]\n").expect("write");
    let t = console("demo --size small", home.path(), 160, 40);
    let screen = t.wait_text("using the default keys", WAIT);
    let warning = line_with(&screen, "using the default keys");
    assert!(warning.contains("keymap.toml:3:1"), "{screen}");
    assert!(warning.contains("scheduler.triger"), "{screen}");
    t.keys(&["2"]);
    t.wait_text("Jobs (", WAIT);
    t.keys(&["q"]);
    t.wait_text("syncdeck exited with 0", WAIT);
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    if !tmux::available() {
        return;
    }
    for signal in ["TERM", "HUP"] {
        let home = tempfile::tempdir().expect("tempdir");
        let t = console("demo --size small", home.path(), 100, 30);
        t.wait_text("national-to-regional", WAIT);
        let shell = t.pane_pid();
        let out = std::process::Command::new("pkill")
            .args([&format!("-{signal}"), "-P", &shell.to_string(), "syncdeck"])
            .output()
            .expect("pkill");
        assert!(
            out.status.success(),
            "pkill found no syncdeck under {shell}"
        );
        let screen = t.wait_text("syncdeck exited with", WAIT);
        assert!(
            screen.contains("syncdeck exited with 0"),
            "SIG{signal}:\n{screen}"
        );
        assert!(
            !screen.contains("Configs ("),
            "SIG{signal}: screen not restored:\n{screen}"
        );
    }
}

#[test]
fn too_small_a_terminal_gets_a_message_and_read_only_refuses_commands() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let t = console("demo --size small --read-only", home.path(), 50, 12);
    t.wait_text("needs at least 60x16.", WAIT);
    t.keys(&["q"]);
    t.wait_text("syncdeck exited with 0", WAIT);
    drop(t);

    let home = tempfile::tempdir().expect("tempdir");
    let t = console("demo --size small --read-only", home.path(), 120, 36);
    // The config list's cursor, not the name in the log tail: the list has
    // arrived, so `x` has a config to refuse.
    let screen = t.wait_text("▶national-to-regional", WAIT);
    assert!(screen.contains("READ-ONLY"), "{screen}");
    t.keys(&["x"]);
    let screen = t.wait_text("read-only: cannot stop national-to-regional", WAIT);
    assert!(!screen.contains("Confirm"), "{screen}");
    t.keys(&["q"]);
    t.wait_text("syncdeck exited with 0", WAIT);
}

/// The log viewer in the real console: the five files listed, one opened
/// and searched, a match jumped to, back to the list, one cleared after a
/// confirmation naming it.
#[test]
fn log_viewer_lists_searches_jumps_and_clears_a_file() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let logs = home.path().join("logs");
    let t = console(
        &format!("demo --size small --logs '{}'", logs.display()),
        home.path(),
        140,
        40,
    );
    // A finished job means syncdeck.log and sync_jobs.log hold lines.
    t.wait_for("objects synced by the automatic config", WAIT, |s| {
        synced(s) > 0
    });

    t.keys(&["4"]);
    // The listing arrives after the title: wait for its last file.
    let screen = t.wait_text("sync_jobs.log", WAIT);
    assert!(screen.contains("Log files"), "{screen}");
    for name in [
        "live",
        "syncdeck.log",
        "errors.log",
        "auto_sync.log",
        "changes_detected.log",
        "sync_jobs.log",
    ] {
        assert!(screen.contains(name), "{name} not listed:\n{screen}");
    }

    // Open syncdeck.log (the first file after the live tail) and search.
    t.keys(&["j"]);
    t.wait_for("cursor on syncdeck.log", WAIT, |s| {
        s.lines().any(|l| l.contains("▶syncdeck.log"))
    });
    t.keys(&["Enter"]);
    let screen = t.wait_for("syncdeck.log opened", WAIT, |s| {
        s.lines().nth(1).is_some_and(|l| l.contains("syncdeck.log")) && s.contains("job started")
    });
    assert!(screen.contains("following"), "{screen}");
    t.keys(&["/", "j", "o", "b", "Enter"]);
    // The count is final once the search no longer says "searching".
    let screen = t.wait_for("a final match count", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("/job: ") && l.contains(" match") && !l.contains("searching"))
    });
    let count = line_with(&screen, "/job: ");
    assert!(!count.contains("/job: 0 matches"), "{screen}");

    // n marks the row it jumped to.
    t.keys(&["n"]);
    let screen = t.wait_for("a jump to a match", WAIT, |s| {
        s.lines().any(|l| l.contains("▶[AUTO-SYNC]"))
    });
    assert!(
        line_with(&screen, "▶[AUTO-SYNC]").contains("job"),
        "{screen}"
    );

    // Back to the list.
    t.keys(&["Escape"]);
    t.wait_text("Log files", WAIT);

    // Clear sync_jobs.log (the last file: the demo has no rotations yet):
    // asked first, naming it; then it is empty.
    t.keys(&["G"]);
    let screen = t.wait_for("cursor on sync_jobs.log", WAIT, |s| {
        s.lines().any(|l| l.contains("▶sync_jobs.log"))
    });
    assert!(
        !line_with(&screen, "▶sync_jobs.log").contains(" 0 B "),
        "sync_jobs.log is empty before clearing:\n{screen}"
    );
    t.keys(&["c"]);
    let screen = t.wait_text("Confirm", WAIT);
    assert!(
        screen.contains("Clear the log file sync_jobs.log?"),
        "{screen}"
    );
    let before = std::fs::read_to_string(logs.join("sync_jobs.log")).expect("sync_jobs.log");
    let first = before
        .lines()
        .next()
        .expect("a line before clearing")
        .to_string();
    t.keys(&["y"]);
    let screen = t.wait_text("cleared sync_jobs.log", WAIT);
    assert!(!screen.contains("Confirm"), "{screen}");
    // The demo keeps logging, so the file need not stay empty; but what was
    // in it before is gone (its first line carries a timestamp and job id).
    let after = std::fs::read_to_string(logs.join("sync_jobs.log")).expect("sync_jobs.log");
    assert!(!after.contains(&first), "not cleared: {after}");

    t.keys(&["Escape"]);
    t.wait_text("Configs (", WAIT);
    t.keys(&["q"]);
    t.wait_text("syncdeck exited with 0", WAIT);
}
