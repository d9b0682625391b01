//! Async metadata and data value imports (`async=true`): the job acknowledgement,
//! `/api/system/tasks/{TYPE}/{id}` and `/api/system/taskSummaries/{TYPE}/{id}`.
//! The import itself runs at once; only its reporting is asynchronous.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::model::new_uid;
use super::response::ok_json;
use super::state::Task;
use super::{Shared, clock};

/// Records a finished job under a new id: its notifications (`steps`, oldest
/// first, the last one completing) and its report. Tracker jobs use it too.
pub fn record(sim: &Shared, job_type: &str, summary: Value, steps: &[String]) -> String {
    let id = sim.random(new_uid);
    let now = clock::now();
    let mut notifications: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, message)| {
            let uid = sim.random(new_uid);
            json!({"uid": uid, "level": "INFO", "category": job_type,
                   "time": clock::format(now + chrono::Duration::milliseconds(i as i64)),
                   "message": message, "completed": i + 1 == steps.len()})
        })
        .collect();
    notifications.reverse(); // newest first
    sim.write().tasks.insert(
        (job_type.to_string(), id.clone()),
        Task {
            notifications: Value::Array(notifications),
            summary,
        },
    );
    id
}

/// Records a finished job and answers the POST as DHIS2 does for `async=true`.
pub fn start(sim: &Shared, job_type: &'static str, summary: Value, steps: &[String]) -> Response {
    let id = record(sim, job_type, summary, steps);
    let now = clock::now();
    ok_json(&json!({
        "httpStatus": "OK", "httpStatusCode": 200, "status": "OK",
        "message": format!("Initiated {job_type}"),
        "response": {"name": job_type, "id": id, "created": clock::format(now), "jobType": job_type,
                     "relativeNotifierEndpoint": format!("/api/system/tasks/{job_type}/{id}")}
    }))
}

pub fn find<T>(sim: &Shared, job_type: &str, id: &str, pick: impl FnOnce(&Task) -> T) -> Option<T> {
    sim.read()
        .tasks
        .get(&(job_type.to_string(), id.to_string()))
        .map(pick)
}

/// Notifications, newest first. An unknown job gives an empty list, as in DHIS2
/// (task data lives in memory and is lost on restart).
pub async fn tasks(
    State(sim): State<Shared>,
    Path((job_type, id)): Path<(String, String)>,
) -> Response {
    let list = find(&sim, &job_type, &id, |t| t.notifications.clone());
    ok_json(&list.unwrap_or_else(|| json!([])))
}

/// The plain report of a finished job. An unknown job is 200 with an empty
/// body (2.39.6–2.42.1 webapi/controller/SystemController.java
/// `getTaskSummaryJson`: `ResponseEntity.ok().cacheControl(noStore()).build()`).
pub async fn task_summary(
    State(sim): State<Shared>,
    Path((job_type, id)): Path<(String, String)>,
) -> Response {
    match find(&sim, &job_type, &id, |t| t.summary.clone()) {
        Some(summary) => ok_json(&summary),
        None => axum::http::StatusCode::OK.into_response(),
    }
}
