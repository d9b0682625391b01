//! The http_pull connector end to end: the real binary pulls from the real
//! `syncdeck sim --config-backend` on loopback into real files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::binary::Syncdeck;
use crate::common::{SimProcess, eventually, http};

struct Rig {
    sd: Syncdeck,
    backend: SimProcess,
    target: PathBuf,
    changes: PathBuf,
}

fn config(backend: &str, target: &Path, changes: &Path, mode: &str, extra: &str) -> String {
    format!(
        r#"
[[instance]]
name = "backend"
url = "{backend}/config/{{token}}"
token_env = "SITE_TOKEN"

[[sync]]
name = "site"
kind = "http_pull"
source = "backend"
mode = "{mode}"

[sync.pull]
target = "{}"
on_change = ["sh", "-c", "echo \"$SYNCDECK_CONFIG_HASH\" >> {}"]
{extra}
"#,
        target.display(),
        changes.display()
    )
}

impl Rig {
    fn new(mode: &str, extra: &str) -> Rig {
        let backend = SimProcess::start(&["--config-backend"]);
        let mut sd = Syncdeck::sqlite();
        sd.env.push(("SITE_TOKEN".into(), "site-token-1".into()));
        let target = sd.dir.path().join("agent/site.json");
        let changes = sd.dir.path().join("changes.log");
        let path = sd.dir.path().join("pull.toml");
        std::fs::write(&path, config(&backend.url, &target, &changes, mode, extra)).unwrap();
        sd.ok(&["apply", "-f", path.to_str().unwrap()]);
        Rig {
            sd,
            backend,
            target,
            changes,
        }
    }

    fn pull_state(&self) -> Value {
        let status = self.sd.json(&["status", "site"]);
        status[0]["pull"].clone()
    }

