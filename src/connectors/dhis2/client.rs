//! HTTP core: base URL handling, authentication header, redirects, transport
//! errors, body reading. Endpoint methods live in the sibling modules.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use url::Url;

use super::auth::Credentials;
use super::error::{Dhis2Error, Result, sanitize};
use super::response::{ResponseMeta, is_login_location, url_for_message};
use super::timeouts::{TimeoutPhase, Timeouts, idle_limited};
use super::version::DhisVersion;

/// Tunables for [`Dhis2Client`]. `Default` suits a sync over a WAN.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Connect, first-byte, import and idle deadlines (see [`Timeouts`]).
    pub timeouts: Timeouts,
    pub user_agent: String,
    /// Ordinary redirects followed before giving up.
    pub max_redirects: usize,
    /// Largest non-streamed body accepted (metadata pages, reports).
    pub max_body_bytes: usize,
    /// Upper bound of the backoff between async job polls.
    pub job_poll_max_interval: Duration,
    /// How long an async import job may run before we give up waiting.
    pub job_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeouts: Timeouts::default(),
            user_agent: concat!("syncdeck/", env!("CARGO_PKG_VERSION")).to_string(),
            max_redirects: 5,
            max_body_bytes: 512 * 1024 * 1024,
            job_poll_max_interval: Duration::from_secs(5),
            job_timeout: Duration::from_secs(3600),
        }
    }
}

/// A DHIS2 Web API client. Cheap to clone (shared connection pool).
#[derive(Clone)]
pub struct Dhis2Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Normalised: ends with `/`, no `/api`, no query.
    base: Url,
    auth: HeaderValue,
    options: ClientOptions,
    /// Learned from `system/info`; drives version-specific parameters.
    version: Mutex<Option<DhisVersion>>,
}

impl fmt::Debug for Dhis2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dhis2Client")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Non-2xx bodies only need their start for classification (409 excepted).
const ERROR_BODY_CAP: usize = 1024 * 1024;

