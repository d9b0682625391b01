//! Requests to a daemon's `/api/v1/…` and its answers turned back into
//! `EngineError`s: a refused token, an unreachable daemon, a not-found
//! config, a configuration's problems by file and line.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::Token;
use crate::engine::EngineError;

/// Where a daemon's API is: `unix:PATH`, `http://HOST:PORT`, `https://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Http(url::Url),
}

impl Endpoint {
    pub fn parse(spec: &str) -> Result<Endpoint, String> {
        if let Some(path) = spec.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs the socket's path, e.g. unix:/run/user/1000/syncdeck/daemon-….sock".into());
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let url = url::Url::parse(spec).map_err(|e| {
            format!("\"{spec}\" is neither unix:PATH nor http(s)://HOST:PORT ({e})")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!(
                "\"{spec}\" is neither unix:PATH nor http(s)://HOST:PORT"
            ));
        }
        Ok(Endpoint::Http(url))
    }

    /// For the console's header and messages.
    pub fn shown(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("unix:{}", p.display()),
            Endpoint::Http(u) => u.as_str().trim_end_matches('/').to_string(),
        }
    }
}

#[derive(Clone)]
pub struct Http {
    /// Bytes of bodies read (answers and the event stream), by every clone.
    pub received: std::sync::Arc<std::sync::atomic::AtomicU64>,
    client: reqwest::Client,
    /// `http://daemon` for a socket (the host is not looked up).
    base: url::Url,
    token: Token,
    shown: String,
}

/// How long a request may take; the event stream has no such limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Http {
    pub fn new(endpoint: &Endpoint, token: Token) -> Result<Http, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
        let base = match endpoint {
            Endpoint::Unix(path) => {
                builder = builder.unix_socket(path.as_path());
                url::Url::parse("http://daemon/").map_err(|e| e.to_string())?
            }
            Endpoint::Http(url) => {
                let mut url = url.clone();
                if !url.path().ends_with('/') {
                    url.set_path(&format!("{}/", url.path()));
                }
                url
            }
        };
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http {
            received: Default::default(),
            client,
            base,
            token,
            shown: endpoint.shown(),
        })
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// A request to the path of `segments` under the base, each segment
    /// escaped (a config's name may hold `/` or `?`).
    pub fn request(
        &self,
        method: Method,
        segments: &[&str],
    ) -> Result<reqwest::RequestBuilder, EngineError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| EngineError::Unreachable(format!("{} cannot take a path", self.shown)))?
            .pop_if_empty()
            .extend(segments);
        Ok(self
            .client
            .request(method, url)
            .bearer_auth(self.token.expose()))
    }

    /// Sends and reads a JSON answer; `not_found` says what a 404 means.
    pub async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        not_found: impl FnOnce() -> EngineError,
    ) -> Result<T, EngineError> {
        let resp = self.send(req.timeout(REQUEST_TIMEOUT)).await?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.link_error(&e))?;
        self.count(body.len());
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                EngineError::Unreachable(format!(
                    "{} answered something syncdeck cannot read ({e}); is it a syncdeck daemon of the same version?",
                    self.shown
                ))
            });
        }
        Err(self.refusal(status, &body, not_found))
    }

    pub fn count(&self, bytes: usize) {
        self.received
            .fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends and returns the response (status not judged: the event stream).
    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, EngineError> {
        let resp = req.send().await.map_err(|e| self.link_error(&e))?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            return Err(EngineError::Unauthorized(format!(
                "{} refused the API token; give the daemon's token with --token-file (the daemon's own --token-file, by default api-token in its data directory) or SYNCDECK_API_TOKEN",
                self.shown
            )));
        }
        Ok(resp)
    }

    /// The error of an answer that is not a success, from its `kind`.
    pub fn refusal(
        &self,
        status: StatusCode,
        body: &[u8],
        not_found: impl FnOnce() -> EngineError,
    ) -> EngineError {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let message = json["error"]
            .as_str()
            .map(crate::text::inert)
            .unwrap_or_else(|| format!("{} answered {status}", self.shown));
        match json["kind"].as_str() {
            Some("not_found") => not_found(),
            Some("invalid") | Some("bad_request") => EngineError::Invalid(message),
            Some("invalid_config") => match serde_json::from_value(json["problems"].clone()) {
                Ok(problems) => {
                    EngineError::InvalidConfig(crate::config::ValidationErrors(problems))
                }
                Err(_) => EngineError::Invalid(message),
            },
            Some("store") => EngineError::Store(message),
            _ => EngineError::Unreachable(message),
        }
    }

    fn link_error(&self, e: &reqwest::Error) -> EngineError {
        let why = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            // The innermost cause says it: refused, no such socket, no route.
            let mut cause: &dyn std::error::Error = e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            format!("cannot connect ({cause})")
        } else {
            e.to_string()
        };
        EngineError::Unreachable(format!(
            "the daemon at {} is unreachable: {why}; is `syncdeck daemon` running?",
            self.shown
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_say_what_they_accept() {
        assert_eq!(
            Endpoint::parse("unix:/run/a.sock"),
            Ok(Endpoint::Unix("/run/a.sock".into()))
        );
        let http = Endpoint::parse("http://127.0.0.1:8470").unwrap();
        assert_eq!(http.shown(), "http://127.0.0.1:8470");
        for bad in ["unix:", "127.0.0.1:8470", "ftp://x", "http://"] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(err.contains("unix:"), "{bad}: {err}");
        }
    }
}