    fn on_change_runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.changes)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    async fn served(&self) -> Value {
        http()
            .get(format!("{}/config/site-token-1", self.backend.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn control(&self, path: &str) {
        let resp = http()
            .post(format!(
                "{}/_backend/sites/site-token-1/{path}",
                self.backend.url
            ))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }
}

fn document(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_pulled_document_follows_the_backend_and_survives_its_failures() {
    let rig = Rig::new("manual", "");
    // Backend up: the file is written with the backend's own hash.
    rig.sd.ok(&["trigger", "site", "--wait"]);
    let served = rig.served().await;
    let hash = served["config_hash"].as_str().unwrap().to_string();
    assert_eq!(document(&rig.target), served);
    let state = rig.pull_state();
    assert_eq!(state["current_hash"], hash.as_str());
    assert_eq!(state["backend_hash"], hash.as_str());
    assert_eq!(state["last_sync_ok"], true);
    assert_eq!(state["items"], 3);
    assert_eq!(state["items_kind"], "devices");
    assert!(state["config_updated_at"].is_i64());
    assert_eq!(rig.on_change_runs(), std::slice::from_ref(&hash));

    // Unchanged: nothing written, on_change not run, and the backend sent
    // no body (If-None-Match → 304).
    let before = std::fs::read(&rig.target).unwrap();
    rig.sd.ok(&["trigger", "site", "--wait"]);
    let stats: Value = http()
        .get(format!("{}/_backend/stats", rig.backend.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["answers"]["304"], 1, "{stats}");
    assert_eq!(std::fs::read(&rig.target).unwrap(), before);
    assert_eq!(rig.on_change_runs().len(), 1);
    assert!(!rig.target.with_file_name("site.json.prev").exists());

    // A device added at the backend: picked up, the old document kept as .prev.
    rig.control("devices").await;
    rig.sd.ok(&["trigger", "site", "--wait"]);
    let new = document(&rig.target);
    assert_eq!(new["devices"].as_array().unwrap().len(), 4);
    assert_ne!(new["config_hash"], hash.as_str());
    assert_eq!(
        std::fs::read(rig.target.with_file_name("site.json.prev")).unwrap(),
        before
    );
    assert_eq!(rig.on_change_runs().len(), 2);
    assert_eq!(rig.pull_state()["items"], 4);
    let text = rig.sd.ok(&["status", "site"]);
    assert!(text.contains("document changed"), "{text}");
    assert!(text.contains("4 devices"), "{text}");

    // A local copy edited by hand no longer matches its own hash: the next
    // pull puts the official document back.
    let official = std::fs::read(&rig.target).unwrap();
    let edited = String::from_utf8(official.clone())
        .unwrap()
        .replace("Bâtiment A", "Bâtiment B");
    std::fs::write(&rig.target, edited).unwrap();
    rig.sd.ok(&["trigger", "site", "--wait"]);
    assert_eq!(std::fs::read(&rig.target).unwrap(), official);

    // Each failure leaves the file untouched and says what happened; the
    // backend's next good answer recovers.
    rig.control("devices").await;
    let good = std::fs::read(&rig.target).unwrap();
    for (fault, says) in [
        ("500", "failed (500"),
        ("html", "HTML page, not a JSON document"),
        ("truncated", "not a JSON document"),
        ("bad_hash", "but its content hashes to"),
    ] {
        rig.control(&format!("fault?kind={fault}")).await;
        let out = rig.sd.run(&["trigger", "site", "--wait"]);
        assert!(!out.status.success(), "{fault}: the job must fail");
        assert_eq!(std::fs::read(&rig.target).unwrap(), good, "{fault}");
        let state = rig.pull_state();
        assert_eq!(state["last_sync_ok"], false, "{fault}");
        let error = state["last_sync_error"].as_str().unwrap();
        assert!(error.contains(says), "{fault}: {error}");
        let text = rig.sd.ok(&["status", "site"]);
        assert!(text.contains("last pull error:"), "{text}");
    }
    rig.control("fault?kind=none").await;
    rig.sd.ok(&["trigger", "site", "--wait"]);
    assert_eq!(
        document(&rig.target)["devices"].as_array().unwrap().len(),
        5
    );
    assert_eq!(rig.pull_state()["last_sync_ok"], true);
    assert_eq!(rig.pull_state()["last_sync_error"], Value::Null);

    // A wrong token: refused, said so, file untouched.
    let mut wrong = Syncdeck::with_db(rig.sd.db.clone(), tempfile::tempdir().unwrap());
    wrong.env.push(("SITE_TOKEN".into(), "not-a-site".into()));
    let good = std::fs::read(&rig.target).unwrap();
    let out = wrong.run(&["trigger", "site", "--wait"]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&rig.target).unwrap(), good);
    let error = rig.pull_state()["last_sync_error"].clone();
    assert!(
        error.as_str().unwrap().contains("refused the site's token"),
        "{error}"
    );
    assert!(
        !error.as_str().unwrap().contains("not-a-site"),
        "the token is never shown"
    );

    // The backend down: the same.
    let port: u16 = rig.backend.url.rsplit(':').next().unwrap().parse().unwrap();
    let Rig {
        sd,
        backend,
        target,
        changes,
    } = rig;
    drop(backend);
    let out = sd.run(&["trigger", "site", "--wait"]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&target).unwrap(), good);
    let status = sd.json(&["status", "site"]);
    let error = status[0]["pull"]["last_sync_error"].as_str().unwrap();
    assert!(error.contains("cannot reach"), "{error}");
    assert!(
        !error.contains("site-token-1"),
        "the token in the path is never shown: {error}"
    );
    // …and back where it was: recovered.
    let backend = SimProcess::start_on(port, &["--config-backend"]);
    let rig = Rig {
        sd,
        backend,
        target,
        changes,
    };
    rig.sd.ok(&["trigger", "site", "--wait"]);
    assert_eq!(rig.pull_state()["last_sync_ok"], true);
    assert_eq!(document(&rig.target), rig.served().await);
}

#[tokio::test]
async fn the_daemon_polls_the_backend_and_applies_a_change_at_the_next_poll() {
    let rig = Rig::new("automatic", "interval = \"1s\"\nfirst_pull_after = \"0s\"");
    let _daemon = rig.sd.daemon(&[]);
    eventually(
        "the first poll writes the file",
        Duration::from_secs(30),
        async || rig.target.exists().then_some(()),
    )
    .await;
    rig.control("devices").await;
    eventually(
        "the change is pulled",
        Duration::from_secs(30),
        async || {
            let doc: Value = serde_json::from_slice(&std::fs::read(&rig.target).ok()?).ok()?;
            (doc["devices"].as_array()?.len() == 4).then_some(())
        },
    )
    .await;
    assert!(rig.target.with_file_name("site.json.prev").exists());
    eventually("on_change ran twice", Duration::from_secs(10), async || {
        (rig.on_change_runs().len() == 2).then_some(())
    })
    .await;
    // Polls that find nothing new make no jobs: one per change.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let jobs = rig.sd.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    let log =
        std::fs::read_to_string(rig.sd.dir.path().join("syncdeck/logs/syncdeck.log")).unwrap();
    assert!(log.contains("config is up to date (hash "), "{log}");
    assert!(log.contains("config changed: old "), "{log}");
    assert!(log.contains(", 4 devices"), "{log}");
}

#[tokio::test]
async fn a_writer_killed_at_any_moment_leaves_the_old_or_the_new_document() {
    let rig = Rig::new("manual", "");
    // Documents large enough that a write takes a while.
    let big = |version: u64| json!({"version": version, "devices": (0..40_000).map(|i| json!({"ip": format!("10.0.{}.{}", i / 250, i % 250), "name": format!("appareil n°{i}")})).collect::<Vec<_>>()});
    let mut seen = vec![];
    for version in 0..6u64 {
        let resp = http()
            .put(format!(
                "{}/_backend/sites/site-token-1/document",
                rig.backend.url
            ))
            .json(&big(version))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        seen.push(version);
        let mut child = rig
            .sd
            .command(&["trigger", "site", "--wait"])
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(150 + 90 * version)).await;
        let _ = child.kill();
        let _ = child.wait();
        if let Ok(bytes) = std::fs::read(&rig.target) {
            let doc: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("a partial document after a kill: {e}"));
            assert!(seen.contains(&doc["version"].as_u64().unwrap()));
            assert_eq!(doc["devices"].as_array().unwrap().len(), 40_000);
        }
    }
}

