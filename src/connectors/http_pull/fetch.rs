//! One pull: GET the document with the site's credentials, and decide what
//! came back. Nothing here writes anything.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderValue};

use crate::connectors::dhis2::Credentials;
use crate::hashing::python_json_md5;

/// Larger is not a site configuration; refusing it keeps memory bounded.
const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;
/// The placeholder of a backend that takes the site token in the path.
pub const TOKEN_PLACEHOLDER: &str = "{token}";

/// Why a pull did not give a document. Messages name the backend by its URL
/// as configured (with `{token}`, never the token) and say what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Server(String),
    #[error("{0}")]
    NotADocument(String),
    #[error("{0}")]
    HashMismatch(String),
    #[error("{0}")]
    Config(String),
}

/// A pulled document, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub bytes: Vec<u8>,
    /// The backend's hash field, or the computed hash when it has none.
    pub backend_hash: String,
    /// MD5 of `json.dumps(doc without the hash field, sort_keys=True)`.
    pub computed_hash: String,
    /// Devices (or syncs, or top-level entries) in it.
    pub items: u64,
    /// What `items` counts: `devices`, `syncs` or `entries`.
    pub items_kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the backend still has the document whose hash was sent.
    NotModified,
    Document(Document),
}

pub struct PullClient {
    http: reqwest::Client,
    /// The URL to request (the token substituted when the path takes it).
    url: String,
    /// The URL as configured, for messages.
    shown: String,
    authorization: Option<HeaderValue>,
}

impl PullClient {
    /// `url` may hold `{token}`: the backend takes the site token in the path
    /// (percent-encoded there, and then not sent as a header).
    pub fn new(
        url: &str,
        credentials: Credentials,
        connect: Duration,
        total: Duration,
    ) -> Result<PullClient, PullError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .user_agent(concat!("syncdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PullError::Config(format!("cannot build the HTTP client: {e}")))?;
        let shown = crate::text::redact_user_info(url);
        let (url, authorization) = match &credentials {
            Credentials::Token(token) if url.contains(TOKEN_PLACEHOLDER) => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(token.expose().as_bytes()).collect();
                (url.replace(TOKEN_PLACEHOLDER, &encoded), None)
            }
            Credentials::Token(token) => (
                url.to_string(),
                Some(secret_header(&format!("Bearer {}", token.expose()))?),
            ),
            Credentials::Basic { username, password } => {
                use base64::Engine as _;
                let pair = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                (
                    url.to_string(),
                    Some(secret_header(&format!("Basic {encoded}"))?),
                )
            }
        };
        if url.contains(TOKEN_PLACEHOLDER) {
            return Err(PullError::Config(format!(
                "{shown} takes the token in its path, but the instance has a password; use token_env or token_file"
            )));
        }
        Ok(PullClient {
            http,
            url,
            shown,
            authorization,
        })
    }

