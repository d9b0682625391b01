//! Typed errors an engine can act on (retry, stop, count as partial result).
//!
//! Rules: no secret ever reaches a message (credentials live only in a header value
//! marked sensitive), and text that came from the network is escaped before it is
//! shown so it is inert in a terminal.

use std::time::Duration;

use super::reports::{ImportReport, ImportSummary};
use super::timeouts::{TimeoutPhase, seconds};
use super::tracker_report::TrackerReport;
pub use crate::text::sanitize;

pub type Result<T, E = Dhis2Error> = std::result::Result<T, E>;

/// The import report carried by a 409 response, by endpoint family.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictReport {
    /// `POST /api/metadata` (ImportReport).
    Metadata(ImportReport),
    /// `POST /api/dataValueSets` (ImportSummary).
    DataValues(ImportSummary),
    /// `POST /api/tracker` (tracker ImportReport).
    Tracker(TrackerReport),
}

#[derive(Debug, thiserror::Error)]
pub enum Dhis2Error {
    /// Bad credentials, locked account, or a login page instead of the API.
    #[error(
        "DHIS2 refused the login at {url} ({reason}): check the username/password or API token, and that the account is not locked or disabled (not retried: repeated failed logins lock DHIS2 accounts)"
    )]
    Auth { url: String, reason: String },

    /// Authenticated, but the user lacks an authority or sharing for this call.
    #[error(
        "access denied at {url}: {message}; check that the user has the needed authority (e.g. ALL for deletedObjects, F_METADATA_IMPORT) and data/metadata sharing"
    )]
    Forbidden { url: String, message: String },

    /// The URL answers, but not like a DHIS2 Web API.
    #[error(
        "{url} does not answer like a DHIS2 server ({reason}): check the base URL and its context path (e.g. https://host/dhis)"
    )]
    NotDhis2 { url: String, reason: String },

    /// 404 on an API path.
    #[error(
        "not found: {url} ({message}): check the base URL / context path, and that the object or endpoint exists in this DHIS2 version"
    )]
    NotFound { url: String, message: String },

    /// HTTP 409. When the body held an import report it is attached: the import
    /// happened (partly), so treat it as a result with errors, not as a crash.
    #[error(
        "DHIS2 reported a conflict: {message}; check the import report (missing references, locked periods, sharing)"
    )]
    Conflict {
        message: String,
        report: Option<Box<ConflictReport>>,
    },

    /// Network trouble, timeouts, 5xx, 429: worth retrying later.
    #[error("temporary failure: {reason}{}", fmt_retry_after(.retry_after))]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },

    /// A deadline of [`super::timeouts::Timeouts`] passed: the server hung
    /// (or the link died). Worth retrying at once: the wait was the cost.
    #[error(
        "request to {url} timed out after {} ({}); the server may be overloaded or the connection dead (if it is only slow, raise {} for this instance)",
        seconds(*.after),
        .phase.waiting_for(),
        .phase.setting()
    )]
    Timeout {
        url: String,
        phase: TimeoutPhase,
        after: Duration,
    },

    /// Not JSON, malformed JSON or an unexpected shape.
    #[error(
        "unexpected response ({context}); it starts with \"{first_bytes}\": check that the URL points at the DHIS2 Web API and that no proxy rewrites responses"
    )]
    BadPayload {
        context: String,
        first_bytes: String,
    },

    /// A well-formed answer that does not add up: a pager whose pages do not
    /// match its total, an import report that does not account for every
    /// object sent. Nothing in it is trusted (and nothing counted as synced).
    #[error(
        "{url} gave an answer that does not add up: {reason}; nothing from it counts as synced and the resource's watermark stays, so the next run asks again"
    )]
    Inconsistent { url: String, reason: String },

    /// 400 or another 4xx: the request itself is wrong for this server.
    #[error(
        "DHIS2 rejected the request with HTTP {status} at {url}: {message}; check the parameters and the DHIS2 version's API"
    )]
    BadRequest {
        status: u16,
        url: String,
        message: String,
    },

    /// Bad base URL, missing secret, invalid parameter combination.
    #[error("configuration error: {0}")]
    Config(String),
}

fn fmt_retry_after(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!("; the server asks to retry after {} s", d.as_secs()),
        // Whether it is retried is the caller's to say (a retry note, or the
        // worker's final "will not be retried").
        None => String::new(),
    }
}

