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

    pub fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(is_json_type)
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
    let inner = super::reports::unwrap_response(body);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(status: u16, ct: Option<&str>) -> ResponseMeta {
        ResponseMeta {
            status,
            content_type: ct.map(str::to_string),
            url: "http://h/api/x".into(),
            ..Default::default()
        }
    }

    #[test]
    fn json_success_is_ok() {
        assert!(check(&meta(200, Some("application/json;charset=UTF-8")), b"{}").is_ok());
        assert!(check(&meta(201, Some("application/vnd.x+json")), b"{}").is_ok());
        assert!(check(&meta(200, None), b"  [1]").is_ok());
    }

    #[test]
    fn html_login_page_is_auth_other_html_is_not_dhis2() {
        let login = b"<html><form action=\"/dhis-web-commons-security/login.action\"><input name=\"j_username\"></form></html>";
        let e = check(&meta(200, Some("text/html;charset=UTF-8")), login).unwrap_err();
        assert!(e.is_auth(), "{e}");
        assert!(!e.is_retryable());
        let e = check(
            &meta(200, Some("text/html")),
            b"<html><body>Welcome to nginx</body></html>",
        )
        .unwrap_err();
        assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
        assert!(e.to_string().contains("context path"));
        // No content type but an HTML body: still sniffed.
        let e = check(&meta(200, None), login).unwrap_err();
        assert!(e.is_auth());
    }

    #[test]
    fn non_json_content_type_is_bad_payload() {
        let e = check(&meta(200, Some("text/plain")), b"pong\x1b[2J").unwrap_err();
        match e {
            Dhis2Error::BadPayload { first_bytes, .. } => {
                assert!(first_bytes.starts_with("pong"));
                assert!(!first_bytes.contains('\x1b'));
            }
            other => panic!("{other}"),
        }
        let e = check(&meta(200, None), b"garbage").unwrap_err();
        assert!(matches!(e, Dhis2Error::BadPayload { .. }));
    }

    #[test]
    fn redirects() {
        let mut m = meta(302, None);
        m.location = Some("https://h/dhis-web-login/".into());
        assert!(check(&m, b"").unwrap_err().is_auth());
        m.location = Some("https://h/dhis-web-commons/security/login.action".into());
        assert!(check(&m, b"").unwrap_err().is_auth());
        m.location = Some("https://other/elsewhere".into());
        assert!(matches!(
            check(&m, b"").unwrap_err(),
            Dhis2Error::NotDhis2 { .. }
        ));
        assert!(is_login_location("/api/../login"));
        assert!(!is_login_location("https://h/api/system/info"));
    }

    #[test]
    fn status_codes() {
        let j = Some("application/json");
        assert!(check(&meta(401, j), b"{}").unwrap_err().is_auth());
        let e = check(
            &meta(403, j),
            br#"{"httpStatus":"Forbidden","httpStatusCode":403,"status":"ERROR","message":"Access is denied"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, Dhis2Error::Forbidden { ref message, .. } if message == "Access is denied")
        );
        assert!(
            check(&meta(403, Some("text/html")), b"<html>")
                .unwrap_err()
                .is_auth()
        );
        assert!(matches!(
            check(&meta(404, j), b"{}").unwrap_err(),
            Dhis2Error::NotFound { .. }
        ));
        for s in [408, 429, 500, 502, 503, 504, 507] {
            let e = check(&meta(s, j), b"").unwrap_err();
            assert!(e.is_retryable(), "{s}");
        }
        let e = check(
            &meta(400, j),
            br#"{"status":"ERROR","message":"pageSize too big\u001b[0m","errorCode":"E1000"}"#,
        )
        .unwrap_err();
        match e {
            Dhis2Error::BadRequest {
                status, message, ..
            } => {
                assert_eq!(status, 400);
                assert!(message.starts_with("E1000: pageSize too big"));
                assert!(!message.contains('\x1b'));
            }
            other => panic!("{other}"),
        }
        assert!(matches!(
            check(&meta(413, Some("text/html")), b"<html>").unwrap_err(),
            Dhis2Error::BadRequest { status: 413, .. }
        ));
        assert!(!check(&meta(501, j), b"").unwrap_err().is_retryable());
    }

    #[test]
    fn retry_after_header() {
        let mut m = meta(503, None);
        m.retry_after = Some("120".into());
        assert_eq!(
            check(&m, b"").unwrap_err().retry_after(),
            Some(Duration::from_secs(120))
        );
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
    }

    #[test]
    fn conflict_without_report_keeps_message() {
        let e = check(
            &meta(409, Some("application/json")),
            br#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"ERROR","message":"At least one data set must be specified","errorCode":"E2002"}"#,
        )
        .unwrap_err();
        match &e {
            Dhis2Error::Conflict { message, report } => {
                assert!(message.contains("E2002"));
                assert!(report.is_none());
            }
            other => panic!("{other}"),
        }
        assert!(!e.is_retryable());
    }

    #[test]
    fn conflict_detects_report_kinds() {
        let md = br#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"WARNING","response":{"status":"ERROR","stats":{"created":0,"updated":0,"deleted":0,"ignored":1,"total":1},"typeReports":[]}}"#;
        assert!(matches!(
            conflict(md).into_report(),
            Ok(ConflictReport::Metadata(_))
        ));
        let dv = br#"{"status":"WARNING","response":{"status":"WARNING","importCount":{"imported":0,"updated":0,"ignored":1,"deleted":0},"conflicts":[]}}"#;
        assert!(matches!(
            conflict(dv).into_report(),
            Ok(ConflictReport::DataValues(_))
        ));
        let tr =
            br#"{"status":"ERROR","validationReport":{"errorReports":[]},"stats":{"ignored":1}}"#;
        assert!(matches!(
            conflict(tr).into_report(),
            Ok(ConflictReport::Tracker(_))
        ));
        assert!(conflict(b"<html>").into_report().is_err());
    }

    #[test]
    fn url_for_message_strips_query_and_userinfo() {
        let u = url::Url::parse("https://u:p@h/dhis/api/x?filter=a#f").unwrap();
        assert_eq!(url_for_message(&u), "https://h/dhis/api/x");
    }
}
