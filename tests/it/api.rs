//! The daemon's HTTP API against a real daemon process, over TCP on
//! loopback and its unix socket: every endpoint, its status codes, the
//! token, the old dashboard's shapes key for key, events with resume, and
//! `/metrics` read back by a Prometheus parser.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::binary::Syncdeck;
use crate::common::{SimProcess, eventually, http};

struct Api {
    _daemon: Daemon,
    base: String,
    socket: String,
    token: String,
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `daemon --listen 127.0.0.1:0` and reads where the API listens.
fn start(sd: &Syncdeck, extra: &[&str]) -> Api {
    let mut args = vec!["daemon", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = sd
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let announced = loop {
        let line = lines
            .next()
            .expect("the daemon said where the API is")
            .unwrap();
        if let Some(rest) = line.strip_prefix("API on ") {
            break rest.to_string();
        }
    };
    // Keep draining stderr so the daemon never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    let (addresses, _) = announced.split_once(" (bearer token in ").unwrap();
    let mut base = String::new();
    let mut socket = String::new();
    for a in addresses.split(" and ") {
        if let Some(path) = a.strip_prefix("unix:") {
            socket = path.to_string();
        } else {
            base = a.to_string();
        }
    }
    let token = std::fs::read_to_string(sd.dir.path().join("syncdeck/api-token"))
        .unwrap()
        .trim()
        .to_string();
    Api {
        _daemon: Daemon(child),
        base,
        socket,
        token,
    }
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<(&str, String)>) -> (u16, Value) {
        let (status, text) = self.call_text(method, path, body, true).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn call_text(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, String)>,
        with_token: bool,
    ) -> (u16, String) {
        let mut req = http().request(method.parse().unwrap(), format!("{}{path}", self.base));
        if with_token {
            req = req.bearer_auth(&self.token);
        }
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str) -> (u16, Value) {
        self.call("POST", path, None).await
    }
}

async fn completed_job(api: &Api) -> Value {
    eventually("a job completes", Duration::from_secs(90), async || {
        let (_, jobs) = api.get("/api/v1/jobs?state=completed").await;
        jobs.as_array()?.first().cloned()
    })
    .await
}

fn rig() -> (SimProcess, SimProcess, Syncdeck) {
    let source = SimProcess::start(&["--data-values", "2000"]);
    let dest = SimProcess::start(&["--empty"]);
    let sd = Syncdeck::sqlite();
    sd.apply(&source, &dest, "");
    (source, dest, sd)
}

#[tokio::test]
async fn every_endpoint_answers_with_its_status_and_needs_the_token() {
    let (_source, _dest, sd) = rig();
    let api = start(&sd, &["--first-check-within", "1s"]);

    // Without the token, or with a wrong one: 401 everywhere but the health checks.
    for path in [
        "/api/v1/snapshot",
        "/api/v1/jobs",
        "/metrics",
        "/api/v1/logs",
        "/api/v1/events",
        "/api/auto-sync/dashboard-stats/",
    ] {
        let (status, _) = api.call_text("GET", path, None, false).await;
        assert_eq!(status, 401, "{path} without a token");
        let resp = http()
            .get(format!("{}{path}", api.base))
            .bearer_auth("0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path} with a wrong token");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    }
    let (status, text) = api.call_text("GET", "/healthz", None, false).await;
    assert_eq!((status, text.as_str()), (200, "ok\n"));
    let (status, text) = api.call_text("GET", "/readyz", None, false).await;
    assert_eq!((status, text.as_str()), (200, "ready\n"));
    let (status, body) = api.get("/api/v2/nothing").await;
    assert_eq!(status, 404);
    assert_eq!(body["kind"], "not_found");

    // Reading.
    let (status, snapshot) = api.get("/api/v1/snapshot").await;
    assert_eq!(status, 200);
    assert_eq!(snapshot["configs"][0]["name"], "copy");
    let (status, configs) = api.get("/api/v1/configs").await;
    assert_eq!((status, configs.as_array().unwrap().len()), (200, 1));
    let (status, config) = api.get("/api/v1/configs/copy").await;
    assert_eq!(status, 200);
    assert!(config["watermarks"].is_object(), "{config}");
    assert_eq!(api.get("/api/v1/configs/nope").await.0, 404);

    let job = completed_job(&api).await;
    let id = job["id"].as_i64().unwrap();
    let (status, one) = api.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(status, 200);
    assert!(!one["resources"].as_array().unwrap().is_empty());
    assert_eq!(api.get("/api/v1/jobs/999999").await.0, 404);
    assert_eq!(
        api.get(&format!("/api/v1/jobs/{id}/rejections")).await.0,
        200
    );
    let (status, err) = api.get("/api/v1/jobs?state=bogus").await;
    assert_eq!(status, 400);
    assert!(err["error"].as_str().unwrap().contains("unknown state"));
    assert_eq!(api.get("/api/v1/jobs?config=copy&limit=5").await.0, 200);
    assert_eq!(api.get("/api/v1/detections?config=copy").await.0, 200);

    // Acting.
    let (status, queued) = api.post("/api/v1/configs/copy/trigger").await;
    assert_eq!(status, 202);
    assert_eq!(queued["job"]["kind"], "manual");
    assert_eq!(api.post("/api/v1/configs/nope/trigger").await.0, 404);
    let (status, stopped) = api.post("/api/v1/configs/copy/stop").await;
    assert_eq!(
        (status, stopped.clone()),
        (200, json!({"stopped": ["copy"]}))
    );
    let (status, started) = api.post("/api/v1/configs/copy/start").await;
    assert_eq!((status, started), (200, json!({"started": ["copy"]})));
    assert_eq!(api.post("/api/v1/configs/copy/cooldown/clear").await.0, 200);
    let bad = Some(("text/plain", "check_interval = \"5s\"".to_string()));
    let (status, err) = api.call("PUT", "/api/v1/configs/copy/settings", bad).await;
    assert_eq!(status, 422);
    assert!(
        err["problems"][0]["key"]
            .as_str()
            .unwrap()
            .contains("check_interval"),
        "{err}"
    );
    let good = Some((
        "text/plain",
        "check_interval = \"10m\"\nmax_sync_per_hour = 0".to_string(),
    ));
    assert_eq!(
        api.call("PUT", "/api/v1/configs/copy/settings", good)
            .await
            .0,
        200
    );
    assert_eq!(api.post("/api/v1/jobs/retry").await.0, 200);
    assert_eq!(api.post("/api/v1/jobs/clear").await.0, 200);

    // apply and export, with apply -f's validation.
    let (status, text) = api.call_text("GET", "/api/v1/export", None, true).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("[[sync]]") && text.contains("check_interval = \"10m\""),
        "{text}"
    );
    let (status, plan) = api
        .call(
            "POST",
            "/api/v1/apply?dry_run=true",
            Some(("application/toml", text.clone())),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["syncs"][0]["action"], "unchanged");
    let broken = text.replace("check_interval = \"10m\"", "check_interval = \"1s\"");
    let (status, err) = api
        .call("POST", "/api/v1/apply", Some(("application/toml", broken)))
        .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["problems"][0]["line"].as_u64().unwrap() > 0,
        "file:line kept: {err}"
    );
    let resp = http()
        .get(format!("{}/api/v1/export", api.base))
        .bearer_auth(&api.token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let exported: Value = resp.json().await.unwrap();
    let (status, plan) = api
        .call(
            "POST",
            "/api/v1/apply",
            Some(("application/json", exported.to_string())),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["syncs"][0]["action"], "unchanged",
        "JSON reads as the TOML does"
    );

    // Logs, with the CLI's allowlist.
    let (status, files) = api.get("/api/v1/logs").await;
    assert_eq!(status, 200);
    assert!(
        files["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "sync_jobs.log")
    );
    let (status, view) = api.get("/api/v1/logs/sync_jobs.log?tail=5").await;
    assert_eq!(status, 200);
    assert!(!view["lines"].as_array().unwrap().is_empty());
    for bad in ["..%2F..%2Fetc%2Fpasswd", "syncdeck.db", "sync_jobs.log.01"] {
        assert_eq!(
            api.get(&format!("/api/v1/logs/{bad}")).await.0,
            404,
            "{bad}"
        );
    }
    let (status, found) = api
        .get("/api/v1/logs/search?query=job%20completed&files=sync_jobs.log")
        .await;
    assert_eq!(status, 200);
    assert!(found["matches"].as_u64().unwrap() >= 1, "{found}");
    let resp = http()
        .get(format!("{}/api/v1/logs/sync_jobs.log/download", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("sync_jobs.log")
    );
    assert!(resp.text().await.unwrap().contains("job completed"));
    let (status, cleared) = api.post("/api/v1/logs/changes_detected.log/clear").await;
    assert_eq!(status, 200, "{cleared}");

    // The unix socket: private, and the same API.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&api.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", api.socket);
    let answer = over_socket(&api.socket, &api.token, "/api/v1/configs").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\":\"copy\""), "{answer}");
    let answer = over_socket(&api.socket, "wrong", "/api/v1/configs").await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// One request over the unix socket, by hand (HTTP/1.1, connection closed).
async fn over_socket(path: &str, token: &str, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::UnixStream::connect(path).await.unwrap();
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: syncdeck\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// Every key of `shape` is in `value`, recursively (objects in arrays
/// against the shape's first element; `{"*": x}` is any key with shape x).
fn assert_shape(value: &Value, shape: &Value, at: &str) {
    match shape {
        Value::Object(keys) => {
            let obj = value
                .as_object()
                .unwrap_or_else(|| panic!("{at} is not an object: {value}"));
            if let Some(each) = keys.get("*") {
                assert!(!obj.is_empty(), "{at} is empty");
                for (k, v) in obj {
                    assert_shape(v, each, &format!("{at}.{k}"));
                }
                return;
            }
            for (k, sub) in keys {
                let v = obj
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} is missing: {value}"));
                assert_shape(v, sub, &format!("{at}.{k}"));
            }
            let extra: Vec<&String> = obj.keys().filter(|k| !keys.contains_key(*k)).collect();
            assert!(
                extra.is_empty(),
                "{at} has keys the old dashboard did not: {extra:?}"
            );
        }
        Value::Array(items) => {
            let arr = value
                .as_array()
                .unwrap_or_else(|| panic!("{at} is not a list: {value}"));
            if let Some(first) = items.first() {
                assert!(!arr.is_empty(), "{at} is empty");
                for (i, v) in arr.iter().enumerate() {
                    assert_shape(v, first, &format!("{at}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_dashboard_scripts_get_the_old_shapes_key_for_key() {
    let (_source, _dest, sd) = rig();
    let api = start(&sd, &["--first-check-within", "1s"]);
    let job = completed_job(&api).await;
    let (status, progress) = api.get("/api/auto-sync/copy/progress/").await;
    assert_eq!(status, 200);
    // The keys of issue 11, which are the old dashboard's.
    let shape = json!({
        "success": true, "is_running": false, "job_id": 1, "config_name": "",
        "progress": {"percent": 0, "total_expected": 0, "total_processed": 0, "total_synced": 0, "total_errors": 0},
        "timing": {"started_at": "", "elapsed_seconds": 0, "speed_per_second": 0, "estimated_remaining_seconds": 0},
        "resources": {"*": {"type": "", "synced": 0, "errors": 0, "total": 0, "percent": 0}},
        "current_step": "", "current_resource": ""
    });
    assert_shape(&progress, &shape, "progress");
    assert_eq!(progress["job_id"], job["id"]);
    assert_eq!(
        progress["progress"]["total_synced"],
        job["progress"]["synced"]
    );
    assert_eq!(progress["progress"]["percent"], 100.0);
    assert_eq!(progress["is_running"], false);
    assert!(
        progress["timing"]["started_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(api.get("/api/auto-sync/nope/progress/").await.0, 404);

    let (status, stats) = api.get("/api/auto-sync/dashboard-stats/").await;
    assert_eq!(status, 200);
    let shape = json!({
        "success": true,
        "configs": [{"config_id": 1, "config_name": "", "source": "", "destination": "",
            "is_active": true, "is_running": false,
            "settings": {"is_enabled": true, "check_interval": 60},
            "last_job": {"id": 1, "status": "", "started_at": "", "completed_at": "", "total_synced": 0, "total_errors": 0},
            "has_running_job": false}],
        "scheduler": {"total_active": 1, "active_configs": []}
    });
    assert_shape(&stats, &shape, "dashboard-stats");
    assert_eq!(stats["configs"][0]["settings"]["check_interval"], 60);
    assert_eq!(stats["configs"][0]["last_job"]["status"], "completed");
    assert_eq!(stats["scheduler"]["total_active"], 1);
}

/// The events of an SSE response until `enough` says stop (or 30 s pass).
async fn read_events(
    api: &Api,
    last_id: Option<u64>,
    mut enough: impl FnMut(&[(u64, String, Value)]) -> bool,
) -> Vec<(u64, String, Value)> {
    use futures_util::StreamExt;
    let mut req = http()
        .get(format!("{}/api/v1/events", api.base))
        .bearer_auth(&api.token);
    if let Some(id) = last_id {
        req = req.header("last-event-id", id.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !enough(&events) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("events within 30 s")
            .expect("the stream stays open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut name, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Some(id) = id {
                events.push((id, name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
        }
    }
    events
}

fn final_states(events: &[(u64, String, Value)]) -> Vec<(i64, String)> {
    events
        .iter()
        .filter(|(_, name, e)| name == "engine" && e["event"] == "job_state")
        .filter(|(_, _, e)| matches!(e["state"].as_str(), Some("completed" | "failed")))
        .map(|(_, _, e)| {
            (
                e["job_id"].as_i64().unwrap(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_client_that_reconnects_with_last_event_id_misses_no_job_state() {
    let (_source, _dest, sd) = rig();
    let api = start(&sd, &["--first-check-within", "1s"]);
    // From the daemon's first event (id 0 = everything the ring holds, so a
    // sync that ended before this client connected is there too): the first
    // sync's end, with log lines beside it.
    let first = read_events(&api, Some(0), |e| {
        !final_states(e).is_empty() && e.iter().any(|(_, n, _)| n == "log")
    })
    .await;
    let last_seen = first.last().unwrap().0;
    assert!(
        first.iter().any(|(_, n, _)| n == "log"),
        "log lines are events too"
    );
    let ids: Vec<u64> = first.iter().map(|e| e.0).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    // Disconnected while two more jobs run to their end.
    let mut triggered = Vec::new();
    for _ in 0..2 {
        let (status, queued) = api.post("/api/v1/configs/copy/trigger").await;
        assert_eq!(status, 202);
        let id = queued["job"]["id"].as_i64().unwrap();
        triggered.push(id);
        eventually(
            "the triggered job ends",
            Duration::from_secs(60),
            async || {
                let (_, job) = api.get(&format!("/api/v1/jobs/{id}")).await;
                matches!(job["job"]["state"].as_str(), Some("completed" | "failed")).then_some(())
            },
        )
        .await;
    }
    // Back with Last-Event-ID: every state change missed comes first.
    let replay = read_events(&api, Some(last_seen), |e| {
        let ended: Vec<i64> = final_states(e).iter().map(|s| s.0).collect();
        triggered.iter().all(|id| ended.contains(id))
    })
    .await;
    assert!(
        replay.iter().all(|e| e.0 > last_seen),
        "nothing already seen is sent again"
    );
    for id in &triggered {
        for state in ["running", "completed"] {
            assert!(
                replay.iter().any(|(_, n, e)| n == "engine"
                    && e["event"] == "job_state"
                    && e["job_id"] == *id
                    && e["state"] == state),
                "job {id} {state} missed"
            );
        }
    }
}

#[tokio::test]
async fn metrics_parse_and_match_the_jobs_counts() {
    let (_source, _dest, sd) = rig();
    let api = start(&sd, &["--first-check-within", "1s"]);
    let job = completed_job(&api).await;
    let id = job["id"].as_i64().unwrap();
    let (_, detail) = api.get(&format!("/api/v1/jobs/{id}")).await;
    let sum = |kind: &str, field: &str| -> f64 {
        detail["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rtype"] == kind)
            .map(|r| r[field].as_f64().unwrap())
            .sum()
    };
    let scrape = eventually("the job is counted", Duration::from_secs(10), async || {
        let (status, text) = api.call_text("GET", "/metrics", None, true).await;
        assert_eq!(status, 200);
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "syncdeck_jobs_finished_total")
            .then_some((scrape, text))
    })
    .await;
    let (scrape, text) = scrape;
    let value = |metric: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    for kind in ["metadata", "data"] {
        assert_eq!(
            value(
                "syncdeck_objects_synced_total",
                &[("config", "copy"), ("kind", kind)]
            ),
            sum(kind, "synced"),
            "{kind} synced"
        );
        assert_eq!(
            value(
                "syncdeck_object_errors_total",
                &[("config", "copy"), ("kind", kind)]
            ),
            sum(kind, "errors"),
            "{kind} errors"
        );
    }
    assert_eq!(
        value("syncdeck_jobs_finished_total", &[("state", "completed")]),
        1.0
    );
    assert_eq!(value("syncdeck_sync_duration_seconds_count", &[]), 1.0);
    assert!(value("syncdeck_seconds_since_last_success", &[("config", "copy")]) >= 0.0);
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "syncdeck_queue_depth")
    );
    // (The parser splits label values at braces: this one is read as text.)
    let requests = text
        .lines()
        .find(|l| {
            l.starts_with("syncdeck_api_requests_total{")
                && l.contains("route=\"/api/v1/jobs/{id}\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no count of GET /api/v1/jobs/{{id}}:\n{text}"));
    let n: f64 = requests.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{requests}");
}

/// `syncdeck --connect …` runs the CLI against the daemon (a second
/// database file shows nothing: the commands act there, not here).
#[tokio::test]
async fn the_cli_acts_through_the_daemon_with_connect() {
    let (_source, _dest, sd) = rig();
    let api = start(&sd, &["--first-check-within", "1s"]);
    let elsewhere = Syncdeck::sqlite();
    let connect = format!("unix:{}", api.socket);
    let token_file = sd.dir.path().join("syncdeck/api-token");
    let token_file = token_file.to_str().unwrap();
    let remote = |args: &[&str]| {
        let mut all = vec!["--connect", &connect, "--token-file", token_file];
        all.extend_from_slice(args);
        elsewhere.run(&all)
    };
    let ok = |args: &[&str]| {
        let out = remote(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list: Value = serde_json::from_str(&ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "copy");
    assert_eq!(list[0]["auto"], "enabled");
    assert_eq!(list[0]["config"]["auto"]["check_interval"], 60);

    // trigger --wait: the daemon's workers run it; we follow it to its end.
    let done: Value = serde_json::from_str(&ok(&["trigger", "copy", "--wait", "--json"])).unwrap();
    assert_eq!(done["job"]["state"], "completed", "{done}");
    let id = done["job"]["id"].as_i64().unwrap().to_string();
    assert!(ok(&["jobs", "show", &id]).contains("completed"));
    assert!(ok(&["status", "copy"]).contains("copy (#1)"));
    assert!(ok(&["stop", "--all"]).contains("copy"));
    assert_eq!(api.get("/api/v1/configs/copy").await.1["active"], false);
    assert!(ok(&["start", "copy"]).contains("copy"));
    ok(&["setup", "copy", "--check-interval", "7m"]);
    let exported = ok(&["export"]);
    assert!(exported.contains("check_interval = \"7m\""), "{exported}");
    assert!(ok(&["jobs", "--failed"]).lines().count() <= 2);

    // apply: the daemon validates, errors keep this file's name and line.
    let file = elsewhere.dir.path().join("changed.toml");
    std::fs::write(&file, exported.replace("\"7m\"", "\"5s\"")).unwrap();
    let out = remote(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("changed.toml:") && err.contains("check_interval"),
        "{err}"
    );
    std::fs::write(&file, exported.replace("\"7m\"", "\"9m\"")).unwrap();
    assert!(ok(&["apply", "-f", file.to_str().unwrap()]).contains("1 updated"));
    assert!(elsewhere.ok(&["list"]).contains("no configurations"));

    // What it cannot do, and a refused token, are said plainly.
    for args in [&["cooldown", "clear", "nope"][..], &["trigger", "nope"]] {
        let out = remote(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no sync config named"),
            "{args:?}"
        );
    }
    // The daemon's log files, as `logs` shows local ones.
    let listed = ok(&["logs", "list"]);
    assert!(listed.contains("sync_jobs.log"), "{listed}");
    let viewed = ok(&["logs", "view", "sync_jobs.log", "--lines", "3"]);
    assert!(
        viewed.contains("[AUTO-SYNC]") && viewed.lines().count() == 3,
        "{viewed}"
    );
    let found = ok(&[
        "logs",
        "search",
        "job completed",
        "--files",
        "sync_jobs.log",
    ]);
    assert!(
        found.contains("sync_jobs.log:") && found.contains("matching lines in 1 files"),
        "{found}"
    );
    let out = remote(&["logs", "view", "../../etc/passwd"]);
    assert_eq!(out.status.code(), Some(2), "a name not from the listing");
    let out = remote(&["logs", "clear", "sync_jobs.log"]);
    assert_eq!(out.status.code(), Some(2), "clear needs --yes");
    assert!(
        ok(&["logs", "clear", "sync_jobs.log", "--yes"])
            .contains("cleared sync_jobs.log on the daemon")
    );
    assert!(
        !sd.job_log().contains("job completed"),
        "cleared on the daemon's side"
    );
    let wrong = elsewhere.dir.path().join("wrong-token");
    std::fs::write(&wrong, "0".repeat(64)).unwrap();
    let out = elsewhere.run(&[
        "--connect",
        &connect,
        "--token-file",
        wrong.to_str().unwrap(),
        "list",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused the API token"), "{err}");
    assert!(!err.contains(&"0".repeat(64)), "the token is not shown");
    let out = elsewhere.run(&[
        "--connect",
        "unix:/nonexistent/x.sock",
        "--token-file",
        token_file,
        "list",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unreachable") && err.contains("daemon"),
        "{err}"
    );
}

/// The endpoints the remote engine needs beyond the dashboard's: every
/// scheduler at once, and the settings as JSON.
#[tokio::test]
async fn all_configs_start_and_stop_and_settings_take_json() {
    let (_source, _dest, sd) = rig();
    let api = start(&sd, &[]);
    let (status, stopped) = api.post("/api/v1/stop").await;
    assert_eq!((status, stopped), (200, json!({"stopped": ["copy"]})));
    let (status, started) = api.post("/api/v1/start").await;
    assert_eq!((status, started), (200, json!({"started": ["copy"]})));
    let (_, config) = api.get("/api/v1/configs/copy").await;
    let mut settings = config["config"]["auto"].clone();
    settings["check_interval"] = json!(600);
    let body = Some(("application/json", settings.to_string()));
    let (status, _) = api.call("PUT", "/api/v1/configs/copy/settings", body).await;
    assert_eq!(status, 200);
    let (_, config) = api.get("/api/v1/configs/copy").await;
    assert_eq!(config["config"]["auto"]["check_interval"], 600);
    settings["check_interval"] = json!(5);
    let body = Some(("application/json", settings.to_string()));
    let (status, err) = api.call("PUT", "/api/v1/configs/copy/settings", body).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("at least 60s"),
        "{err}"
    );
    let body = Some(("application/json", "{\"enabled\": true}".to_string()));
    assert_eq!(
        api.call("PUT", "/api/v1/configs/copy/settings", body)
            .await
            .0,
        400
    );
}
