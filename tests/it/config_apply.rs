//! `syncdeck apply` / `syncdeck export` through the real binary on a throwaway
//! SQLite file, plus the store calls the engine uses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use syncdeck::config::file;
use syncdeck::store::{DbTarget, Store};

use crate::common;

const PASSWORD: &str = "N4tional-Pa55word-value";
const TOKEN: &str = "d2pat_R3porting-token-value";
const EXAMPLE: &str = include_str!("../../assets/example.toml");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    outputs: Vec<String>,
    /// Secret variables left out of the environment of the next runs.
    unset: Vec<&'static str>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("syncdeck.db");
        Env {
            dir,
            db,
            outputs: Vec::new(),
            unset: Vec::new(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    fn run(&mut self, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        command
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("NATIONAL_PASSWORD", PASSWORD)
            .env("REPORTING_TOKEN", TOKEN)
            .env("XDG_DATA_HOME", self.dir.path())
            .env_remove("SYNCDECK_DB");
        for var in &self.unset {
            command.env_remove(var);
        }
        let out = command.output().expect("run syncdeck");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.outputs.push(format!("{}{}", run.stdout, run.stderr));
        run
    }

    fn apply(&mut self, path: &Path, extra: &[&str]) -> Run {
        let path = path.to_str().expect("utf-8 path");
        let mut args = vec!["apply", "-f", path];
        args.extend(extra);
        self.run(&args)
    }

    fn ok_apply(&mut self, path: &Path, extra: &[&str]) -> String {
        let r = self.apply(path, extra);
        assert_eq!(r.code, 0, "apply failed:\n{}{}", r.stdout, r.stderr);
        r.stdout
    }

    fn export(&mut self) -> String {
        let r = self.run(&["export"]);
        assert_eq!(r.code, 0, "export failed: {}", r.stderr);
        r.stdout
    }
}

#[test]
fn apply_is_idempotent_and_export_round_trips() {
    let mut env = Env::new();
    let example = env.write("example.toml", EXAMPLE);
    let out = env.ok_apply(&example, &[]);
    for line in [
        "+ instance national",
        "+ instance reporting",
        "+ sync national-to-reporting",
        "+ sync reporting-metadata-back",
        "+ instance config-backend",
        "+ sync site-config",
        "applied: 6 created",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }

    let out = env.ok_apply(&example, &[]);
    assert!(
        out.contains("nothing to do: 0 created, 0 updated, 6 unchanged"),
        "{out}"
    );
    assert!(!out.contains('+') && !out.contains('~'), "{out}");

    let exported = env.export();
    assert!(exported.contains("check_interval = \"5m\""), "{exported}");
    // A timeout set is exported; the ones left to their defaults stay unset.
    assert!(exported.contains("import_timeout = \"10m\""), "{exported}");
    assert!(!exported.contains("first_byte_timeout"), "{exported}");
    // skip_sharing is stored and exported, both ways.
    assert!(exported.contains("skip_sharing = true"), "{exported}");
    assert!(exported.contains("skip_sharing = false"), "{exported}");
    let again = env.write("exported.toml", &exported);
    let out = env.ok_apply(&again, &[]);
    assert!(
        out.contains("6 unchanged"),
        "export → apply changes nothing:\n{out}"
    );
    assert_eq!(env.export(), exported, "export is stable");

    let json = env.ok_apply(&again, &["--json"]);
    let plan: serde_json::Value = serde_json::from_str(&json).expect("json plan");
    let actions: Vec<&str> = plan["syncs"]
        .as_array()
        .expect("syncs")
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(actions, ["unchanged", "unchanged", "unchanged"]);
    let r = env.run(&["export", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json export");
    assert_eq!(doc["sync"][0]["auto"]["cooldown_after_error"], "30m");
}

#[test]
fn changes_are_updates_and_dry_run_writes_nothing() {
    let mut env = Env::new();
    let example = env.write("example.toml", EXAMPLE);
    env.ok_apply(&example, &[]);
    let changed = env.write(
        "changed.toml",
        &EXAMPLE
            .replace("check_interval = \"5m\"", "check_interval = \"10m\"")
            .replace(
                "url = \"http://127.0.0.1:8082\"",
                "url = \"https://reporting.example.org\"",
            )
            .replace(
                "# first_byte_timeout = \"60s\"",
                "first_byte_timeout = \"2m\"",
            ),
    );
    let before = env.export();
    let out = env.ok_apply(&changed, &["--dry-run"]);
    assert!(
        out.contains("~ sync national-to-reporting (auto.check_interval 5m → 10m)"),
        "{out}"
    );
    assert!(
        out.contains(
            "~ instance reporting (url http://127.0.0.1:8082 → https://reporting.example.org)"
        ),
        "{out}"
    );
    assert!(
        out.contains("~ instance national (first_byte_timeout - → 2m)"),
        "{out}"
    );
    assert!(out.contains("= sync reporting-metadata-back"), "{out}");
    assert!(out.contains("dry run, nothing written"), "{out}");
    assert_eq!(env.export(), before, "dry run wrote nothing");

    let out = env.ok_apply(&changed, &[]);
    assert!(
        out.contains("applied: 0 created, 3 updated, 3 unchanged"),
        "{out}"
    );
    let exported = env.export();
    assert!(exported.contains("check_interval = \"10m\""));
    assert!(
        exported.contains("first_byte_timeout = \"2m\""),
        "{exported}"
    );
}

#[test]
fn prune_removes_configs_not_in_the_file() {
    let mut env = Env::new();
    let example = env.write("example.toml", EXAMPLE);
    env.ok_apply(&example, &[]);
    let Some((first, _)) = EXAMPLE.split_once("# Manual:") else {
        panic!("example changed: no manual sync section");
    };
    let only_first = env.write("first.toml", first);

    let out = env.ok_apply(&only_first, &[]);
    assert!(
        out.contains("? sync reporting-metadata-back (not in the file; --prune removes it)"),
        "{out}"
    );
    assert!(env.export().contains("reporting-metadata-back"));

    let out = env.ok_apply(&only_first, &["--prune", "--dry-run"]);
    assert!(
        out.contains("- sync reporting-metadata-back (pruned)"),
        "{out}"
    );
    assert!(
        env.export().contains("reporting-metadata-back"),
        "dry run kept it"
    );

    let out = env.ok_apply(&only_first, &["--prune"]);
    assert!(
        out.contains("- sync reporting-metadata-back (pruned)"),
        "{out}"
    );
    // The sync after it goes too, and so does the instance only it used.
    assert!(out.contains("- sync site-config (pruned)"), "{out}");
    assert!(out.contains("- instance config-backend (pruned)"), "{out}");
    assert!(out.contains("3 pruned"), "{out}");
    let exported = env.export();
    assert!(!exported.contains("reporting-metadata-back"), "{exported}");
    assert!(
        exported.contains("name = \"reporting\""),
        "instances still used are kept"
    );
}

#[test]
fn an_invalid_file_applies_nothing_and_names_file_line_and_key() {
    let mut env = Env::new();
    let bad = EXAMPLE
        .replace("check_interval = \"5m\"", "check_interval = \"30s\"")
        .replace(
            "mode = \"manual\"",
            "mode = \"manual\"\nschedule = \"daily\"",
        );
    let path = env.write("bad.toml", &bad);
    let r = env.apply(&path, &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let line_of = |needle: &str| {
        bad.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
    };
    let (Some(interval), Some(schedule)) = (line_of("check_interval"), line_of("schedule")) else {
        panic!("lines not found");
    };
    let file = path.display().to_string();
    assert!(
        r.stderr.contains(&format!("{file}:{interval}:18: [sync \"national-to-reporting\"].auto.check_interval: must be at least 60s (got 30s)")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{file}:{schedule}:1: [sync \"reporting-metadata-back\"].schedule: unknown key"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2 error(s); nothing applied"),
        "{}",
        r.stderr
    );
    let exported = env.export();
    assert!(
        !exported.contains("[[instance]]"),
        "valid entries were not applied either:\n{exported}"
    );

    let inline = env.write(
        "inline.toml",
        &EXAMPLE.replace(
            "password_env = \"NATIONAL_PASSWORD\"",
            &format!("password = \"{PASSWORD}\""),
        ),
    );
    let r = env.apply(&inline, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("[instance \"national\"].password: inline secrets are refused"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("password_env = "), "{}", r.stderr);
}

#[test]
fn secret_values_never_appear_in_output_or_database() {
    let mut env = Env::new();
    let example = env.write("example.toml", EXAMPLE);
    env.ok_apply(&example, &["--dry-run"]);
    env.ok_apply(&example, &[]);
    env.ok_apply(&example, &["--json"]);
    env.export();
    env.run(&["export", "--json"]);
    let inline = env.write(
        "inline.toml",
        &EXAMPLE.replace(
            "token_env = \"REPORTING_TOKEN\"",
            &format!("token = \"{TOKEN}\""),
        ),
    );
    assert_eq!(env.apply(&inline, &[]).code, 2);
    for out in &env.outputs {
        assert!(
            !out.contains(PASSWORD) && !out.contains(TOKEN),
            "secret leaked:\n{out}"
        );
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(env.dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("syncdeck.db"))
        {
            bytes.extend(std::fs::read(&path).expect("read db"));
        }
    }
    assert!(!bytes.is_empty());
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("NATIONAL_PASSWORD"),
        "the reference is stored"
    );
    assert!(
        !text.contains(PASSWORD) && !text.contains(TOKEN),
        "secret stored in the database"
    );
}

#[tokio::test]
async fn a_url_with_credentials_is_refused_by_apply_and_the_store_and_never_shown() {
    const IN_URL: &str = "Pa55-in-the-url";
    let mut env = Env::new();
    let text = EXAMPLE.replace(
        "url = \"http://127.0.0.1:8081\"",
        &format!("url = \"http://admin:{IN_URL}@127.0.0.1:8081\""),
    );
    let path = env.write("creds.toml", &text);
    let line = text.lines().position(|l| l.contains(IN_URL)).expect("line") + 1;
    for extra in [&[][..], &["--dry-run"][..]] {
        let r = env.apply(&path, extra);
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "{}:{line}:7: [instance \"national\"].url: must not contain a username or password",
                path.display()
            )),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("password_env"), "{}", r.stderr);
    }
    let r = env.apply(&path, &["--json"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let errors: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let e = &errors["errors"][0];
    assert_eq!(
        (&e["line"], &e["key"]),
        (
            &serde_json::json!(line),
            &serde_json::json!("[instance \"national\"].url")
        ),
        "{errors:#}"
    );
    assert!(!env.export().contains("[[instance]]"), "nothing applied");

    // Any other way in is refused by the store itself.
    let config =
        file::parse(Path::new("example.toml"), EXAMPLE, &BTreeSet::new()).expect("example");
    let mut with_creds = config.clone();
    with_creds.instances[0].url = format!("http://admin:{IN_URL}@127.0.0.1:8081");
    let store = Store::open(&DbTarget::Sqlite(env.db.clone()))
        .await
        .expect("open");
    let e = store
        .apply(&with_creds, false, false)
        .await
        .expect_err("refused");
    assert!(
        e.to_string().contains(
            "instance national: its url http://***@127.0.0.1:8081 holds a username or password"
        ),
        "{e}"
    );
    assert!(store.list_instances().await.expect("list").is_empty());
    store.close().await;

    // A database written before apply refused them: export and apply's
    // plan show `***`, never the password.
    env.ok_apply(&env.write("example.toml", EXAMPLE), &[]);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db.display()))
        .await
        .expect("sqlite");
    sqlx::query("UPDATE instances SET url = ? WHERE name = 'national'")
        .bind(format!("http://admin:{IN_URL}@127.0.0.1:8081"))
        .execute(&pool)
        .await
        .expect("update");
    pool.close().await;
    let exported = env.export();
    assert!(
        exported.contains("url = \"http://***@127.0.0.1:8081\""),
        "{exported}"
    );
    let plan = env.ok_apply(&env.write("example.toml", EXAMPLE), &["--dry-run"]);
    assert!(plan.contains("http://***@127.0.0.1:8081"), "{plan}");
    // Exported as is, the file is refused until the password is moved out.
    let r = env.apply(&env.write("exported.toml", &exported), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    // At run time the stored URL is a configuration error: failed once, no retry.
    let r = env.run(&["trigger", "national-to-reporting", "--wait", "--json"]);
    assert_ne!(r.code, 0);
    let job = &serde_json::from_str::<serde_json::Value>(&r.stdout).expect("json")["job"];
    assert_eq!(job["state"], "failed", "{job:#}");
    assert_eq!(job["attempt"], 1, "not retried: {job:#}");
    assert_eq!(job["error_kind"], "config", "{job:#}");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("must not contain a username or password"),
        "{job:#}"
    );
    for out in &env.outputs {
        assert!(
            !out.contains(IN_URL),
            "the password in the URL leaked:\n{out}"
        );
    }
}

#[test]
fn a_missing_secret_at_run_time_fails_once_and_says_what_to_set() {
    let mut env = Env::new();
    env.ok_apply(&env.write("example.toml", EXAMPLE), &[]);
    env.unset = vec!["REPORTING_TOKEN"];
    let r = env.run(&["trigger", "national-to-reporting", "--wait", "--json"]);
    assert_ne!(r.code, 0, "exit non-zero when the job failed");
    let result: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let job = &result["job"];
    assert_eq!(job["state"], "failed", "{job:#}");
    assert_eq!(
        job["attempt"], 1,
        "a configuration error is not retried: {job:#}"
    );
    assert_eq!(job["error_kind"], "config", "{job:#}");
    let error = job["last_error"].as_str().unwrap_or("");
    assert!(
        error.contains("instance reporting")
            && error.contains("environment variable REPORTING_TOKEN is not set; set it"),
        "{error}"
    );
    let failed = env.run(&["jobs", "--failed", "--json"]);
    let failed: serde_json::Value = serde_json::from_str(&failed.stdout).expect("json");
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "{failed:#}");
    let queued = env.run(&["jobs", "--json"]);
    let queued: serde_json::Value = serde_json::from_str(&queued.stdout).expect("json");
    assert!(
        queued
            .as_array()
            .expect("jobs")
            .iter()
            .all(|j| j["state"] != "queued"),
        "no retry waiting: {queued:#}"
    );
}

/// The store calls the engine and the CLI use, on SQLite.
#[tokio::test]
async fn store_crud_keeps_operator_state_across_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    store_crud(&DbTarget::Sqlite(dir.path().join("s.db"))).await;
}

/// The same on PostgreSQL (a throwaway cluster, see `common::pg`: says so
/// loudly when there is none, and fails then under `SYNCDECK_REQUIRE_PG=1`).
#[tokio::test]
async fn store_crud_on_postgres() {
    let Some(url) = common::pg::database().await else {
        return;
    };
    store_crud(&DbTarget::Postgres(url)).await;
}

async fn store_crud(target: &DbTarget) {
    let store = Store::open(target).await.expect("open");
    let config =
        file::parse(Path::new("example.toml"), EXAMPLE, &BTreeSet::new()).expect("example");
    store.apply(&config, false, false).await.expect("apply");

    let instances = store.list_instances().await.expect("instances");
    assert_eq!(instances.len(), 3);
    // Timeouts: the one the example sets is stored, the others stay unset (defaults).
    let reporting = &instances[1];
    assert_eq!(reporting.name, "reporting");
    assert_eq!(reporting.timeouts.import, Some(Duration::from_secs(600)));
    assert_eq!(
        (reporting.timeouts.connect, reporting.timeouts.idle),
        (None, None)
    );
    assert_eq!(instances[0].timeouts, Default::default());
    let national = store
        .instance_by_name("national")
        .await
        .expect("by name")
        .expect("national");
    assert_eq!(
        store.instance(national.id).await.expect("by id"),
        Some(national.clone())
    );

    let configs = store.list_configs().await.expect("configs");
    assert_eq!(configs.len(), 3);
    let pull = configs[2].pull.as_ref().expect("site-config's [sync.pull]");
    assert_eq!(pull.on_change, ["systemctl", "reload", "site-agent"]);
    assert!(configs[2].wants_scheduler(), "an automatic http_pull polls");
    // Its pull state, in both dialects.
    let pulled = syncdeck::store::pull::PullState {
        last_sync_at: Some(1_700_000_000_000),
        last_sync_ok: Some(false),
        last_sync_error: Some("backend failed (500)".into()),
        current_hash: Some("d35318b5763e2bdbecabddf0ff5784c5".into()),
        backend_hash: Some("f03257ff5b8653cb2b7cc3f114e9069c".into()),
        config_updated_at: Some(1_699_000_000_000),
        items: Some(4),
        items_kind: Some("devices".into()),
        refused_hash: None,
        failures: 3,
    };
    store
        .save_pull_state(configs[2].id, &pulled)
        .await
        .expect("save pull state");
    assert_eq!(
        store.pull_state(configs[2].id).await.expect("pull state"),
        pulled
    );
    let auto = configs[0].clone();
    assert!(auto.wants_scheduler());
    assert_eq!(auto.source_id, national.id);
    assert!(configs[1].auto.is_none());
    assert_eq!(
        store
            .config_by_ref(&auto.id.to_string())
            .await
            .expect("by id"),
        auto
    );
    assert_eq!(
        store
            .config_by_ref("national-to-reporting")
            .await
            .expect("by name"),
        auto
    );
    let missing = store.config_by_ref("nope").await.expect_err("missing");
    assert!(missing.to_string().contains("\"nope\""), "{missing}");

    store.set_active(auto.id, false).await.expect("stop");
    let mut settings = auto.auto.clone().expect("auto");
    settings.check_interval = Duration::from_secs(120);
    store
        .update_auto_settings(auto.id, &settings)
        .await
        .expect("settings");
    let stored = store
        .config(auto.id)
        .await
        .expect("config")
        .expect("exists");
    assert!(!stored.active);
    assert_eq!(
        stored.auto.as_ref().map(|a| a.check_interval),
        Some(Duration::from_secs(120))
    );

    // Re-applying the file restores its settings but not the start/stop switch.
    let plan = store.apply(&config, false, false).await.expect("reapply");
    assert_eq!(plan.count(syncdeck::store::Action::Update), 1);
    let stored = store
        .config(auto.id)
        .await
        .expect("config")
        .expect("exists");
    assert!(!stored.active, "apply does not restart a stopped config");
    assert_eq!(stored.auto, auto.auto);

    store.delete_config(configs[1].id).await.expect("delete");
    assert!(store.config(configs[1].id).await.expect("config").is_none());
    assert!(store.delete_config(configs[1].id).await.is_err());
    store.close().await;
}