impl Dhis2Error {
    /// Only transient failures are worth an automatic retry. Auth never is.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Dhis2Error::Transient { .. } | Dhis2Error::Timeout { .. }
        )
    }

    /// How an in-process retry announces itself (console step and
    /// `sync_jobs` log): what failed, then `retrying in …`.
    pub fn retry_note(&self, delay: Duration, retry: usize, of: usize) -> String {
        let when = if delay.is_zero() {
            "retrying now".to_string()
        } else {
            format!("retrying in {}", seconds(delay))
        };
        let count = format!("retry {retry} of {of}");
        match self {
            Dhis2Error::Timeout { url, phase, after } => format!(
                "request to {url} timed out after {}, {when} ({count}; {})",
                seconds(*after),
                phase.waiting_for()
            ),
            Dhis2Error::Transient { reason, .. } => format!("{reason}, {when} ({count})"),
            other => format!("{other}, {when} ({count})"),
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Dhis2Error::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn is_auth(&self) -> bool {
        matches!(self, Dhis2Error::Auth { .. })
    }

    /// The report carried by a 409, if any.
    pub fn report(&self) -> Option<&ConflictReport> {
        match self {
            Dhis2Error::Conflict {
                report: Some(r), ..
            } => Some(r),
            _ => None,
        }
    }

    /// Turns a 409 that carries a report into that report (a partial result);
    /// any other error comes back unchanged.
    pub fn into_report(self) -> Result<ConflictReport, Dhis2Error> {
        match self {
            Dhis2Error::Conflict {
                report: Some(r), ..
            } => Ok(*r),
            other => Err(other),
        }
    }

    pub(crate) fn transient(reason: impl Into<String>) -> Self {
        Dhis2Error::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub(crate) fn inconsistent(url: &str, reason: impl Into<String>) -> Self {
        Dhis2Error::Inconsistent {
            url: url.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_payload(context: impl Into<String>, body: &[u8]) -> Self {
        Dhis2Error::BadPayload {
            context: context.into(),
            first_bytes: snippet(body, SNIPPET_BYTES),
        }
    }
}

/// How much of an unexpected body an error shows.
pub const SNIPPET_BYTES: usize = 200;

/// The first `max` bytes of a body as printable text (see [`sanitize`]).
pub fn snippet(body: &[u8], max: usize) -> String {
    let cut = &body[..body.len().min(max)];
    let mut s = sanitize(&String::from_utf8_lossy(cut), usize::MAX);
    if body.len() > max {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_is_retryable() {
        let t = Dhis2Error::Transient {
            reason: "HTTP 503".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert!(t.is_retryable());
        assert_eq!(t.retry_after(), Some(Duration::from_secs(7)));
        assert!(t.to_string().contains("retry after 7 s"));
        let a = Dhis2Error::Auth {
            url: "u".into(),
            reason: "HTTP 401".into(),
        };
        assert!(!a.is_retryable());
        assert_eq!(a.retry_after(), None);
        assert!(a.to_string().contains("not locked"));
        assert!(!Dhis2Error::Config("x".into()).is_retryable());
        assert!(!Dhis2Error::bad_payload("x", b"<html>").is_retryable());
    }

    #[test]
    fn timeouts_are_retryable_and_say_what_was_awaited_and_what_to_raise() {
        let e = Dhis2Error::Timeout {
            url: "http://h/api/dataValueSets.json".into(),
            phase: TimeoutPhase::Idle,
            after: Duration::from_secs(30),
        };
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), None);
        assert_eq!(
            e.to_string(),
            "request to http://h/api/dataValueSets.json timed out after 30 s (no data while reading \
             the response body); the server may be overloaded or the connection dead (if it is only \
             slow, raise idle_timeout for this instance)"
        );
        assert_eq!(
            e.retry_note(Duration::ZERO, 1, 4),
            "request to http://h/api/dataValueSets.json timed out after 30 s, retrying now \
             (retry 1 of 4; no data while reading the response body)"
        );
        let t = Dhis2Error::transient("HTTP 503 from http://h/api/me");
        assert_eq!(
            t.retry_note(Duration::from_secs(1), 2, 4),
            "HTTP 503 from http://h/api/me, retrying in 1 s (retry 2 of 4)"
        );
    }

    #[test]
    fn snippet_escapes_control_chars_and_truncates() {
        let body = b"\x1b[31mred\x07\nline\r\0\xff end";
        let s = snippet(body, 200);
        assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
        assert!(s.contains("\\u{1b}[31mred"));
        assert!(s.contains("\\n"));
        let long = vec![b'a'; 500];
        let s = snippet(&long, 200);
        assert_eq!(s.chars().count(), 201);
        assert!(s.ends_with('…'));
        assert_eq!(sanitize("a\u{202E}b", 10), "a\\u{202e}b");
    }

    #[test]
    fn into_report_only_for_conflicts_with_reports() {
        let e = Dhis2Error::Conflict {
            message: "m".into(),
            report: Some(Box::new(ConflictReport::Metadata(ImportReport::default()))),
        };
        assert!(e.report().is_some());
        assert!(matches!(e.into_report(), Ok(ConflictReport::Metadata(_))));
        let e = Dhis2Error::Conflict {
            message: "m".into(),
            report: None,
        };
        assert!(e.into_report().is_err());
    }
}
