//! `syncdeck sim --config-backend`: a configuration backend as the existing
//! agents know it. `GET /config/{site_token}` (or `GET /config` with
//! `Authorization: Bearer TOKEN`) serves the site's document with its
//! `config_hash`, the MD5 Python computes over
//! `json.dumps(doc without config_hash, sort_keys=True)`, and honours
//! `If-None-Match` with a 304.
//!
//! Control endpoints (no token, loopback only) change what it serves:
//! - `POST /_backend/sites/{token}/devices` adds a device;
//! - `PUT /_backend/sites/{token}/document` replaces the document (any JSON
//!   object; the backend adds `config_hash`);
//! - `POST /_backend/sites/{token}/fault?kind=K` makes the site's answers
//!   fail until `kind=none`: `500`, `html` (a login page with 200),
//!   `truncated` (the JSON cut in the middle), `bad_hash` (a `config_hash`
//!   that does not match the content), `hang` (no answer);
//! - `GET /_backend/stats`: `/config` answers so far by status code.
//!
//! The simulator's usual `--latency`, `--fail-rate` and `--hang-rate` apply
//! to `/config` as well.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rand::Rng;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::SimOptions;
use crate::hashing::python_json_md5;
use crate::output::outln;

const HASH_FIELD: &str = "config_hash";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    ServerError,
    Html,
    Truncated,
    BadHash,
    Hang,
}

impl Fault {
    fn parse(kind: &str) -> Option<Fault> {
        Some(match kind {
            "none" => Fault::None,
            "500" => Fault::ServerError,
            "html" => Fault::Html,
            "truncated" => Fault::Truncated,
            "bad_hash" => Fault::BadHash,
            "hang" => Fault::Hang,
            _ => return None,
        })
    }
}

struct Site {
    document: Value,
    fault: Fault,
}

struct Backend {
    opts: SimOptions,
    sites: Mutex<BTreeMap<String, Site>>,
    /// `/config` answers by status code (`GET /_backend/stats`).
    answers: Mutex<BTreeMap<u16, u64>>,
}

type Shared = Arc<Backend>;

/// The site tokens the backend knows: `site-token-1` … `site-token-N`.
pub fn site_token(n: usize) -> String {
    format!("site-token-{n}")
}

/// A site's document, in the shape the existing backend serves (names with
/// accents and an em dash, so `ensure_ascii` escaping is exercised).
fn site_document(n: usize) -> Value {
    json!({
        "site_name": format!("Site {n} — Lycée Émile Zola"),
        "timezone": "Europe/Paris",
        "doubt_after_days": 3,
        "reporting": {"ok_interval_s": 300, "ko_interval_s": 60},
        "devices": (1..=3).map(|d| device(n, d)).collect::<Vec<_>>(),
    })
}

fn device(site: usize, d: usize) -> Value {
    json!({
        "ip": format!("10.{site}.0.{}", 10 + d),
        "name": format!("Vidéoprojecteur salle {d}"),
        "building": "Bâtiment A",
        "floor": d % 3,
        "room": format!("A{d:02}"),
        "type": "projector",
        "driver": "pjlink",
        "snmp": {"community": "public", "version": "2c"},
        "pjlink": {"port": 4352, "password": null},
        "expectations": {
            "always_on": false,
            "alert_after_s": 900,
            "schedule": {
                "timezone": "Europe/Paris",
                "rules": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:30", "end": "18:30"}],
            },
        },
    })
}

/// The document with its `config_hash`, as served.
fn served(document: &Value) -> Result<(Value, String), String> {
    let mut doc = document.clone();
    if let Value::Object(map) = &mut doc {
        map.remove(HASH_FIELD);
    }
    let text = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    let hash = python_json_md5(&text, None).map_err(|e| e.to_string())?;
    if let Value::Object(map) = &mut doc {
        map.insert(HASH_FIELD.into(), Value::String(hash.clone()));
    }
    Ok((doc, hash))
}

pub struct RunningBackend {
    pub base_url: String,
    backend: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl RunningBackend {
    /// Adds a device to site `token` (as `POST /_backend/sites/{token}/devices`):
    /// its hash changes. The number of devices after, `None` for an unknown site.
    pub fn add_device(&self, token: &str) -> Option<usize> {
        push_device(&self.backend, token).ok()
    }
}

impl Drop for RunningBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1:`opts.port` and serves `sites` sites in the background.
pub async fn start(opts: SimOptions, sites: usize) -> anyhow::Result<RunningBackend> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} (is the port in use? --port 0 picks a free one)",
                opts.port
            )
        })?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let backend = Arc::new(Backend {
        opts,
        sites: Mutex::new(
            (1..=sites.max(1))
                .map(|n| {
                    (
                        site_token(n),
                        Site {
                            document: site_document(n),
                            fault: Fault::None,
                        },
                    )
                })
                .collect(),
        ),
        answers: Mutex::new(BTreeMap::new()),
    });
    let app = Router::new()
        .route("/config", get(config_by_header))
        .route("/config/{token}", get(config_by_path))
        .route("/_backend/sites/{token}/devices", post(add_device))
        .route("/_backend/sites/{token}/document", put(replace_document))
        .route("/_backend/sites/{token}/fault", post(set_fault))
        .route("/_backend/stats", get(stats))
        .with_state(backend.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("config backend stopped: {e}");
        }
    });
    Ok(RunningBackend {
        base_url,
        backend,
        task,
    })
}

