//! End to end through the real binary (`apply`, `trigger --wait`): a source
//! with users, user groups, sharing, attribute values and translations into a
//! destination whose users differ. The default config converges in one run,
//! moves no users, and a second run sends nothing; naming `users` opts in, with
//! a warning on `apply` and in the job log.

use std::process::Command;

use serde_json::Value;

use crate::common;
use crate::common::binary::Syncdeck;
use crate::common::edits::{INSTANCE_LOCAL, digest_differences};
use crate::common::{SimProcess, digest, sim_counter};

impl Syncdeck {
    /// Applies `copy` from source to dest with these lines of the default
    /// config replaced; returns what `apply` printed on stderr.
    fn apply_edited(
        &self,
        source: &SimProcess,
        dest: &SimProcess,
        edits: &[(&str, &str)],
    ) -> String {
        let mut config = common::copy_config(source, dest, "30m", "");
        for (from, to) in edits {
            assert!(config.contains(from), "{from}");
            config = config.replace(from, to);
        }
        let path = self.dir.path().join("syncdeck.toml");
        std::fs::write(&path, config).unwrap();
        String::from_utf8(
            self.ok_output(&["apply", "-f", path.to_str().unwrap()])
                .stderr,
        )
        .unwrap()
    }

    fn trigger(&self) -> Value {
        let out = self.run(&["trigger", "copy", "--wait", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "trigger --wait: {e}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

fn errors(result: &Value) -> Vec<String> {
    result["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["errors"].as_u64() != Some(0))
        .map(|r| r.to_string())
        .collect()
}

fn instance_local(d: &Value) -> Vec<Value> {
    INSTANCE_LOCAL.iter().map(|k| d[*k].clone()).collect()
}

// dhis2-core 2.41.3 ReferencesCheck.checkSharing: without skipSharing every
// object shared with a source user the destination lacks is an E5002, run
// after run; the default sync sends skipSharing=true and leaves users out.
#[tokio::test]
async fn default_sync_moves_no_users_converges_once_and_then_sends_nothing() {
    let source = SimProcess::start(&["--seed", "31"]);
    let dest = SimProcess::start(&["--seed", "32", "--empty"]);
    let sd = Syncdeck::sqlite();
    let warned = sd.apply_edited(&source, &dest, &[]);
    assert!(!warned.contains("warning"), "{warned}");
    let export = String::from_utf8(sd.ok_output(&["export"]).stdout).unwrap();
    assert!(
        export.contains("skip_sharing = true"),
        "stored and exported: {export}"
    );

    let source_digest = digest(&source).await;
    assert!(
        source_digest["users"]["count"].as_u64().unwrap() > 1,
        "the source has its own users"
    );
    let dest_users = instance_local(&digest(&dest).await);

    let first = sd.trigger();
    assert_eq!(first["job"]["state"], "completed", "{first:#}");
    assert_eq!(
        errors(&first),
        Vec::<String>::new(),
        "no resource failed on sharing or attributes"
    );
    let keys: Vec<&str> = first["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    for t in INSTANCE_LOCAL {
        assert!(!keys.iter().any(|k| k.contains(t)), "{t} planned: {keys:?}");
    }
    assert!(keys.contains(&"metadata:attributes"), "{keys:?}");
    let after = digest(&dest).await;
    assert_eq!(
        instance_local(&after),
        dest_users,
        "the destination's users are untouched"
    );
    let differing = digest_differences(&source_digest, &after);
    assert!(differing.is_empty(), "one run converges: {differing:#?}");
    assert!(!sd.job_log().contains("syncing users"), "{}", sd.job_log());

    let imported = sim_counter(&dest, "objectsImported").await;
    let second = sd.trigger();
    assert_eq!(second["job"]["state"], "completed", "{second:#}");
    assert_eq!(
        sim_counter(&dest, "objectsImported").await,
        imported,
        "the second run sends nothing: {second:#}"
    );
    assert!(digest_differences(&source_digest, &digest(&dest).await).is_empty());
}

#[tokio::test]
async fn naming_users_opts_in_with_a_warning() {
    let source = SimProcess::start(&["--seed", "33"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    let warned = sd.apply_edited(
        &source,
        &dest,
        &[
            ("metadata = [\"*\"]", "metadata = [\"userRoles\"]"),
            ("data_sets = [\"*\"]", "data_sets = []"),
            ("programs = [\"*\"]", "programs = []"),
        ],
    );
    assert!(
        warned.contains("warning: sync copy: metadata names userRoles"),
        "apply warns: {warned}"
    );
    // The daemon runs the initial sync; its job log is sync_jobs.log.
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .arg("--db")
        .arg(&sd.db)
        .args(["daemon", "--first-check-within", "1s"])
        .env_remove("SYNCDECK_DB")
        .env("XDG_DATA_HOME", sd.dir.path())
        .env("SD_SOURCE_PW", common::PASSWORD)
        .env("SD_DEST_PW", common::PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let completed = loop {
        let jobs: Value =
            serde_json::from_slice(&sd.ok_output(&["jobs", "--json"]).stdout).unwrap();
        if jobs
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["state"] == "completed")
        {
            break true;
        }
        if start.elapsed() > std::time::Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    assert!(completed, "the daemon's sync completed within 60 s");
    let log = sd.job_log();
    assert!(
        log.contains("[WARN]") && log.contains("syncing userRoles"),
        "the job log warns: {log}"
    );
    assert_eq!(
        digest(&dest).await["userRoles"],
        digest(&source).await["userRoles"],
        "the named type moved"
    );
}