#[tokio::test]
async fn a_pulled_syncdeck_configuration_is_applied_or_refused_whole() {
    let source = SimProcess::start(&[]);
    let dest = SimProcess::start(&["--empty"]);
    let backend = SimProcess::start(&["--config-backend"]);
    let mut sd = Syncdeck::sqlite();
    sd.env.push(("FLEET_TOKEN".into(), "site-token-2".into()));
    let path = sd.dir.path().join("fleet.toml");
    let target = sd.dir.path().join("fleet.json");
    std::fs::write(
        &path,
        format!(
            r#"
[[instance]]
name = "source"
url = "{}"
username = "admin"
password_env = "SD_SOURCE_PW"

[[instance]]
name = "destination"
url = "{}"
username = "admin"
password_env = "SD_DEST_PW"

[[instance]]
name = "backend"
url = "{}/config"
token_env = "FLEET_TOKEN"

[[sync]]
name = "fleet"
kind = "http_pull"
source = "backend"
mode = "automatic"

[sync.pull]
target = "{}"
apply = "syncdeck"
interval = "1s"
first_pull_after = "0s"
"#,
            source.url,
            dest.url,
            backend.url,
            target.display()
        ),
    )
    .unwrap();
    sd.ok(&["apply", "-f", path.to_str().unwrap()]);
    let fleet_doc = |interval: &str| {
        json!({"sync": [{"name": "from-backend", "source": "source", "destination": "destination",
            "mode": "automatic", "metadata": ["organisationUnits"], "data_sets": [], "programs": [],
            "auto": {"check_interval": interval, "immediate_sync": true, "delay_before_sync": "0s"}}]})
    };
    let put = async |doc: &Value| {
        let resp = http()
            .put(format!(
                "{}/_backend/sites/site-token-2/document",
                backend.url
            ))
            .json(doc)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    };
    put(&fleet_doc("10m")).await;
    let _daemon = sd.daemon(&[]);
    // The backend's sync appears and the daemon schedules it: its first sync runs.
    let id = eventually(
        "the pulled sync is applied",
        Duration::from_secs(30),
        async || {
            let out = sd.run(&["status", "from-backend", "--json"]);
            let status: Value = serde_json::from_slice(&out.stdout).ok()?;
            status[0]["id"].as_i64()
        },
    )
    .await;
    eventually(
        "the daemon runs the pulled sync",
        Duration::from_secs(60),
        async || {
            sd.jobs()
                .into_iter()
                .find(|j| j["config_id"] == id && j["state"] == "completed")
        },
    )
    .await;

    // An invalid configuration changes nothing and is reported by its field.
    put(&fleet_doc("5s")).await;
    let error = eventually(
        "the refusal is recorded",
        Duration::from_secs(30),
        async || {
            let status = sd.json(&["status", "fleet"]);
            status[0]["pull"]["last_sync_error"]
                .as_str()
                .map(str::to_string)
        },
    )
    .await;
    assert!(
        error.contains("[sync \"from-backend\"].auto.check_interval: must be at least 60s"),
        "{error}"
    );
    let exported = sd.ok(&["export"]);
    assert!(exported.contains("check_interval = \"10m\""), "{exported}");
    let kept: Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(
        kept["sync"][0]["auto"]["check_interval"], "10m",
        "the last good document stays"
    );
}