/// `syncdeck sim --config-backend`: serve until Ctrl-C.
pub async fn run(opts: SimOptions, sites: usize) -> anyhow::Result<()> {
    let running = start(opts, sites).await?;
    outln!("listening on {}", running.base_url)?;
    // On stderr: a reader that took the address and closed stdout must not
    // make the next line fail.
    eprintln!(
        "sites: {} (GET /config/TOKEN, or /config with Authorization: Bearer TOKEN)",
        (1..=sites.max(1))
            .map(site_token)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = std::io::Write::flush(&mut std::io::stdout());
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}

fn sites(b: &Backend) -> std::sync::MutexGuard<'_, BTreeMap<String, Site>> {
    b.sites.lock().unwrap_or_else(|e| e.into_inner())
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({"error": text}))).into_response()
}

async fn config_by_path(
    State(b): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_config(&b, &token, &headers).await
}

async fn config_by_header(State(b): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    match token {
        Some(token) => serve_config(&b, &token, &headers).await,
        None => message(
            StatusCode::UNAUTHORIZED,
            "a site token is required: /config/TOKEN or Authorization: Bearer TOKEN",
        ),
    }
}

async fn serve_config(b: &Backend, token: &str, headers: &HeaderMap) -> Response {
    let resp = answer_config(b, token, headers).await;
    *b.answers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(resp.status().as_u16())
        .or_default() += 1;
    resp
}

async fn stats(State(b): State<Shared>) -> Response {
    let answers = b.answers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let answers: serde_json::Map<String, Value> = answers
        .into_iter()
        .map(|(status, n)| (status.to_string(), Value::from(n)))
        .collect();
    axum::Json(json!({ "answers": answers })).into_response()
}

async fn answer_config(b: &Backend, token: &str, headers: &HeaderMap) -> Response {
    if let Some(latency) = b.opts.latency {
        tokio::time::sleep(latency).await;
    }
    let (hang, fail) = {
        let mut rng = rand::rng();
        (
            rng.random_bool(b.opts.hang_rate),
            rng.random_bool(b.opts.fail_rate),
        )
    };
    let found = sites(b)
        .get(token)
        .map(|site| (site.fault, served(&site.document)));
    let Some((fault, served)) = found else {
        return message(StatusCode::UNAUTHORIZED, "unknown site token");
    };
    if hang || fault == Fault::Hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if fail || fault == Fault::ServerError {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    }
    if fault == Fault::Html {
        let mut resp = (
            StatusCode::OK,
            "<!DOCTYPE html><html><body><form action=\"/login\">Sign in</form></body></html>",
        )
            .into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        return resp;
    }
    let (mut doc, hash) = match served {
        Ok(s) => s,
        Err(e) => return message(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let etag = format!("\"{hash}\"");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches && fault == Fault::None {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return resp;
    }
    if fault == Fault::BadHash
        && let Value::Object(map) = &mut doc
    {
        map.insert(HASH_FIELD.into(), Value::String("0".repeat(32)));
    }
    let mut body = serde_json::to_vec(&doc).unwrap_or_default();
    if fault == Fault::Truncated {
        body.truncate(body.len() / 2);
    }
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// Adds a device to site `token`; the number of devices after.
fn push_device(b: &Backend, token: &str) -> Result<usize, (StatusCode, &'static str)> {
    let mut sites = sites(b);
    let Some(site) = sites.get_mut(token) else {
        return Err((StatusCode::NOT_FOUND, "unknown site token"));
    };
    let Some(Value::Array(devices)) = site.document.get_mut("devices") else {
        return Err((
            StatusCode::CONFLICT,
            "this site's document has no devices list",
        ));
    };
    let n = devices.len() + 1;
    devices.push(device(n, n));
    Ok(devices.len())
}

async fn add_device(State(b): State<Shared>, Path(token): Path<String>) -> Response {
    match push_device(&b, &token) {
        Ok(count) => axum::Json(json!({"devices": count})).into_response(),
        Err((status, text)) => message(status, text),
    }
}

async fn replace_document(
    State(b): State<Shared>,
    Path(token): Path<String>,
    axum::Json(document): axum::Json<Value>,
) -> Response {
    if !document.is_object() {
        return message(
            StatusCode::BAD_REQUEST,
            "the document must be a JSON object",
        );
    }
    let mut sites = sites(&b);
    let Some(site) = sites.get_mut(&token) else {
        return message(StatusCode::NOT_FOUND, "unknown site token");
    };
    site.document = document;
    match served(&site.document) {
        Ok((_, hash)) => axum::Json(json!({HASH_FIELD: hash})).into_response(),
        Err(e) => message(StatusCode::BAD_REQUEST, &e),
    }
}

#[derive(serde::Deserialize)]
struct FaultQuery {
    kind: String,
}

async fn set_fault(
    State(b): State<Shared>,
    Path(token): Path<String>,
    Query(q): Query<FaultQuery>,
) -> Response {
    let Some(fault) = Fault::parse(&q.kind) else {
        return message(
            StatusCode::BAD_REQUEST,
            "kind must be one of none, 500, html, truncated, bad_hash, hang",
        );
    };
    let mut sites = sites(&b);
    let Some(site) = sites.get_mut(&token) else {
        return message(StatusCode::NOT_FOUND, "unknown site token");
    };
    site.fault = fault;
    axum::Json(json!({"fault": q.kind})).into_response()
}
