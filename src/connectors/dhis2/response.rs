//! Response classification: status, content type and body → `Ok` or a typed error.
//!
//! Pure functions over (status, a few headers, body bytes), so every rule is unit
//! tested without a server. DHIS2 answers a bad login in several ways (401, a 302
//! to the login app, a 200 HTML login page), so JSON is *required* on success.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{ConflictReport, Dhis2Error, Result, sanitize};
use super::reports::{ImportReport, ImportSummary};
use super::tracker_report::TrackerReport;

/// The parts of an HTTP response the classification needs.
#[derive(Debug, Clone, Default)]
pub struct ResponseMeta {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    /// Where the response came from, without the query (for messages).
    pub url: String,
}

impl ResponseMeta {
    /// A JSON response with this status (what fixture tests feed in).
    pub fn json(status: u16) -> Self {
        ResponseMeta {
            status,
            content_type: Some("application/json;charset=UTF-8".into()),
            ..Default::default()
        }
    }

    pub fn from_response(resp: &reqwest::Response) -> Self {
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        ResponseMeta {
            status: resp.status().as_u16(),
            content_type: header(reqwest::header::CONTENT_TYPE),
            location: header(reqwest::header::LOCATION),
            retry_after: header(reqwest::header::RETRY_AFTER),
            url: url_for_message(resp.url()),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A URL without query or fragment: short, and never carries parameters.
pub fn url_for_message(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

pub fn is_json_type(ct: &str) -> bool {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || mime == "text/json" || mime.ends_with("+json")
}

fn is_html_type(ct: &str) -> bool {
    let ct = ct.to_ascii_lowercase();
    ct.contains("text/html") || ct.contains("application/xhtml")
}

/// A redirect target that is the DHIS2 login app rather than the API.
pub fn is_login_location(location: &str) -> bool {
    let l = location.to_ascii_lowercase();
    l.contains("dhis-web-login") || l.contains("login.action") || l.contains("/login")
}

/// Heuristic for the DHIS2 login page (old struts form and the newer login app).
pub fn looks_like_login_page(body: &[u8]) -> bool {
    let head = &body[..body.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    [
        "dhis-web-login",
        "login.action",
        "j_username",
        "j_password",
        "type=\"password\"",
        "type='password'",
        "loginform",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &body[i..])
        .unwrap_or(&[]);
    start.starts_with(b"<")
}

fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | Some(b'[')
    )
}

/// `Retry-After` as delta-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    let secs = (when - now).num_seconds().max(0);
    Some(Duration::from_secs(secs.unsigned_abs()))
}

/// The `message` of a DHIS2 WebMessage body (plus its `errorCode`), escaped.
pub fn web_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let msg = v
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| v.get("devMessage").and_then(Value::as_str))?;
    let code = v.get("errorCode").and_then(Value::as_str);
    let text = match code {
        Some(c) => format!("{c}: {msg}"),
        None => msg.to_string(),
    };
    Some(sanitize(&text, 500))
}

/// Checks a response: `Ok(())` for a 2xx JSON answer, otherwise the error it means.
pub fn check(meta: &ResponseMeta, body: &[u8]) -> Result<()> {
    let url = meta.url.clone();
    let msg_or = |fallback: &str| web_message(body).unwrap_or_else(|| fallback.to_string());
    match meta.status {
        200..=299 => check_success_body(meta, body),
        300..=399 => {
            let loc = meta.location.as_deref().unwrap_or("");
            if is_login_location(loc) {
                Err(Dhis2Error::Auth {
                    url,
                    reason: format!("redirected to the login page {}", sanitize(loc, 200)),
                })
            } else {
                Err(Dhis2Error::NotDhis2 {
                    url,
                    reason: format!(
                        "unexpected HTTP {} redirect to {}",
                        meta.status,
                        sanitize(loc, 200)
                    ),
                })
            }
        }
        401 => Err(Dhis2Error::Auth {
            url,
            reason: format!("HTTP 401: {}", msg_or("unauthorized")),
        }),
        403 => {
            let html = meta.content_type.as_deref().is_some_and(is_html_type)
                || looks_like_html(body);
            if html || looks_like_login_page(body) {
                Err(Dhis2Error::Auth {
                    url,
                    reason: "HTTP 403 with a login or error page".into(),
                })
            } else {
                Err(Dhis2Error::Forbidden {
                    url,
                    message: msg_or("HTTP 403 forbidden"),
                })
            }
        }
        404 => Err(Dhis2Error::NotFound {
            url,
            message: msg_or("HTTP 404"),
        }),
        409 => Err(conflict(body)),
        408 | 429 | 500 | 502 | 503 | 504 => Err(Dhis2Error::Transient {
            reason: format!(
                "HTTP {} from {url}{}",
                meta.status,
                web_message(body)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            retry_after: meta
                .retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, Utc::now())),
        }),
        413 => Err(Dhis2Error::BadRequest {
            status: 413,
            url,
            message: "payload too large for the server or its proxy (client_max_body_size); send smaller chunks".into(),
        }),
        status @ 400..=499 => Err(Dhis2Error::BadRequest {
            status,
            url,
            message: msg_or("no message"),
        }),
        status @ (501 | 505) => Err(Dhis2Error::BadRequest {
            status,
            url,
            message: msg_or("server does not support this request"),
        }),
        status @ 500..=599 => Err(Dhis2Error::Transient {
            reason: format!("HTTP {status} from {url}"),
            retry_after: None,
        }),
        status => Err(Dhis2Error::BadRequest {
            status,
            url,
            message: "unexpected HTTP status".into(),
        }),
    }
}