    /// GETs the document; `current` (the hash of the local copy) is sent as
    /// `If-None-Match`, so a backend that supports it answers 304 without a body.
    pub async fn fetch(
        &self,
        current: Option<&str>,
        hash_field: &str,
        verify_hash: bool,
    ) -> Result<Fetched, PullError> {
        let mut request = self
            .http
            .get(&self.url)
            .header(header::ACCEPT, "application/json");
        if let Some(auth) = &self.authorization {
            request = request.header(header::AUTHORIZATION, auth.clone());
        }
        if let Some(hash) = current {
            request = request.header(header::IF_NONE_MATCH, format!("\"{hash}\""));
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
        let body = self.read_body(response).await?;
        if !status.is_success() {
            return Err(self.status_error(status, &body));
        }
        if html || body.trim_ascii_start().starts_with(b"<") {
            return Err(PullError::NotADocument(format!(
                "{} answered an HTML page, not a JSON document (a login page or a proxy error?); check the URL and the token",
                self.shown
            )));
        }
        judge(body, hash_field, verify_hash)
            .map(Fetched::Document)
            .map_err(|e| match e {
                PullError::NotADocument(m) => {
                    PullError::NotADocument(format!("{}: {m}", self.shown))
                }
                PullError::HashMismatch(m) => {
                    PullError::HashMismatch(format!("{}: {m}", self.shown))
                }
                e => e,
            })
    }

    async fn read_body(&self, response: reqwest::Response) -> Result<Vec<u8>, PullError> {
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.transport(e))?;
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(PullError::NotADocument(format!(
                    "{} sent more than {} MiB; a site configuration is not that large",
                    self.shown,
                    MAX_DOCUMENT_BYTES / (1024 * 1024)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, e: reqwest::Error) -> PullError {
        // The URL requested may hold the token: messages name `shown`.
        let e = e.without_url();
        let mut cause = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            let text = s.to_string();
            if !cause.contains(&text) {
                if !cause.is_empty() {
                    cause.push_str(": ");
                }
                cause.push_str(&text);
            }
            source = s.source();
        }
        let cause = cause.replace(&self.url, &self.shown);
        if e.is_timeout() {
            PullError::Unreachable(format!("{} did not answer in time ({cause})", self.shown))
        } else if e.is_body() || e.is_decode() {
            PullError::Unreachable(format!(
                "the document from {} was cut off ({cause}); the next pull tries again",
                self.shown
            ))
        } else {
            PullError::Unreachable(format!(
                "cannot reach {} ({cause}); is the backend running and the URL right?",
                self.shown
            ))
        }
    }

    fn status_error(&self, status: StatusCode, body: &[u8]) -> PullError {
        let said = crate::text::sanitize(String::from_utf8_lossy(body).trim(), 200);
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        };
        match status.as_u16() {
            401 | 403 => PullError::Refused(format!(
                "{} refused the site's token ({status}){said}; check the instance's token_env or token_file",
                self.shown
            )),
            404 => PullError::Refused(format!(
                "{} has no configuration here (404){said}; check the URL and the site token",
                self.shown
            )),
            s if s >= 500 || s == 429 => {
                PullError::Server(format!("{} failed ({status}){said}", self.shown))
            }
            _ => PullError::Refused(format!("{} answered {status}{said}", self.shown)),
        }
    }
}

fn secret_header(value: &str) -> Result<HeaderValue, PullError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        PullError::Config(
            "the token or password holds characters an HTTP header cannot carry".into(),
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// A body as a document: a JSON object, hashed as Python would, its own hash
/// field checked when `verify_hash`.
pub fn judge(bytes: Vec<u8>, hash_field: &str, verify_hash: bool) -> Result<Document, PullError> {
    let computed_hash = python_json_md5(&bytes, Some(hash_field))
        .map_err(|e| PullError::NotADocument(format!("not a JSON document ({e})")))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| PullError::NotADocument(format!("not a JSON document ({e})")))?;
    let serde_json::Value::Object(object) = &value else {
        return Err(PullError::NotADocument(
            "the document must be a JSON object".into(),
        ));
    };
    let announced = match object.get(hash_field) {
        None => None,
        Some(serde_json::Value::String(h)) => Some(h.to_ascii_lowercase()),
        Some(_) => {
            return Err(PullError::NotADocument(format!(
                "its {hash_field} is not a string"
            )));
        }
    };
    if verify_hash
        && let Some(announced) = &announced
        && *announced != computed_hash
    {
        return Err(PullError::HashMismatch(format!(
            "the document announces {hash_field} {announced} but its content hashes to {computed_hash}; refused (verify_hash = true). Was it cut or edited on the way?"
        )));
    }
    let (items, items_kind) = match (object.get("devices"), object.get("sync")) {
        (Some(serde_json::Value::Array(devices)), _) => (devices.len(), "devices"),
        (_, Some(serde_json::Value::Array(syncs))) => (syncs.len(), "syncs"),
        _ => (object.len() - usize::from(announced.is_some()), "entries"),
    };
    Ok(Document {
        items: items as u64,
        items_kind,
        backend_hash: announced.unwrap_or_else(|| computed_hash.clone()),
        computed_hash,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_judged_by_its_own_hash() {
        let plain = br#"{"site_name": "Lyon", "devices": [{"ip": "10.0.0.1"}]}"#.to_vec();
        let doc = judge(plain.clone(), "config_hash", true).unwrap();
        assert_eq!(doc.backend_hash, doc.computed_hash);
        assert_eq!(doc.items, 1);
        let with_hash = format!(
            r#"{{"site_name": "Lyon", "devices": [{{"ip": "10.0.0.1"}}], "config_hash": "{}"}}"#,
            doc.computed_hash
        );
        let again = judge(with_hash.into_bytes(), "config_hash", true).unwrap();
        assert_eq!(
            again.computed_hash, doc.computed_hash,
            "the hash field is left out"
        );
        let lying = br#"{"site_name": "Lyon", "config_hash": "00000000000000000000000000000000"}"#;
        let err = judge(lying.to_vec(), "config_hash", true).unwrap_err();
        assert!(matches!(err, PullError::HashMismatch(_)), "{err}");
        let trusted = judge(lying.to_vec(), "config_hash", false).unwrap();
        assert_eq!(trusted.backend_hash, "0".repeat(32));
        assert!(matches!(
            judge(b"[1, 2]".to_vec(), "config_hash", true),
            Err(PullError::NotADocument(_))
        ));
        assert!(matches!(
            judge(br#"{"a": "#.to_vec(), "config_hash", true),
            Err(PullError::NotADocument(_))
        ));
    }
}
