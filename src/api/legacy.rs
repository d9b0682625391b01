//! The two endpoints the old dashboard's scripts call, key for key as the
//! dashboard served them: `GET /api/auto-sync/{config}/progress/` and
//! `GET /api/auto-sync/dashboard-stats/`. Times are ISO 8601 in UTC; a
//! percent is processed / expected, as everywhere in syncdeck.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiState;
use super::error::ApiResult;
use crate::engine::ConfigStatus;
use crate::store::queue::{Job, JobState};

fn iso(ms: Option<i64>) -> Value {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| {
            Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        })
}

fn percent(done: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        ((done as f64 / of as f64) * 1000.0).round() / 10.0
    }
}

pub async fn progress(
    State(s): State<ApiState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    let config = s.engine.config(&reference).await?;
    let snapshot = s.engine.snapshot().await?;
    let now = snapshot.now;
    let status = snapshot.configs.iter().find(|c| c.id == config.id);
    let running = status.and_then(|c| c.running_job.clone());
    let job: Option<Job> = running
        .clone()
        .or_else(|| status.and_then(|c| c.last_job.clone()));
    let resources = match &job {
        Some(j) => s.engine.job(j.id).await?.1,
        None => Vec::new(),
    };
    let p = job.as_ref().map(|j| j.progress.clone()).unwrap_or_default();
    let elapsed = job.as_ref().and_then(|j| {
        let start = j.started_at?;
        let end = if j.state == JobState::Running {
            now
        } else {
            j.finished_at?
        };
        Some((end - start).max(0) / 1000)
    });
    let remaining = (running.is_some() && p.speed > 0.0)
        .then(|| (p.expected.saturating_sub(p.processed) as f64 / p.speed).ceil() as u64);
    let per_resource: serde_json::Map<String, Value> = resources
        .iter()
        .map(|r| {
            (
                r.resource.clone(),
                json!({
                    "type": r.rtype,
                    "synced": r.synced,
                    "errors": r.errors,
                    "total": r.total,
                    "percent": percent(r.processed, r.total),
                }),
            )
        })
        .collect();
    Ok(Json(json!({
        "success": true,
        "is_running": running.is_some(),
        "job_id": job.as_ref().map(|j| j.id),
        "config_name": config.name,
        "progress": {
            "percent": percent(p.processed, p.expected),
            "total_expected": p.expected,
            "total_processed": p.processed,
            "total_synced": p.synced,
            "total_errors": p.errors,
        },
        "timing": {
            "started_at": iso(job.as_ref().and_then(|j| j.started_at)),
            "elapsed_seconds": elapsed,
            "speed_per_second": (p.speed * 10.0).round() / 10.0,
            "estimated_remaining_seconds": remaining,
        },
        "resources": per_resource,
        "current_step": p.current_step,
        "current_resource": p.current_resource,
    }))
    .into_response())
}

fn last_job(c: &ConfigStatus) -> Value {
    match &c.last_job {
        None => Value::Null,
        Some(j) => json!({
            "id": j.id,
            "status": j.state.as_str(),
            "started_at": iso(j.started_at),
            "completed_at": iso(j.finished_at),
            "total_synced": j.progress.synced,
            "total_errors": j.progress.errors,
        }),
    }
}

pub async fn dashboard_stats(State(s): State<ApiState>) -> ApiResult<Response> {
    let snapshot = s.engine.snapshot().await?;
    let configs: Vec<Value> = snapshot
        .configs
        .iter()
        .map(|c| {
            let settings = c.config.auto.as_ref();
            json!({
                "config_id": c.id,
                "config_name": c.name,
                "source": c.source,
                "destination": c.destination,
                "is_active": c.active,
                "is_running": c.running_job.is_some(),
                "settings": {
                    "is_enabled": settings.is_some_and(|a| a.enabled),
                    "check_interval": settings.map(|a| a.check_interval.as_secs()),
                },
                "last_job": last_job(c),
                "has_running_job": c.running_job.is_some(),
            })
        })
        .collect();
    let active: Vec<&str> = snapshot
        .configs
        .iter()
        .filter(|c| c.config.wants_scheduler())
        .map(|c| c.name.as_str())
        .collect();
    Ok(Json(json!({
        "success": true,
        "configs": configs,
        "scheduler": {
            "total_active": active.len(),
            "active_configs": active,
        },
    }))
    .into_response())
}