/// A 2xx must carry JSON; an HTML page means a login page or a wrong URL.
fn check_success_body(meta: &ResponseMeta, body: &[u8]) -> Result<()> {
    let ct = meta.content_type.as_deref();
    if ct.is_some_and(is_json_type) {
        return Ok(());
    }
    if ct.is_some_and(is_html_type) || looks_like_html(body) {
        return Err(html_error(&meta.url, body));
    }
    if ct.is_none() && looks_like_json(body) {
        return Ok(());
    }
    Err(Dhis2Error::bad_payload(
        format!(
            "expected JSON from {} but got content type {}",
            meta.url,
            sanitize(ct.unwrap_or("(none)"), 100)
        ),
        body,
    ))
}

/// An HTML page where JSON was expected.
pub fn html_error(url: &str, body: &[u8]) -> Dhis2Error {
    if looks_like_login_page(body) {
        Dhis2Error::Auth {
            url: url.to_string(),
            reason: "got the HTML login page instead of JSON".into(),
        }
    } else {
        Dhis2Error::NotDhis2 {
            url: url.to_string(),
            reason: "got an HTML page instead of JSON".into(),
        }
    }
}

/// Builds the 409 error, attaching any import report the body carries.
pub fn conflict(body: &[u8]) -> Dhis2Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let report = parsed.as_ref().and_then(detect_report).map(Box::new);
    let message = web_message(body).unwrap_or_else(|| match &report {
        Some(r) => format!("import finished with status {}", report_status(r)),
        None => "HTTP 409".to_string(),
    });
    Dhis2Error::Conflict { message, report }
}

fn report_status(r: &ConflictReport) -> String {
    match r {
        ConflictReport::Metadata(r) => format!("{:?}", r.status),
        ConflictReport::DataValues(r) => format!("{:?}", r.status),
        ConflictReport::Tracker(r) => format!("{:?}", r.status),
    }
}

/// Guesses which import report a body holds (`response` wrapper or plain).
fn detect_report(body: &Value) -> Option<ConflictReport> {
    let inner = unwrap_response(body);
    let has = |k: &str| inner.get(k).is_some();
    if has("importCount") {
        serde_json::from_value::<ImportSummary>(inner.clone())
            .ok()
            .map(ConflictReport::DataValues)
    } else if has("validationReport") || has("bundleReport") {
        serde_json::from_value::<TrackerReport>(inner.clone())
            .ok()
            .map(ConflictReport::Tracker)
    } else if has("typeReports") || (has("stats") && has("status")) {
        serde_json::from_value::<ImportReport>(inner.clone())
            .ok()
            .map(ConflictReport::Metadata)
    } else {
        None
    }
}

/// Parses a checked JSON body; a shape mismatch is `BadPayload`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8], context: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Dhis2Error::bad_payload(
            format!("{context}: {}", sanitize(&e.to_string(), 200)),
            body,
        )
    })
}

/// `check` then `parse_json`.
pub fn parse_checked<T: DeserializeOwned>(
    meta: &ResponseMeta,
    body: &[u8],
    context: &str,
) -> Result<T> {
    check(meta, body)?;
    parse_json(body, context)
}

/// `body.response` when it is a report, else `body` (plain form).
pub(crate) fn unwrap_response(body: &Value) -> &Value {
    match body.get("response") {
        Some(r)
            if r.is_object()
                && ["status", "stats", "importCount", "typeReports"]
                    .iter()
                    .any(|k| r.get(k).is_some()) =>
        {
            r
        }
        _ => body,
    }
}

/// A WebMessage with a message and no `response` object (no report at all).
pub(crate) fn is_bare_message(body: &[u8]) -> bool {
    web_message(body).is_some()
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|v| !v.get("response").is_some_and(Value::is_object))
}

/// A `BadPayload` about a body, told where the body came from.
pub(crate) fn naming_url(e: Dhis2Error, meta: &ResponseMeta) -> Dhis2Error {
    match e {
        Dhis2Error::BadPayload {
            context,
            first_bytes,
        } if !meta.url.is_empty() => Dhis2Error::BadPayload {
            context: format!("{context} (HTTP {} from {})", meta.status, meta.url),
            first_bytes,
        },
        other => other,
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
