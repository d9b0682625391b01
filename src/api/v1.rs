//! `/api/v1/…`: what the CLI does, over HTTP. Handlers only translate: every
//! rule lives behind `EngineApi`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::error::{ApiError, ApiResult};
use crate::config::AutoSettings;
use crate::store::queue::{JobFilter, JobState};

pub async fn snapshot(State(s): State<ApiState>) -> ApiResult<Response> {
    Ok(Json(s.engine.snapshot().await?).into_response())
}

pub async fn configs(State(s): State<ApiState>) -> ApiResult<Response> {
    Ok(Json(s.engine.snapshot().await?.configs).into_response())
}

pub async fn config(
    State(s): State<ApiState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    let config = s.engine.config(&reference).await?;
    let snapshot = s.engine.snapshot().await?;
    let status = snapshot
        .configs
        .into_iter()
        .find(|c| c.id == config.id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the config just went away",
            )
        })?;
    let watermarks: serde_json::Map<String, Value> = s
        .engine
        .watermarks(&reference)
        .await?
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut body = serde_json::to_value(&status)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    body["watermarks"] = Value::Object(watermarks);
    Ok(Json(body).into_response())
}

pub async fn start(
    State(s): State<ApiState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    let names = s.engine.start(Some(&reference)).await?;
    Ok(Json(json!({ "started": names })).into_response())
}

pub async fn stop(State(s): State<ApiState>, Path(reference): Path<String>) -> ApiResult<Response> {
    let names = s.engine.stop(Some(&reference)).await?;
    Ok(Json(json!({ "stopped": names })).into_response())
}

/// Every config's scheduler on.
pub async fn start_all(State(s): State<ApiState>) -> ApiResult<Response> {
    let names = s.engine.start(None).await?;
    Ok(Json(json!({ "started": names })).into_response())
}

/// Every config's scheduler off (queued jobs cancelled).
pub async fn stop_all(State(s): State<ApiState>) -> ApiResult<Response> {
    let names = s.engine.stop(None).await?;
    Ok(Json(json!({ "stopped": names })).into_response())
}

/// 202 with the job: it runs on a worker of some daemon, not in this request.
pub async fn trigger(
    State(s): State<ApiState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    let id = s.engine.trigger(&reference).await?;
    let (job, _) = s.engine.job(id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job }))).into_response())
}

/// The `[sync.auto]` table as TOML text, with exactly `apply`'s rules; or
/// (`Content-Type: application/json`) every setting as JSON, durations in
/// seconds, as `GET /api/v1/configs/{config}` shows them under `config.auto`.
pub async fn setup(
    State(s): State<ApiState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let settings = if is_json(&headers) {
        serde_json::from_slice::<AutoSettings>(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the settings are not the JSON of [sync.auto] (every key, durations in seconds): {e}"
            ))
        })?
    } else {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_request("the settings must be UTF-8 text"))?;
        crate::config::file::parse_auto(text).map_err(|e| ApiError {
            problems: serde_json::to_value(&e.0).ok(),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_config",
                e.to_string(),
            )
        })?
    };
    s.engine.setup(&reference, settings).await?;
    Ok(Json(json!({ "updated": reference })).into_response())
}

pub async fn clear_cooldown(
    State(s): State<ApiState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    let until = s.engine.clear_cooldown(&reference).await?;
    Ok(Json(json!({ "cleared": until.is_some(), "was_until": until })).into_response())
}

#[derive(Deserialize)]
pub struct JobsQuery {
    /// Comma-separated states.
    state: Option<String>,
    config: Option<String>,
    /// Only jobs of this queue.
    queue: Option<String>,
    limit: Option<u32>,
}

pub async fn jobs(State(s): State<ApiState>, Query(q): Query<JobsQuery>) -> ApiResult<Response> {
    let mut filter = JobFilter {
        limit: q.limit.unwrap_or(100),
        queue: q.queue,
        ..Default::default()
    };
    if let Some(states) = &q.state {
        for name in states.split(',').filter(|n| !n.is_empty()) {
            filter.states.push(JobState::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown state \"{}\"; states are queued, running, completed, failed, cancelled",
                    crate::text::inert(name)
                ))
            })?);
        }
    }
    if let Some(reference) = &q.config {
        filter.config_id = Some(s.engine.config(reference).await?.id);
    }
    Ok(Json(s.engine.jobs(filter).await?).into_response())
}

pub async fn job(State(s): State<ApiState>, Path(id): Path<i64>) -> ApiResult<Response> {
    let (job, resources) = s.engine.job(id).await?;
    Ok(Json(json!({ "job": job, "resources": resources })).into_response())
}

pub async fn rejections(State(s): State<ApiState>, Path(id): Path<i64>) -> ApiResult<Response> {
    Ok(Json(s.engine.rejections(id).await?).into_response())
}

pub async fn retry(State(s): State<ApiState>, Path(id): Path<i64>) -> ApiResult<Response> {
    s.engine.retry(id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "retried": id }))).into_response())
}

pub async fn retry_all(State(s): State<ApiState>) -> ApiResult<Response> {
    let n = s.engine.retry_all().await?;
    Ok(Json(json!({ "retried": n })).into_response())
}

pub async fn clear(State(s): State<ApiState>) -> ApiResult<Response> {
    let n = s.engine.clear().await?;
    Ok(Json(json!({ "cleared": n })).into_response())
}

#[derive(Deserialize)]
pub struct DetectionsQuery {
    config: Option<String>,
    limit: Option<u32>,
}

pub async fn detections(
    State(s): State<ApiState>,
    Query(q): Query<DetectionsQuery>,
) -> ApiResult<Response> {
    let rows = s
        .engine
        .detections(q.config.as_deref(), q.limit.unwrap_or(100))
        .await?;
    Ok(Json(rows).into_response())
}

#[derive(Deserialize)]
pub struct ApplyQuery {
    #[serde(default)]
    prune: bool,
    #[serde(default)]
    dry_run: bool,
    /// The file name errors point at (default `request body`).
    name: Option<String>,
}

/// A configuration as TOML, or as JSON with the same schema
/// (`Content-Type: application/json`), validated as `apply -f` does.
pub async fn apply(
    State(s): State<ApiState>,
    Query(q): Query<ApplyQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let text = if is_json(&headers) {
        crate::config::file::json_as_toml(&body, &[])
            .map_err(ApiError::bad_request)?
            .0
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad_request("the configuration must be UTF-8 text"))?
    };
    let plan = s
        .engine
        .apply(
            q.name.as_deref().unwrap_or("request body"),
            &text,
            q.prune,
            q.dry_run,
        )
        .await?;
    Ok(Json(plan).into_response())
}

/// The stored configuration: TOML, or JSON when asked (`Accept: application/json`).
pub async fn export(State(s): State<ApiState>, headers: HeaderMap) -> ApiResult<Response> {
    let file = s.engine.export().await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        return Ok(Json(crate::config::export::to_json(&file)).into_response());
    }
    let text = crate::config::export::to_toml(&file, "the daemon's API")
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
        text,
    )
        .into_response())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}