impl Dhis2Client {
    /// `base_url` may carry a context path (`https://host/dhis`), with or without
    /// a trailing slash; a trailing `/api` is dropped. TLS certificates are always verified.
    pub fn new(base_url: &str, credentials: Credentials, options: ClientOptions) -> Result<Self> {
        let base = normalize_base_url(base_url)?;
        let auth = credentials.header_value()?;
        // reqwest is built without a default crypto provider; Err means one is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let max = options.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            // Stop (don't follow) so the 302 reaches classification as an Auth error.
            if is_login_location(attempt.url().as_str()) {
                attempt.stop()
            } else if attempt.previous().len() > max {
                attempt.error(format!("more than {max} redirects"))
            } else {
                attempt.follow()
            }
        });
        // No `read_timeout`: reqwest starts it when the request is sent, so it
        // would also cut the wait for the headers, which may rightly be
        // longer (first byte, import). The idle deadline is applied to the
        // body as it is read instead (`read_body`, `body_stream`).
        let http = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.timeouts.connect)
            .redirect(policy)
            .gzip(true)
            .build()
            .map_err(|e| Dhis2Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Dhis2Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                options,
                version: Mutex::new(None),
            }),
        })
    }

    /// The normalised base URL (always ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// `{base}/api/{segments…}`, each segment percent-encoded.
    pub fn api_url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.inner.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| Dhis2Error::Config("base URL cannot carry a path".into()))?;
            segs.pop_if_empty().push("api");
            for s in segments {
                segs.push(s);
            }
        }
        Ok(url)
    }

    /// The server version learned by the last `system_info()`, if any.
    pub fn cached_version(&self) -> Option<DhisVersion> {
        *self
            .inner
            .version
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets the version without asking the server (tests, or a version known from the store).
    pub fn set_version(&self, v: DhisVersion) {
        *self
            .inner
            .version
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(v);
    }

    /// The server version, fetched via `system_info()` on first use.
    pub async fn version(&self) -> Result<DhisVersion> {
        if let Some(v) = self.cached_version() {
            return Ok(v);
        }
        Ok(self.system_info().await?.dhis_version())
    }

    /// Sends a request and waits for the response headers, at most the
    /// first-byte deadline (the import deadline for writes: DHIS2 answers an
    /// import when it is done); transport failures become typed errors. The
    /// response is not checked.
    pub(crate) async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        json_body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response> {
        let url = self.api_url(segments)?;
        let shown = url_for_message(&url);
        let timeouts = &self.inner.options.timeouts;
        let (phase, deadline) = if method == Method::GET || method == Method::HEAD {
            (TimeoutPhase::FirstByte, timeouts.first_byte)
        } else {
            (TimeoutPhase::Import, timeouts.import)
        };
        let mut rb = self
            .inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.inner.auth.clone())
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            rb = rb.query(query);
        }
        if let Some(body) = json_body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(body);
        }
        match tokio::time::timeout(deadline, rb.send()).await {
            Ok(sent) => sent.map_err(|e| self.transport_error(&e, &shown)),
            Err(_) => Err(Dhis2Error::Timeout {
                url: shown,
                phase,
                after: deadline,
            }),
        }
    }

    /// The body as a byte stream that fails with a timeout when the server
    /// goes silent for the idle deadline (for the streaming parser).
    pub(crate) fn body_stream(
        &self,
        resp: reqwest::Response,
    ) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + use<> {
        idle_limited(resp.bytes_stream(), self.inner.options.timeouts.idle)
    }

    /// The next chunk of `resp`'s body, at most the idle deadline away.
    async fn next_chunk(
        &self,
        resp: &mut reqwest::Response,
        url: &str,
    ) -> Result<Option<bytes::Bytes>> {
        let idle = self.inner.options.timeouts.idle;
        match tokio::time::timeout(idle, resp.chunk()).await {
            Ok(chunk) => chunk.map_err(|e| self.transport_error(&e, url)),
            Err(_) => Err(Dhis2Error::Timeout {
                url: url.to_string(),
                phase: TimeoutPhase::Idle,
                after: idle,
            }),
        }
    }

    /// A reqwest failure as a typed error; a connect timeout names its deadline.
    fn transport_error(&self, e: &reqwest::Error, url: &str) -> Dhis2Error {
        if e.is_connect() && e.is_timeout() {
            return Dhis2Error::Timeout {
                url: url.to_string(),
                phase: TimeoutPhase::Connect,
                after: self.inner.options.timeouts.connect,
            };
        }
        transport_error(e, url)
    }

    /// Reads a body, bounded. 2xx and 409 bodies are needed whole (reports);
    /// other errors are cut at 1 MiB since only their start is shown.
    pub(crate) async fn read_body(
        &self,
        mut resp: reqwest::Response,
    ) -> Result<(ResponseMeta, Vec<u8>)> {
        let meta = ResponseMeta::from_response(&resp);
        let whole = meta.is_success() || meta.status == 409;
        let cap = if whole {
            self.inner.options.max_body_bytes
        } else {
            ERROR_BODY_CAP
        };
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk(&mut resp, &meta.url).await? {
            if body.len() + chunk.len() > cap {
                if whole {
                    return Err(Dhis2Error::bad_payload(
                        format!(
                            "response from {} is larger than {} bytes; use smaller pages or a narrower selection",
                            meta.url, cap
                        ),
                        &body,
                    ));
                }
                body.extend_from_slice(&chunk[..cap - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((meta, body))
    }

    /// Sends and reads the whole body, unchecked.
    pub(crate) async fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        json_body: Option<Vec<u8>>,
    ) -> Result<(ResponseMeta, Vec<u8>)> {
        let resp = self.send(method, segments, query, json_body).await?;
        self.read_body(resp).await
    }
}

/// Validates and normalises a base URL (see [`Dhis2Client::new`]).
pub fn normalize_base_url(input: &str) -> Result<Url> {
    let mut url = Url::parse(input.trim()).map_err(|e| {
        Dhis2Error::Config(format!(
            "invalid DHIS2 base URL {:?}: {e}; expected e.g. https://host or https://host/dhis",
            // A URL that does not parse may still hold a password.
            sanitize(&crate::text::redact_user_info(input), 200)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Dhis2Error::Config(format!(
            "DHIS2 base URL must start with http:// or https://, got scheme {}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Dhis2Error::Config("DHIS2 base URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Keeps secrets out of URLs, which end up in logs and error messages.
        return Err(Dhis2Error::Config(
            "DHIS2 base URL must not contain a username or password; configure the credentials separately".into(),
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut path = url.path().trim_end_matches('/').to_string();
    if path.ends_with("/api") {
        path.truncate(path.len() - 4);
    }
    path.push('/');
    url.set_path(&path);
    Ok(url)
}

/// Maps a reqwest failure to what the engine should do about it.
/// A request body as JSON; failing to serialise our own payload is a bug in
/// what the caller built, reported as `Config` with what it was.
pub(crate) fn json_body(value: &impl serde::Serialize, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Dhis2Error::Config(format!("cannot serialise the {what}: {e}")))
}

pub(crate) fn transport_error(e: &reqwest::Error, url: &str) -> Dhis2Error {
    let chain = error_chain(e);
    if is_tls_failure(e) {
        return Dhis2Error::Config(format!(
            "TLS handshake with {url} failed ({chain}); check the server certificate and its chain (verification is never disabled)"
        ));
    }
    if e.is_redirect() {
        return Dhis2Error::NotDhis2 {
            url: url.to_string(),
            reason: format!("redirect loop or too many redirects: {chain}"),
        };
    }
    if e.is_builder() {
        return Dhis2Error::Config(format!("cannot build a request for {url}: {chain}"));
    }
    let reason = if e.is_timeout() {
        format!("request to {url} timed out ({chain})")
    } else if e.is_connect() {
        format!("cannot connect to {url} ({chain}); check the host, port and network")
    } else if e.is_body() || e.is_decode() {
        format!("connection lost while reading the response from {url} ({chain})")
    } else {
        format!("request to {url} failed ({chain})")
    };
    Dhis2Error::transient(reason)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    sanitize(&parts.join(": "), 400)
}

fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // io::Error::source() skips its wrapped error, so look inside explicitly.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && inner.downcast_ref::<rustls::Error>().is_some()
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_normalise() {
        for (input, want) in [
            ("https://play.dhis2.org", "https://play.dhis2.org/"),
            ("https://play.dhis2.org/", "https://play.dhis2.org/"),
            ("https://host/dhis", "https://host/dhis/"),
            ("https://host/dhis/", "https://host/dhis/"),
            ("https://host/dhis/api/", "https://host/dhis/"),
            ("https://host/api", "https://host/"),
            ("http://127.0.0.1:8080?x=1", "http://127.0.0.1:8080/"),
        ] {
            assert_eq!(normalize_base_url(input).unwrap().as_str(), want, "{input}");
        }
        for bad in [
            "ftp://h",
            "not a url",
            "https://admin:district@host/",
            // Does not parse (port out of range): the message must not echo it.
            "https://admin:district@host:99999/",
        ] {
            let e = normalize_base_url(bad).unwrap_err();
            assert!(matches!(e, Dhis2Error::Config(_)), "{bad}");
            assert!(!e.to_string().contains("district"));
        }
    }

    #[test]
    fn api_urls_keep_context_path() {
        let c = Dhis2Client::new(
            "https://host/dhis",
            Credentials::basic("a", "b"),
            ClientOptions::default(),
        )
        .unwrap();
        assert_eq!(
            c.api_url(&["system", "info"]).unwrap().as_str(),
            "https://host/dhis/api/system/info"
        );
        let c = Dhis2Client::new(
            "http://127.0.0.1:9/",
            Credentials::token("t"),
            ClientOptions::default(),
        )
        .unwrap();
        assert_eq!(
            c.api_url(&["tracker", "jobs", "a/b"]).unwrap().as_str(),
            "http://127.0.0.1:9/api/tracker/jobs/a%2Fb"
        );
        assert!(!format!("{c:?}").contains("ApiToken"));
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        // Port 9 (discard) on loopback is closed in test environments.
        let c = Dhis2Client::new(
            "http://127.0.0.1:9",
            Credentials::basic("admin", "district"),
            ClientOptions::default(),
        )
        .unwrap();
        let e = c.ping().await.unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert!(!e.to_string().contains("district"));
    }
}
