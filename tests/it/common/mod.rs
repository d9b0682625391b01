//! Test support: the real `syncdeck sim` binary, spawned per test on a free
//! port; PostgreSQL for store tests ([`pg`]).

pub mod binary;
pub mod edits;
pub mod hostile;
pub mod pg;
pub mod tmux;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SimProcess {
    child: Child,
    pub url: String,
}

impl SimProcess {
    /// Starts `syncdeck sim --port 0 ARGS` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Self {
        Self::start_on(0, args)
    }

    /// [`SimProcess::start`] on a chosen port (a restart where it was).
    pub fn start_on(port: u16, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_syncdeck"))
            .arg("sim")
            .args(["--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn syncdeck sim");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read first line");
        if line.is_empty() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("syncdeck sim {args:?} exited before listening: {err}");
        }
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Self { child, url }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `probe` every 100 ms until it returns `Some`, for at most `within`;
/// then panics naming `what`. For waiting on something a timer makes happen
/// (the simulator's `--mutate-every`, a clock tick) without guessing how long.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(seen) = probe().await {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plain HTTP client for poking the simulator directly.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub const USER: &str = "admin";
pub const PASSWORD: &str = "district";
pub const TOKEN: &str = "d2pat_syncdecksimulatortoken000000000000000";

/// `GET path` on a simulator as the admin, without our client: the status
/// and the JSON body (`Null` when it is not JSON).
pub async fn get_json(sim: &SimProcess, path: &str) -> (u16, serde_json::Value) {
    send_json(http().get(sim.api(path))).await
}

/// `POST path` with a JSON body, as [`get_json`].
pub async fn post_json(
    sim: &SimProcess,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    send_json(http().post(sim.api(path)).json(body)).await
}

async fn send_json(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let resp = req.basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// Our DHIS2 client against a simulator, with basic auth and default options.
pub fn client(sim: &SimProcess) -> syncdeck::connectors::dhis2::Dhis2Client {
    use syncdeck::connectors::dhis2::{ClientOptions, Credentials, Dhis2Client};
    Dhis2Client::new(
        &sim.url,
        Credentials::basic(USER, PASSWORD),
        ClientOptions::default(),
    )
    .expect("client")
}

/// `GET /api/_sim/digest` → its `resources` object.
pub async fn digest(sim: &SimProcess) -> serde_json::Value {
    let body: serde_json::Value = http()
        .get(sim.api("/api/_sim/digest"))
        .send()
        .await
        .expect("digest")
        .json()
        .await
        .expect("digest JSON");
    body["resources"].clone()
}

/// Every object of a metadata type (`fields` default `:owner`), in pages of 40.
pub async fn all_objects(
    c: &syncdeck::connectors::dhis2::Dhis2Client,
    plural: &str,
    fields: Option<&str>,
) -> Vec<serde_json::Value> {
    let mut pager = c
        .metadata_pages(
            plural,
            syncdeck::connectors::dhis2::MetadataQuery {
                fields: fields.map(str::to_string),
                page_size: 40,
                ..Default::default()
            },
        )
        .unwrap();
    let mut out = Vec::new();
    let mut failures = 0;
    while let Some(page) = pager.next_page().await {
        match page {
            Ok(page) => out.extend(page.items),
            // Flaky test servers: a failed page is asked for again.
            Err(e) if e.is_retryable() && failures < 40 => failures += 1,
            Err(e) => panic!("{plural}: {e}"),
        }
    }
    out
}

/// The `id` of a JSON object.
pub fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// `GET /api/_sim/stats`: one counter (`requests`, `objectsReturned`,
/// `objectsImported`) summed over resources.
pub async fn sim_counter(sim: &SimProcess, counter: &str) -> u64 {
    let stats: serde_json::Value = http()
        .get(sim.api("/api/_sim/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON");
    stats[counter].as_object().map_or(0, |m| {
        m.values().filter_map(serde_json::Value::as_u64).sum()
    })
}

/// One automatic sync `copy` from `source` to `dest` (secrets from the
/// `SD_SOURCE_PW` / `SD_DEST_PW` env vars), with `extra` lines appended to
/// its `[sync.auto]`.
pub fn copy_config(source: &SimProcess, dest: &SimProcess, cooldown: &str, extra: &str) -> String {
    copy_config_between(&source.url, &dest.url, cooldown, extra)
}

/// [`copy_config`] between any two URLs (a proxy in front of a simulator).
pub fn copy_config_between(source: &str, dest: &str, cooldown: &str, extra: &str) -> String {
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

[[sync]]
name = "copy"
kind = "dhis2"
source = "source"
destination = "destination"
mode = "automatic"
metadata = ["*"]
data_sets = ["*"]
programs = ["*"]

[sync.auto]
enabled = true
check_interval = "60s"
delay_before_sync = "0s"
immediate_sync = true
max_sync_per_hour = 0
cooldown_after_error = "{cooldown}"
{extra}
"#,
        source, dest
    )
}
