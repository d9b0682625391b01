//! What stands before every API handler: request statistics, injected latency,
//! hangs and server errors, and authentication.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::Rng;

use super::options::AuthFailure;
use super::{Shared, response};

/// Set when a request came in as `/api/NN/...`.
#[derive(Clone, Copy, Debug)]
pub struct VersionedPath(pub u32);

impl VersionedPath {
    /// `/api/37/...` (and older) kept the plain import report up to 2.41; 2.42 always wraps.
    pub fn wants_plain_report(versioned: Option<Self>, version: super::Dhis2Version) -> bool {
        versioned.is_some_and(|v| v.0 <= 37) && version.minor() <= 41
    }
}

/// `/api/37/metadata` behaves like `/api/metadata` (except the plain-response
/// opt-out, which handlers read from [`VersionedPath`]).
pub fn strip_version_prefix(mut req: Request) -> Request {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/api/") else {
        return req;
    };
    let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(version) = segment.parse::<u32>() else {
        return req;
    };
    if !(28..=43).contains(&version) {
        return req;
    }
    let mut new = format!("/api/{tail}");
    if let Some(q) = req.uri().query() {
        new.push('?');
        new.push_str(q);
    }
    if let Ok(uri) = new.parse::<Uri>() {
        *req.uri_mut() = uri;
        req.extensions_mut().insert(VersionedPath(version));
    }
    req
}

pub async fn gate(State(sim): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/api/_sim/") {
        return next.run(req).await;
    }
    // Job ids would make one counter per job: count those by route pattern.
    let endpoint = match req.extensions().get::<MatchedPath>() {
        Some(m) if m.as_str().contains("/jobs/") || m.as_str().contains("/system/task") => {
            m.as_str().to_string()
        }
        _ => path,
    };
    super::query::bump(
        &mut sim.stats().requests,
        &format!("{} {endpoint}", req.method()),
        1,
    );

    if let Some(latency) = sim.opts.latency {
        tokio::time::sleep(latency).await;
    }
    let (hang, fail, use_503) = sim.random(|r| {
        (
            r.random_bool(sim.opts.hang_rate),
            r.random_bool(sim.opts.fail_rate),
            r.random_bool(0.5),
        )
    });
    if hang {
        // Long enough to outlast any sane client timeout; the connection stays open.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if fail {
        return injected_failure(use_503);
    }
    if !authorized(&sim, req.headers()) {
        return auth_failure(sim.opts.auth_failure);
    }
    next.run(req).await
}

fn injected_failure(use_503: bool) -> Response {
    if use_503 {
        // What a reverse proxy sends while DHIS2 restarts: HTML, with Retry-After.
        let mut resp = (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
        )
            .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        resp
    } else {
        response::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not execute statement; SQL [n/a]; nested exception is org.hibernate.exception.LockAcquisitionException",
        )
    }
}

fn authorized(sim: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let expected = format!("{}:{}", sim.opts.username, sim.opts.password);
        base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .is_ok_and(|d| d == expected.as_bytes())
    } else if scheme.eq_ignore_ascii_case("apitoken") {
        credentials.trim() == sim.opts.api_token
    } else {
        false
    }
}

fn auth_failure(mode: AuthFailure) -> Response {
    match mode {
        AuthFailure::Json => {
            let mut resp = response::error(StatusCode::UNAUTHORIZED, "Unauthorized");
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"DHIS2\""),
            );
            resp
        }
        AuthFailure::Html => super::system_api::login_html(),
        AuthFailure::Redirect => {
            let mut resp = StatusCode::FOUND.into_response();
            resp.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_static("/dhis-web-login/"),
            );
            resp
        }
    }
}
