//! The daemon's HTTP API: `/api/v1/…` (what the CLI does), the old
//! dashboard's two endpoints, server-sent events, logs, `/metrics`,
//! `/healthz` and `/readyz`. Every request but the health checks needs the
//! bearer token. Handlers only translate to and from `EngineApi`.
//!
//! It listens on a unix socket (mode 0600) and, when asked, on TCP; TLS is
//! left to a reverse proxy or an SSH tunnel (README).

mod error;
pub mod events;
mod legacy;
pub mod listen;
mod logs_api;
mod metrics;
pub mod token;
mod v1;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::engine::EngineHandle;
use crate::logs::LogCatalog;
use crate::logs::tail::Tail;
pub use listen::Listen;
pub use token::Token;

#[derive(Clone)]
pub struct ApiState {
    engine: EngineHandle,
    token: Token,
    events: Arc<events::EventLog>,
    counters: Arc<metrics::Counters>,
    logs: Option<LogCatalog>,
    /// Whether this process runs schedulers (for `/readyz`).
    schedulers: bool,
}

pub struct ApiOptions {
    pub listen: Vec<Listen>,
    pub token: Token,
    pub logs: Option<LogCatalog>,
    /// The log tail whose lines the event stream carries.
    pub tail: Option<Arc<Tail>>,
    pub schedulers: bool,
}

/// The API, serving until `cancel`.
pub struct RunningApi {
    pub addresses: Vec<Listen>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    sockets: Vec<std::path::PathBuf>,
}

impl RunningApi {
    /// Waits for the servers to stop (after `cancel`) and removes the sockets.
    pub async fn finish(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        for s in self.sockets {
            let _ = std::fs::remove_file(s);
        }
    }
}

pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/api/v1/snapshot", get(v1::snapshot))
        .route("/api/v1/configs", get(v1::configs))
        .route("/api/v1/start", post(v1::start_all))
        .route("/api/v1/stop", post(v1::stop_all))
        .route("/api/v1/configs/{config}", get(v1::config))
        .route("/api/v1/configs/{config}/start", post(v1::start))
        .route("/api/v1/configs/{config}/stop", post(v1::stop))
        .route("/api/v1/configs/{config}/trigger", post(v1::trigger))
        .route("/api/v1/configs/{config}/settings", put(v1::setup))
        .route(
            "/api/v1/configs/{config}/cooldown/clear",
            post(v1::clear_cooldown),
        )
        .route("/api/v1/jobs", get(v1::jobs))
        .route("/api/v1/jobs/retry", post(v1::retry_all))
        .route("/api/v1/jobs/clear", post(v1::clear))
        .route("/api/v1/jobs/{id}", get(v1::job))
        .route("/api/v1/jobs/{id}/rejections", get(v1::rejections))
        .route("/api/v1/jobs/{id}/retry", post(v1::retry))
        .route("/api/v1/detections", get(v1::detections))
        .route("/api/v1/apply", post(v1::apply))
        .route("/api/v1/export", get(v1::export))
        .route("/api/v1/events", get(events_stream))
        .route("/api/v1/logs", get(logs_api::list))
        .route("/api/v1/logs/search", get(logs_api::search))
        .route("/api/v1/logs/{name}", get(logs_api::view))
        .route("/api/v1/logs/{name}/download", get(logs_api::download))
        .route("/api/v1/logs/{name}/clear", post(logs_api::clear))
        .route(
            "/api/auto-sync/dashboard-stats/",
            get(legacy::dashboard_stats),
        )
        .route("/api/auto-sync/{config}/progress/", get(legacy::progress))
        .route("/metrics", get(metrics_text))
        // Route layers run after routing, so the count has the route's
        // pattern; it wraps the token check, so refusals are counted too.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authorize,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), count));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .merge(api)
        .fallback(|| async {
            error::ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; the API is under /api/v1/ (README)",
            )
        })
        .with_state(state)
}

async fn authorize(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if !s.token.admits(given) {
        let mut resp = error::ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a bearer token is required: Authorization: Bearer TOKEN (the daemon's --token-file)",
        )
        .into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return resp;
    }
    next.run(req).await
}

async fn count(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    s.counters
        .requests
        .get_or_create(&metrics::RequestLabels {
            method,
            route,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

async fn readyz(State(s): State<ApiState>) -> Response {
    match s.engine.snapshot().await {
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {e}\n"),
        )
            .into_response(),
        Ok(_) if !s.schedulers => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no schedulers run in this process\n",
        )
            .into_response(),
        Ok(_) => "ready\n".into_response(),
    }
}

async fn metrics_text(State(s): State<ApiState>) -> Response {
    match metrics::render(&s.engine, &s.counters).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    /// Resume after this id (for clients that cannot set Last-Event-ID).
    after: Option<u64>,
}

async fn events_stream(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(q.after);
    Sse::new(s.events.stream(after))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Binds every address and serves until `cancel`.
pub async fn start(
    engine: EngineHandle,
    options: ApiOptions,
    cancel: CancellationToken,
) -> anyhow::Result<RunningApi> {
    let state = ApiState {
        events: events::EventLog::start(&engine, options.tail, cancel.clone()),
        counters: metrics::Counters::start(&engine, cancel.clone()),
        engine,
        token: options.token,
        logs: options.logs,
        schedulers: options.schedulers,
    };
    let app = router(state);
    let mut tasks = Vec::new();
    let mut sockets = Vec::new();
    let mut addresses = Vec::new();
    for listen in options.listen {
        let stop = cancel.clone();
        let app = app.clone();
        match &listen {
            Listen::Unix(path) => {
                if listen::socket_in_use(path).await {
                    anyhow::bail!(
                        "{} is in use: another daemon serves this database already (stop it, or give --listen another path)",
                        path.display()
                    );
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
                }
                // A socket left by a daemon that was killed.
                let _ = std::fs::remove_file(path);
                let listener = tokio::net::UnixListener::bind(path)
                    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", path.display()))?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                sockets.push(path.clone());
                tasks.push(tokio::spawn(async move {
                    let serve = axum::serve(listener, app)
                        .with_graceful_shutdown(async move { stop.cancelled().await });
                    if let Err(e) = serve.await {
                        tracing::error!(target: "auto_sync", "the API stopped: {e}");
                    }
                }));
                addresses.push(listen.clone());
            }
            Listen::Tcp(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    anyhow::anyhow!("cannot listen on {addr}: {e} (is the port in use?)")
                })?;
                let bound = listener.local_addr()?;
                tasks.push(tokio::spawn(async move {
                    let serve = axum::serve(listener, app)
                        .with_graceful_shutdown(async move { stop.cancelled().await });
                    if let Err(e) = serve.await {
                        tracing::error!(target: "auto_sync", "the API stopped: {e}");
                    }
                }));
                addresses.push(Listen::Tcp(bound));
            }
        }
    }
    Ok(RunningApi {
        addresses,
        tasks,
        sockets,
    })
}
