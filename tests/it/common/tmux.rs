//! The real binary in a real pty: a private tmux server per test, keys in
//! with `send-keys`, the screen out with `capture-pane`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

/// Whether tmux is installed. Without it the tests say loudly that they did
/// not run, and fail when `SYNCDECK_REQUIRE_TMUX=1` (CI installs tmux).
pub fn available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("SYNCDECK_REQUIRE_TMUX").is_some() {
            panic!("tmux is required (SYNCDECK_REQUIRE_TMUX is set) but not installed");
        }
        eprintln!("tmux not found: console end-to-end tests DID NOT RUN");
    }
    found
}

impl Tmux {
    /// Starts `command` (a shell line) in a `w`x`h` pane with `env` set and
    /// HOME / XDG dirs under `home`, so no user config leaks in.
    pub fn start(command: &str, w: u16, h: u16, home: &Path, env: &[(&str, &str)]) -> Tmux {
        let socket = format!(
            "syncdeck-test-{}-{}",
            std::process::id(),
            home.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        let t = Tmux { socket };
        let mut args: Vec<String> = vec![
            "-f".into(),
            "/dev/null".into(),
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            "main".into(),
            "-x".into(),
            w.to_string(),
            "-y".into(),
            h.to_string(),
        ];
        let home_s = home.display().to_string();
        let mut vars = vec![
            ("HOME".to_string(), home_s.clone()),
            ("XDG_CONFIG_HOME".into(), format!("{home_s}/config")),
            ("XDG_DATA_HOME".into(), format!("{home_s}/data")),
            ("TERM".into(), "xterm-256color".into()),
        ];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        for (k, v) in vars {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.push(command.into());
        let out = t.tmux(&args);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[String]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Sends keys as tmux names them (`j`, `Enter`, `Escape`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys".to_string(), "-t".into(), "main".into()];
        args.extend(keys.iter().map(|k| k.to_string()));
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys {keys:?} failed");
    }

    pub fn screen(&self) -> String {
        let out = self.tmux(&[
            "capture-pane".into(),
            "-p".into(),
            "-t".into(),
            "main".into(),
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `pred` holds for the screen; panics showing the last
    /// screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn wait_text(&self, text: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{text:?}"), timeout, |s| s.contains(text))
    }

    /// Lets programs in the pane set tmux's paste buffer with OSC 52 (as a
    /// terminal's clipboard would be set).
    pub fn accept_clipboard(&self) {
        let out = self.tmux(&[
            "set".into(),
            "-s".into(),
            "set-clipboard".into(),
            "on".into(),
        ]);
        assert!(out.status.success(), "set-clipboard failed");
    }

    /// What an OSC 52 sequence last put on the clipboard ("" when none).
    pub fn clipboard(&self) -> String {
        let out = self.tmux(&["show-buffer".into()]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pid of the program running in the pane.
    pub fn pane_pid(&self) -> u32 {
        let out = self.tmux(&[
            "list-panes".into(),
            "-t".into(),
            "main".into(),
            "-F".into(),
            "#{pane_pid}".into(),
        ]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server".into()]);
    }
}

/// The line of the screen containing `needle`.
pub fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} on screen:\n{screen}"))
}
