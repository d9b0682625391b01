//! A hostile DHIS2 for the tests: a reverse proxy in front of a real
//! `syncdeck sim` that passes every request through, except those matching
//! its rule, which it answers the way a broken DHIS2, a proxy in between or
//! a cut network does. The rule can be changed (or cleared) at any time, so
//! one proxy serves a hostile answer and then behaves again.
//!
//! It runs on its own thread and runtime, so a test may block on the
//! `syncdeck` binary while the proxy answers it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// How the proxy answers a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with a WebMessage: `{"status":"ERROR","message":"database connection lost"}`.
    ErrorBody,
    /// 200 with an HTML page (a maintenance page of a proxy in front).
    Html,
    /// The real answer cut in half, well framed (its Content-Length is the cut length).
    Truncated,
    /// The real answer in another envelope: another version's tracker page, a
    /// metadata list without its pager, a report of another kind of import.
    WrongEnvelope,
    /// 200 with JSON nested 10,000 levels deep.
    Deep,
    /// 200 with a 50 MB body: a WebMessage with a 50 MB message.
    Huge,
    /// The real answer with counts that do not add up: a pager total 7 too
    /// high, an import report one object short.
    Miscounted,
    /// The 409 of a report with status ERROR and nothing else: empty type
    /// reports, no conflicts, no error reports, zero counts (GET: `{"status":"ERROR"}`).
    BareError,
    /// The real import, reported as status ERROR with every object ignored
    /// and not one error report or conflict: the counts add up, nothing is explained.
    Unexplained,
    /// Never answers.
    Hang,
    /// The real status and headers, half the body, then the connection is dropped.
    Reset,
    /// The real `/api/system/info` of a server of another DHIS2 line: its
    /// `version` replaced (a line the simulator does not emulate). Not in `ALL`.
    Version(&'static str),
}

impl Answer {
    pub const ALL: [Answer; 11] = [
        Answer::ErrorBody,
        Answer::Html,
        Answer::Truncated,
        Answer::WrongEnvelope,
        Answer::Deep,
        Answer::Huge,
        Answer::Miscounted,
        Answer::BareError,
        Answer::Unexplained,
        Answer::Hang,
        Answer::Reset,
    ];
}

/// Which requests get the hostile answer: `method` and a path prefix
/// (`/api/dataValueSets` also matches `/api/dataValueSets.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub answer: Answer,
}

impl Rule {
    pub fn get(path: &'static str, answer: Answer) -> Rule {
        Rule {
            method: "GET",
            path,
            answer,
        }
    }

