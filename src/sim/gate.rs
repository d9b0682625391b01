//! What stands before every API handler: request statistics, injected latency,
//! hangs, stalls and server errors, and authentication.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use rand::Rng;

use super::options::AuthFailure;
use super::{Shared, response};

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
    let (hang, stall, fail, use_503, stall_at) = sim.random(|r| {
        (
            r.random_bool(sim.opts.hang_rate),
            r.random_bool(sim.opts.stall_rate),
            r.random_bool(sim.opts.fail_rate),
            r.random_bool(0.5),
            r.random_range(1..=STALL_WITHIN),
        )
    });
    let fault = |kind: &str| super::query::bump(&mut sim.stats().faults, kind, 1);
    if hang {
        fault("hang");
        tokio::time::sleep(FOREVER).await;
    }
    if fail {
        fault("fail");
        return injected_failure(use_503);
    }
    if !authorized(&sim, req.headers()) {
        return auth_failure(sim.opts.auth_failure);
    }
    let resp = next.run(req).await;
    if stall {
        fault("stall");
        return stalled(resp, stall_at);
    }
    resp
}

/// Long enough to outlast any sane client deadline; the connection stays open.
const FOREVER: Duration = Duration::from_secs(3600);

/// A stalled body stops within its first this many bytes (a few of the data
/// value export's chunks, so some batches arrive before it).
const STALL_WITHIN: usize = 2 << 20;

/// `resp` with its body cut after `at` bytes (or before its last byte, if
/// shorter), then silence on an open connection: a server stuck mid-answer.
fn stalled(resp: Response, at: usize) -> Response {
    use futures_util::StreamExt;
    let (parts, body) = resp.into_parts();
    struct Cut {
        body: axum::body::BodyDataStream,
        /// A chunk read ahead, to know which one is the last.
        held: Option<Bytes>,
        sent: usize,
        at: usize,
        done: bool,
    }
    let cut = Cut {
        body: body.into_data_stream(),
        held: None,
        sent: 0,
        at,
        done: false,
    };
    let stream = futures_util::stream::unfold(cut, |mut c| async move {
        if c.done {
            tokio::time::sleep(FOREVER).await;
            return None;
        }
        let held = match c.held.take() {
            Some(b) => Some(b),
            None => c.body.next().await.and_then(Result::ok),
        };
        let Some(chunk) = held else {
            // An empty body: nothing to cut, so hang before the end.
            c.done = true;
            return Some((Ok::<_, std::io::Error>(Bytes::new()), c));
        };
        let next = c.body.next().await.and_then(Result::ok);
        let room = c.at.saturating_sub(c.sent);
        let out = if next.is_none() || chunk.len() >= room {
            // The last chunk, or the cut falls inside this one.
            c.done = true;
            let keep = room.min(chunk.len().saturating_sub(1));
            chunk.slice(..keep)
        } else {
            chunk
        };
        c.sent += out.len();
        c.held = next;
        Some((Ok(out), c))
    });
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
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
