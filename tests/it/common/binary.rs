//! The real `syncdeck` binary on a database of its own (SQLite in a temp
//! dir unless given one), with the instances' passwords in its env and its
//! logs under the temp dir.

use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use super::{PASSWORD, SimProcess};

pub struct Syncdeck {
    pub db: String,
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Syncdeck {
    pub fn sqlite() -> Syncdeck {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("syncdeck.db").display().to_string();
        Syncdeck::with_db(db, dir)
    }

    pub fn with_db(db: String, dir: tempfile::TempDir) -> Syncdeck {
        Syncdeck {
            db,
            dir,
            env: vec![
                ("SD_SOURCE_PW".into(), PASSWORD.into()),
                ("SD_DEST_PW".into(), PASSWORD.into()),
            ],
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.arg("--db").arg(&self.db).args(args);
        c.env_remove("SYNCDECK_DB");
        c.env("XDG_DATA_HOME", self.dir.path());
        // The daemon's API socket goes there too, not in the host's.
        c.env("XDG_RUNTIME_DIR", self.dir.path());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects exit 0.
    pub fn ok_output(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "syncdeck {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs, expects exit 0 and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok_output(args).stdout).unwrap()
    }

    /// Runs with `--json` and expects exit 0.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    pub fn daemon(&self, args: &[&str]) -> Daemon {
        let mut all = vec!["daemon"];
        all.extend_from_slice(args);
        Daemon(
            self.command(&all)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    /// Writes the default `copy` config for `source` → `dest` (with `extra`
    /// lines in its auto table) and applies it.
    pub fn apply(&self, source: &SimProcess, dest: &SimProcess, extra: &str) {
        let path = self.dir.path().join("syncdeck.toml");
        std::fs::write(&path, super::copy_config(source, dest, "30m", extra)).unwrap();
        self.ok(&["apply", "-f", path.to_str().unwrap()]);
    }

    pub fn jobs(&self) -> Vec<Value> {
        self.json(&["jobs"]).as_array().unwrap().clone()
    }

    /// `sync_jobs.log` so far ("" before the first line).
    pub fn job_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("syncdeck/logs/sync_jobs.log"))
            .unwrap_or_default()
    }
}

/// A daemon process, killed if a failing test leaves it running.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