    pub fn post(path: &'static str, answer: Answer) -> Rule {
        Rule {
            method: "POST",
            path,
            answer,
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method == method && path.starts_with(self.path)
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rule: Mutex<Option<Rule>>,
    /// Hostile answers given since the last rule change.
    hits: AtomicUsize,
}

/// The proxy; dropping it stops it (hung answers included).
pub struct HostileProxy {
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const JSON: &str = "application/json;charset=UTF-8";
/// What the 50 MB answer holds.
pub const HUGE_BYTES: usize = 50 * 1024 * 1024;
/// How deep the deep answer nests.
pub const DEEP_LEVELS: usize = 10_000;

impl HostileProxy {
    /// A proxy in front of `upstream` (e.g. a `SimProcess`'s url), passing everything through.
    pub fn start(upstream: &str) -> HostileProxy {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
            rule: Mutex::new(None),
            hits: AtomicUsize::new(0),
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind proxy");
                addr_tx
                    .send(listener.local_addr().expect("proxy address"))
                    .expect("report the address");
                let app = Router::new().fallback(handle).with_state(state);
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels hung answers.
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        let addr = addr_rx.recv().expect("proxy started");
        HostileProxy {
            url: format!("http://{addr}"),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// From now on, answer requests matching `rule` with its answer.
    pub fn set(&self, rule: Rule) {
        *self.shared.rule.lock().unwrap() = Some(rule);
        self.shared.hits.store(0, Ordering::SeqCst);
    }

    /// From now on, pass everything through.
    pub fn pass_through(&self) {
        *self.shared.rule.lock().unwrap() = None;
    }

    /// Hostile answers given since the rule was set.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }
}

impl Drop for HostileProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body.into()).into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let rule = *shared.rule.lock().unwrap();
    match rule {
        Some(rule) if rule.matches(&method, &path) => {
            shared.hits.fetch_add(1, Ordering::SeqCst);
            hostile(&shared, rule, req).await
        }
        _ => forward(&shared, req, true)
            .await
            .unwrap_or_else(bad_gateway),
    }
}

fn bad_gateway(e: String) -> Response {
    (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response()
}

/// Sends `req` upstream; `stream` passes the body on as it arrives.
async fn forward(shared: &Shared, req: Request, stream: bool) -> Result<Response, String> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    let target = format!(
        "{}{}",
        shared.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut rb = shared.client.request(parts.method.clone(), target);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(v) = parts.headers.get(&name) {
            rb = rb.header(name, v.clone());
        }
    }
    let resp = rb.body(body).send().await.map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(resp.status().as_u16()).map_err(|e| e.to_string())?;
    let mut headers = Vec::new();
    for name in [header::CONTENT_TYPE, header::LOCATION, header::RETRY_AFTER] {
        if let Some(v) = resp.headers().get(name.as_str()) {
            headers.push((
                name,
                HeaderValue::from_bytes(v.as_bytes()).map_err(|e| e.to_string())?,
            ));
        }
    }
    let body = if stream {
        Body::from_stream(resp.bytes_stream())
    } else {
        Body::from(resp.bytes().await.map_err(|e| e.to_string())?)
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    out.headers_mut().extend(headers);
    Ok(out)
}

/// The real answer, whole: status and JSON (or raw bytes when not JSON).
async fn upstream_answer(shared: &Shared, req: Request) -> Result<(StatusCode, Bytes), String> {
    let resp = forward(shared, req, false).await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, bytes))
}

async fn hostile(shared: &Shared, rule: Rule, req: Request) -> Response {
    let posting = rule.method == "POST";
    match rule.answer {
        Answer::ErrorBody => json_response(
            StatusCode::OK,
            r#"{"status":"ERROR","message":"database connection lost"}"#,
        ),
        Answer::Html => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
            "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Down for maintenance</h1><p>Back soon.</p></body></html>",
        )
            .into_response(),
        Answer::Deep => {
            let body = format!(
                "{}1{}",
                "{\"a\":".repeat(DEEP_LEVELS),
                "}".repeat(DEEP_LEVELS)
            );
            json_response(StatusCode::OK, body)
        }
        Answer::Huge => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let head = Bytes::from_static(br#"{"status":"ERROR","message":""#);
            let tail = Bytes::from_static(br#""}"#);
            let parts = std::iter::once(head)
                .chain(std::iter::repeat_n(chunk, HUGE_BYTES / (64 * 1024)))
                .chain(std::iter::once(tail))
                .map(Ok::<_, std::io::Error>);
            json_response(StatusCode::OK, Body::from_stream(futures_util::stream::iter(parts)))
        }
        Answer::BareError if posting => bare_error(&rule),
        Answer::BareError => json_response(StatusCode::OK, r#"{"status":"ERROR"}"#),
        Answer::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        Answer::Version(version) => match upstream_answer(shared, req).await {
            Ok((status, body)) => match serde_json::from_slice::<Value>(&body) {
                Ok(mut v) if v.get("version").is_some() => {
                    v["version"] = json!(version);
                    json_response(status, v.to_string())
                }
                _ => bad_gateway("Version applies to /api/system/info only".into()),
            },
            Err(e) => bad_gateway(e),
        },
        Answer::Truncated | Answer::WrongEnvelope | Answer::Miscounted | Answer::Unexplained | Answer::Reset => {
            let (status, body) = match upstream_answer(shared, req).await {
                Ok(a) => a,
                Err(e) => return bad_gateway(e),
            };
            match rule.answer {
                Answer::Truncated => json_response(status, body.slice(..body.len() / 2)),
                Answer::Reset => reset(status, body),
                other => match serde_json::from_slice::<Value>(&body) {
                    Ok(mut v) => {
                        let changed = match other {
                            Answer::WrongEnvelope => wrong_envelope(&mut v),
                            Answer::Miscounted => miscount(&mut v),
                            _ => unexplain(&mut v),
                        };
                        if !changed {
                            return bad_gateway(format!("{other:?} does not apply to this answer: {v}"));
                        }
                        json_response(status, v.to_string())
                    }
                    Err(e) => bad_gateway(format!("upstream answer is not JSON: {e}")),
                },
            }
        }
    }
}

/// The 409 of the issue: status ERROR and nothing that says what happened.
fn bare_error(rule: &Rule) -> Response {
    let report = if rule.path.starts_with("/api/dataValueSets") {
        json!({"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
               "response": {"responseType": "ImportSummary", "status": "ERROR",
                            "importCount": {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0},
                            "conflicts": [], "rejectedIndexes": []}})
    } else if rule.path.starts_with("/api/tracker") {
        json!({"status": "ERROR", "validationReport": {"errorReports": [], "warningReports": []},
               "stats": {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": 0}})
    } else {
        json!({"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
               "message": "One or more errors occurred, please see full details in import report.",
               "response": {"responseType": "ImportReport", "status": "ERROR",
                            "stats": {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": 0},
                            "typeReports": []}})
    };
    json_response(StatusCode::CONFLICT, report.to_string())
}

/// Headers promising the whole body, half of it, then a dropped connection.
fn reset(status: StatusCode, body: Bytes) -> Response {
    let len = body.len();
    let half = body.slice(..len / 2);
    let parts = futures_util::stream::iter([Ok(half)]).chain(futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset by the hostile proxy",
        ))
    }));
    let mut out = json_response(status, Body::from_stream(parts));
    out.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    out
}

/// The report inside a WebMessage, or the body itself.
fn report_mut(v: &mut Value) -> &mut Value {
    if v.get("response").is_some_and(|r| r.get("status").is_some()) {
        &mut v["response"]
    } else {
        v
    }
}

/// The single list of a page and its key (`pager` aside).
fn list_key(v: &Value) -> Option<String> {
    v.as_object()?
        .iter()
        .find(|(k, x)| x.is_array() && k.as_str() != "pager")
        .map(|(k, _)| k.clone())
}

fn wrong_envelope(v: &mut Value) -> bool {
    if v.get("dataValues").is_some() {
        // The set one level down, as no DHIS2 writes it.
        *v = json!({"dataValueSet": v.take()});
        return true;
    }
    if let Some(pager) = v.get("pager").cloned()
        && let Some(key) = list_key(v)
    {
        // A 2.40 tracker page in place of a metadata list or a 2.41+ tracker page.
        *v = json!({"page": pager["page"], "pageSize": pager["pageSize"], "instances": v[&key].take()});
        return true;
    }
    if v.get("instances").is_some() {
        // A 2.42 tracker page in place of a 2.40 one.
        *v = json!({"pager": {"page": v["page"], "pageSize": v["pageSize"]}, "trackedEntities": v["instances"].take()});
        return true;
    }
    let r = report_mut(v);
    if let Some(c) = r.get("importCount").cloned() {
        // Data values reported as a metadata import, counts kept.
        let stats = json!({"created": c["imported"], "updated": c["updated"], "deleted": c["deleted"], "ignored": c["ignored"]});
        *r = json!({"status": "OK", "stats": stats, "typeReports": []});
        return true;
    }
    if r.get("validationReport").is_some() || r.get("typeReports").is_some() {
        let s = r["stats"].clone();
        let tracker = r.get("validationReport").is_some();
        *r = if tracker {
            // A tracker import reported as a metadata import.
            json!({"status": "OK", "stats": s, "typeReports": []})
        } else {
            // A metadata import reported as a data value import.
            json!({"status": "SUCCESS", "importCount": {"imported": s["created"], "updated": s["updated"], "deleted": s["deleted"], "ignored": s["ignored"]}})
        };
        return true;
    }
    false
}

/// Takes one from the first non-zero count of `stats` (and its `total`).
fn one_less(stats: &mut Value, keys: &[&str]) -> bool {
    for k in keys {
        if let Some(n) = stats.get(*k).and_then(Value::as_u64)
            && n > 0
        {
            stats[*k] = json!(n - 1);
            if let Some(t) = stats.get("total").and_then(Value::as_u64) {
                stats["total"] = json!(t.saturating_sub(1));
            }
            return true;
        }
    }
    false
}

const STATS: [&str; 4] = ["created", "updated", "deleted", "ignored"];

fn miscount(v: &mut Value) -> bool {
    if v.get("pager").is_some_and(Value::is_object) {
        let pager = &mut v["pager"];
        if let (Some(total), Some(size)) = (pager["total"].as_u64(), pager["pageSize"].as_u64()) {
            // Seven objects more than it lists.
            pager["total"] = json!(total + 7);
            pager["pageCount"] = json!((total + 7).div_ceil(size.max(1)));
        } else if let Some(page) = pager["page"].as_u64() {
            // Without totals: another page than the one asked for.
            pager["page"] = json!(page + 1);
            if v.get("page").is_some() {
                v["page"] = json!(page + 1);
            }
        }
        return true;
    }
    if let Some(page) = v.get("page").and_then(Value::as_u64) {
        v["page"] = json!(page + 1);
        return true;
    }
    let r = report_mut(v);
    if r.get("importCount").is_some() {
        return one_less(
            &mut r["importCount"],
            &["imported", "updated", "deleted", "ignored"],
        );
    }
    if r.get("stats").is_none() {
        return false;
    }
    let changed = one_less(&mut r["stats"], &STATS);
    // Per-type counts one short too, so the report agrees with itself.
    if let Some(types) = r.get_mut("typeReports").and_then(Value::as_array_mut) {
        types.iter_mut().any(|t| one_less(&mut t["stats"], &STATS));
    }
    if let Some(map) = r
        .get_mut("bundleReport")
        .and_then(|b| b.get_mut("typeReportMap"))
        .and_then(Value::as_object_mut)
    {
        map.values_mut().any(|t| one_less(&mut t["stats"], &STATS));
    }
    changed
}

/// Every object ignored, status ERROR, and not one reason.
fn unexplain(v: &mut Value) -> bool {
    let r = report_mut(v);
    let all = |s: &Value| {
        STATS
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_u64))
            .sum::<u64>()
    };
    let ignored_only = |s: &mut Value| {
        let n = all(s);
        *s = json!({"created": 0, "updated": 0, "deleted": 0, "ignored": n, "total": n});
    };
    if let Some(c) = r.get("importCount").cloned() {
        let n: u64 = ["imported", "updated", "deleted", "ignored"]
            .iter()
            .filter_map(|k| c.get(*k).and_then(Value::as_u64))
            .sum();
        *r = json!({"responseType": "ImportSummary", "status": "ERROR",
                    "importCount": {"imported": 0, "updated": 0, "deleted": 0, "ignored": n},
                    "conflicts": [], "rejectedIndexes": []});
        return true;
    }
    if r.get("stats").is_none() {
        return false;
    }
    r["status"] = json!("ERROR");
    ignored_only(&mut r["stats"]);
    if let Some(types) = r.get_mut("typeReports").and_then(Value::as_array_mut) {
        for t in types {
            ignored_only(&mut t["stats"]);
            t["objectReports"] = json!([]);
        }
    }
    if r.get("validationReport").is_some() {
        r["validationReport"] = json!({"errorReports": [], "warningReports": []});
    }
    if let Some(map) = r
        .get_mut("bundleReport")
        .and_then(|b| b.get_mut("typeReportMap"))
        .and_then(Value::as_object_mut)
    {
        for t in map.values_mut() {
            ignored_only(&mut t["stats"]);
            t["objectReports"] = json!([]);
        }
    }
    true
}
