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

/// `q`, and `y` to the question it asks while syncs run in the console;
/// then the exit status must be 0 and the terminal restored.
fn quit(t: &Tmux) -> String {
    t.keys(&["q"]);
    let screen = t.wait_for("the console to quit or ask", WAIT, |s| {
        s.contains("syncdeck exited with") || s.contains("running in this console")
    });
    if !screen.contains("syncdeck exited with") {
        t.keys(&["y"]);
    }
    let screen = t.wait_text("syncdeck exited with", WAIT);
    assert!(screen.contains("syncdeck exited with 0"), "{screen}");
    screen
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

/// The operator's round on the demo's console, wherever its engine is:
/// a sync running by itself, an error shown cleanly, the pull, a trigger,
/// a stop after a confirmation, the jobs view and the help.
fn trigger_stop_jobs_and_help(t: &Tmux) {
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

    // The http_pull config above it shows its pull: status, hash, target.
    t.keys(&["k"]);
    t.wait_for("site-config's pull", WAIT, |s| {
        s.contains("▶site-config")
            && s.contains("Pull OK")
            && s.contains("same at the backend")
            && s.contains("site-config.json")
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
    // The row follows at the next reload, right after the message.
    t.wait_for("the stop said and shown on its row", WAIT, |s| {
        s.contains("national-to-regional: scheduler stopped")
            && s.lines()
                .any(|l| l.contains("▶national-to-regional") && l.contains("stopped"))
    });

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
    t.keys(&["1"]);
}

#[test]
fn demo_trigger_stop_jobs_help_and_quit() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let t = console("demo --size small", home.path(), 140, 40);
    trigger_stop_jobs_and_help(&t);
    // Quit: the terminal is given back and the exit status is 0.
    let screen = quit(&t);
    assert!(
        !screen.contains("Jobs ("),
        "alternate screen left:\n{screen}"
    );
}

/// A headless demo serving the API: a daemon in another process.
struct DemoDaemon {
    child: std::process::Child,
    /// `unix:PATH` or `http://127.0.0.1:PORT`, as it announced.
    address: String,
    token: std::path::PathBuf,
}

impl DemoDaemon {
    /// `listen`: `unix` (a socket in `home`) or `tcp` (a free loopback port).
    fn start(home: &std::path::Path, listen: &str) -> DemoDaemon {
        use std::io::BufRead;
        let token = home.join("demo-token");
        let listen = match listen {
            "unix" => format!("unix:{}", home.join("demo.sock").display()),
            _ => "127.0.0.1:0".to_string(),
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_syncdeck"))
            .args(["demo", "--headless", "--for", "20m", "--size", "small"])
            .arg("--listen")
            .arg(listen)
            .arg("--token-file")
            .arg(&token)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", home)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the demo daemon");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let announced = lines
            .next()
            .expect("the demo said where its API is")
            .expect("a line");
        // Keep reading, so the demo never blocks on its output.
        std::thread::spawn(move || for _ in lines {});
        let address = announced
            .strip_prefix("demo API on ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("{announced}"))
            .to_string();
        DemoDaemon {
            child,
            address,
            token,
        }
    }

    fn connect_args(&self) -> String {
        format!(
            "--connect '{}' --token-file '{}'",
            self.address,
            self.token.display()
        )
    }
}

impl Drop for DemoDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th of the line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

/// The syncdeck process under the pane's shell.
fn console_pid(t: &Tmux) -> u32 {
    let shell = t.pane_pid();
    let out = std::process::Command::new("pgrep")
        .args(["-P", &shell.to_string(), "syncdeck"])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a syncdeck under the pane's shell")
}

/// The same round with the console attached to a daemon in another
/// process over its unix socket: live figures, the daemon's log lines, and
/// when the daemon goes, "reconnecting…" without the console spinning.
#[test]
fn demo_attached_over_the_socket_trigger_stop_jobs_help_and_quit() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let mut daemon = DemoDaemon::start(home.path(), "unix");
    let t = console(&daemon.connect_args(), home.path(), 140, 40);
    let screen = t.wait_text("attached to this host's daemon", WAIT);
    assert!(!screen.contains("READ-ONLY"), "{screen}");
    // Live: the synced figure moves while the first sync runs (from the
    // daemon's events, not a 5 s reload).
    let first = t.wait_for("a first figure", WAIT, |s| synced(s) > 0);
    let before = synced(&first);
    t.wait_for("the figure moving", WAIT, |s| synced(s) > before);
    // The daemon's log lines reach the tail (this console runs no jobs).
    t.wait_for("the daemon's job lines in the tail", WAIT, |s| {
        s.contains("[sync_jobs] job started")
    });
    trigger_stop_jobs_and_help(&t);

    // The log viewer reads the daemon's files where it writes them.
    t.keys(&["4"]);
    t.wait_text("syncdeck-demo-logs-", WAIT);
    open_and_find(&t, "sync_jobs.log", "job completed");
    t.keys(&["Escape", "1"]);

    // The daemon goes away: said at once, retried, and the console idles.
    let _ = daemon.child.kill();
    let _ = daemon.child.wait();
    t.wait_text("reconnecting", WAIT);
    let pid = console_pid(&t);
    let cpu = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_seconds(pid) - cpu;
    assert!(
        used < 1.0,
        "the console used {used:.2} s of CPU in 3 s while disconnected"
    );
    // Nothing runs here: q quits at once.
    let screen = quit(&t);
    assert!(
        !screen.contains("Jobs ("),
        "alternate screen left:\n{screen}"
    );
}

/// Moves the log list's cursor to `name`, opens it, and waits for `text`.
fn open_and_find(t: &Tmux, name: &str, text: &str) {
    for _ in 0..10 {
        if t.screen().lines().any(|l| l.contains(&format!("▶{name}"))) {
            break;
        }
        t.keys(&["j"]);
    }
    t.wait_for(&format!("{name} under the cursor"), WAIT, |s| {
        s.contains(&format!("▶{name}"))
    });
    t.keys(&["Enter"]);
    t.wait_for(&format!("{name} open, with {text:?}"), WAIT, |s| {
        s.contains(&format!("{name} ")) && s.contains(text)
    });
}

/// Over TCP the daemon's files are not here: the log viewer shows a copy
/// it keeps up to date, and a file cleared there is cleared on the daemon.
#[test]
fn attached_over_tcp_the_log_viewer_shows_the_daemons_files() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let daemon = DemoDaemon::start(home.path(), "tcp");
    assert!(
        daemon.address.starts_with("http://127.0.0.1:"),
        "{}",
        daemon.address
    );
    let t = console(&daemon.connect_args(), home.path(), 120, 36);
    t.wait_for("attached and a job done", WAIT, |s| {
        s.contains(&format!("attached to {}", daemon.address)) && synced(s) > 0
    });
    t.keys(&["4"]);
    t.wait_text("the daemon's, copied from http://127.0.0.1:", WAIT);
    open_and_find(&t, "sync_jobs.log", "job completed");
    // Clearing asks, then goes to the daemon's writer.
    t.keys(&["Escape"]);
    t.wait_text("▶sync_jobs.log", WAIT);
    t.keys(&["c"]);
    t.wait_text("Confirm", WAIT);
    t.keys(&["y"]);
    t.wait_text("cleared sync_jobs.log on the daemon", WAIT);
    quit(&t);
}

/// `--monitor` on a database a daemon serves on this host attaches to it
/// (and follows it through a restart); with no daemon it says so and is
/// read-only.
#[test]
fn monitor_attaches_to_the_daemon_of_its_database_or_says_there_is_none() {
    if !tmux::available() {
        return;
    }
    let source = crate::common::SimProcess::start(&["--data-values", "2000"]);
    let dest = crate::common::SimProcess::start(&["--empty"]);
    let sd = crate::common::binary::Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let runtime = sd.dir.path().display().to_string();
    let env = [("XDG_RUNTIME_DIR", runtime.as_str())];
    let token = sd.dir.path().join("syncdeck/api-token");
    let bin = env!("CARGO_BIN_EXE_syncdeck");
    let monitor = format!(
        "'{bin}' --db '{}' --token-file '{}' --monitor; echo \"syncdeck exited with $?\"; sleep 120",
        sd.db,
        token.display()
    );
    let home = tempfile::tempdir().expect("tempdir");

    // No daemon: the database alone, read-only, and the header says why.
    let t = Tmux::start(&monitor, 140, 30, home.path(), &env);
    let screen = t.wait_text("no daemon running: read-only view of the database", WAIT);
    assert!(screen.contains("READ-ONLY"), "{screen}");
    t.wait_text("▶copy", WAIT);
    t.keys(&["t"]);
    t.wait_text("read-only: cannot", WAIT);
    quit(&t);
    drop(t);

    // A daemon: attached to it, through a restart of the daemon.
    let daemon = sd.daemon(&["--first-check-within", "1s"]);
    let socket_up = || {
        std::fs::read_dir(sd.dir.path().join("syncdeck"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".sock"))
    };
    let deadline = std::time::Instant::now() + WAIT;
    while !socket_up() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = Tmux::start(&monitor, 140, 30, home.path(), &env);
    let screen = t.wait_text("attached to this host's daemon", WAIT);
    assert!(!screen.contains("READ-ONLY"), "{screen}");
    t.wait_for("the first sync done", WAIT, |s| {
        s.lines().any(|l| l.contains("▶copy") && l.contains("ok "))
    });
    drop(daemon);
    t.wait_text("reconnecting", WAIT);
    let _daemon = sd.daemon(&[]);
    t.wait_for("attached again", WAIT, |s| {
        s.contains("attached to this host's daemon") && !s.contains("reconnecting")
    });
    t.keys(&["t"]);
    t.wait_text("copy: sync queued as job", WAIT);
    t.wait_for(
        "the triggered job in the history, run by the new daemon",
        WAIT,
        |s| s.lines().any(|l| l.contains("#2 ") && l.contains("synced")),
    );
    quit(&t);
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
    quit(&t);
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
    quit(&t);
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
    quit(&t);
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
    quit(&t);
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
    quit(&t);
}

/// Whether `needle` is on screen, also when wrapped across lines of a pane
/// (spaces and borders are left out of both).
fn shows(screen: &str, needle: &str) -> bool {
    let flat = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    flat(screen).contains(&flat(needle))
}

/// The screen's line below the resource table's header: the resource the
/// pane's cursor is on.
fn top_resource(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    lines
        .iter()
        .position(|l| l.contains("kind") && l.contains("resource") && l.contains("state"))
        .and_then(|i| lines.get(i + 1))
        .map_or_else(String::new, |l| l.to_string())
}

/// At 120x40: a running sync shows percent, ETA and speed; a failed config
/// its root cause (whole, the port too), and `y` copies it with OSC 52;
/// Enter on a resource lists what the destination refused.
#[test]
fn at_120x40_progress_root_cause_refused_objects_and_osc52() {
    if !tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let t = console("demo --size small", home.path(), 120, 40);
    t.accept_clipboard();
    let screen = t.wait_for("progress with percent, ETA and speed", WAIT, |s| {
        let gauge = s
            .lines()
            .any(|l| l.contains('%') && l.contains("ETA ") && l.contains("objects"));
        let speed = s
            .lines()
            .any(|l| l.contains(" synced · ") && l.contains("/s") && l.contains("elapsed"));
        gauge && speed
    });
    assert!(screen.contains("national-to-regional"), "{screen}");

    // The offline config's root cause, whole.
    t.keys(&["G"]);
    t.wait_for("offline-district's root cause", WAIT, |s| {
        s.contains("▶offline-district") && shows(s, "Connection refused (os error 111)")
    });
    t.keys(&["E"]);
    let screen = t.wait_text("Cause by cause", WAIT);
    assert!(screen.contains("Error of offline-district"), "{screen}");
    assert!(
        shows(&screen, "Connection refused (os error 111)"),
        "{screen}"
    );
    t.keys(&["y"]);
    t.wait_text("copied", WAIT);
    let copied = t.clipboard();
    assert!(
        copied.contains("Connection refused (os error 111)") && copied.contains("/api/system/info"),
        "the clipboard holds {copied:?}"
    );
    t.keys(&["Escape"]);
    t.wait_for("the error view closed", WAIT, |s| {
        !s.contains("Cause by cause")
    });
    quit(&t);
    drop(t);

    // Refused objects: a destination where 2024-03 is approved refuses its
    // values (E7642) for good; the console lists them under their resource.
    let source = crate::common::SimProcess::start(&["--seed", "31", "--data-values", "300"]);
    let dest = crate::common::SimProcess::start(&["--empty", "--approved-periods", "202403"]);
    let sd = crate::common::binary::Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    let run = sd.json(&["trigger", "copy", "--wait"]);
    assert!(
        run["job"]["progress"]["errors"].as_u64().unwrap_or(0) > 0,
        "{run:#}"
    );
    let home = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_syncdeck");
    let env: Vec<(&str, &str)> = sd
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cmd = format!(
        "'{bin}' --db '{}'; echo \"syncdeck exited with $?\"; sleep 120",
        sd.db
    );
    let t = Tmux::start(&cmd, 120, 40, home.path(), &env);
    t.accept_clipboard();
    let screen = t.wait_for("the copy config with its rejected objects", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("▶copy") && l.contains("rejected"))
    });
    assert!(screen.contains("rejected"), "{screen}");
    // The resources pane; its cursor to the data values resource.
    t.keys(&["Tab", "G"]);
    let mut found = String::new();
    for _ in 0..200 {
        let top = top_resource(&t.screen());
        if top.contains("rejected") {
            found = top;
            break;
        }
        t.keys(&["k"]);
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(
        found.contains("data"),
        "no resource with refusals: {}",
        t.screen()
    );
    t.keys(&["Enter"]);
    let screen = t.wait_text("Refused:", WAIT);
    assert!(screen.contains("E7642"), "{screen}");
    assert!(screen.contains("/202403/"), "the value's key: {screen}");
    t.keys(&["y"]);
    t.wait_text("copied", WAIT);
    assert!(t.clipboard().contains("E7642"), "{}", t.clipboard());
    t.keys(&["Escape"]);
    quit(&t);
}
