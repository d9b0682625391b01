//! Async import jobs: the acknowledgement, notification polling and summaries.
//!
//! Metadata and data value jobs report through `/api/system/tasks/{TYPE}/{id}`
//! and `/api/system/taskSummaries/{TYPE}/{id}`; tracker jobs through
//! `/api/tracker/jobs/{id}[/report]`. Notifications come newest first with a
//! `completed` flag. Task data lives in server memory: lost on restart.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::aggregate::{DataValueImportParams, accounted_data_values, data_values_body};
use super::client::Dhis2Client;
use super::data_value::DataValue;
use super::error::{Dhis2Error, Result};
use super::metadata::{MetadataImportParams, accounted_metadata, check_name};
use super::params::push;
use super::report_parsing::{data_value_import_from, metadata_import_from};
use super::reports::{ImportReport, ImportSummary};
use super::response::{ResponseMeta, check, parse_json};
use super::time::parse_timestamp;

/// One job notification.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Notification {
    pub uid: Option<String>,
    pub id: Option<String>,
    /// `INFO`, `WARN`, `ERROR`…
    pub level: Option<String>,
    pub category: Option<String>,
    pub time: Option<String>,
    pub message: Option<String>,
    pub completed: bool,
    pub data_type: Option<String>,
    pub data: Option<Value>,
}

impl Notification {
    pub fn timestamp(&self) -> Option<NaiveDateTime> {
        self.time.as_deref().and_then(parse_timestamp)
    }

    pub fn is_error(&self) -> bool {
        self.level.as_deref() == Some("ERROR")
    }
}

/// A job is done when any notification says so.
pub fn is_completed(notifications: &[Notification]) -> bool {
    notifications.iter().any(|n| n.completed)
}

/// The newest notification (by `time`, falling back to list order: newest first).
pub fn latest(notifications: &[Notification]) -> Option<&Notification> {
    notifications
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.timestamp().cmp(&b.timestamp()).then(ib.cmp(ia)))
        .map(|(_, n)| n)
}

/// Parses a notification list (`tasks/{TYPE}/{id}`, `tracker/jobs/{id}`).
pub fn notifications_from(meta: &ResponseMeta, body: &[u8]) -> Result<Vec<Notification>> {
    check(meta, body)?;
    parse_json(body, "job notifications")
}

/// [`notifications_from`] for a JSON body with this HTTP status.
pub fn parse_notifications(http_status: u16, body: &[u8]) -> Result<Vec<Notification>> {
    notifications_from(&ResponseMeta::json(http_status), body)
}

/// The acknowledgement of an async import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobStarted {
    pub id: String,
    /// `METADATA_IMPORT`, `DATAVALUE_IMPORT`; absent for tracker jobs.
    pub job_type: Option<String>,
    /// Tracker: absolute URL of the job.
    pub location: Option<String>,
    /// Metadata/data: `/api/system/tasks/{TYPE}/{id}`.
    pub relative_notifier_endpoint: Option<String>,
    pub message: Option<String>,
}

/// Parses `{"status":"OK","message":…,"response":{"id",…}}`.
pub fn job_started_from(meta: &ResponseMeta, body: &[u8]) -> Result<JobStarted> {
    check(meta, body)?;
    let v: Value = parse_json(body, "async job acknowledgement")?;
    let resp = v.get("response");
    let s = |k: &str| {
        resp.and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let id = s("id").ok_or_else(|| {
        Dhis2Error::bad_payload("async job acknowledgement without response.id", body)
    })?;
    Ok(JobStarted {
        id,
        job_type: s("jobType"),
        location: s("location"),
        relative_notifier_endpoint: s("relativeNotifierEndpoint"),
        message: v.get("message").and_then(Value::as_str).map(str::to_string),
    })
}

/// [`job_started_from`] for a JSON body with this HTTP status.
pub fn parse_job_started(http_status: u16, body: &[u8]) -> Result<JobStarted> {
    job_started_from(&ResponseMeta::json(http_status), body)
}

/// Poll delays: 250 ms doubling up to `max`.
pub(crate) fn next_delay(prev: Duration, max: Duration) -> Duration {
    (prev * 2).clamp(
        Duration::from_millis(250),
        max.max(Duration::from_millis(250)),
    )
}

impl Dhis2Client {
    /// Polls a notification endpoint until `completed`, with backoff. A few
    /// early 404s (job not registered yet) and transient errors are tolerated.
    pub(crate) async fn poll_job(&self, segments: &[&str]) -> Result<Vec<Notification>> {
        let opts = self.options();
        let deadline = Instant::now() + opts.job_timeout;
        let mut delay = Duration::from_millis(125);
        let mut strikes = 0u32;
        // DHIS2 answers `[]` for a job it does not know (task data lives in
        // memory: a restart loses it), exactly as for one not started yet.
        let mut ever_heard = false;
        loop {
            delay = next_delay(delay, opts.job_poll_max_interval);
            tokio::time::sleep(delay).await;
            let polled = match self.request(Method::GET, segments, &[], None).await {
                Ok((meta, body)) => notifications_from(&meta, &body),
                Err(e) => Err(e),
            };
            match polled {
                Ok(ns) if is_completed(&ns) => return Ok(ns),
                Ok(ns) => {
                    strikes = 0;
                    ever_heard |= !ns.is_empty();
                }
                Err(e @ (Dhis2Error::NotFound { .. } | Dhis2Error::Transient { .. })) => {
                    strikes += 1;
                    if strikes > 5 {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline && !ever_heard {
                return Err(Dhis2Error::transient(format!(
                    "import job /api/{} has no notifications after {} s: DHIS2 has not started it or does not know it (restarted since?); check the server's jobs before retrying",
                    segments.join("/"),
                    opts.job_timeout.as_secs()
                )));
            }
            if Instant::now() >= deadline {
                return Err(Dhis2Error::transient(format!(
                    "import job /api/{} still running after {} s; check it in DHIS2 before retrying",
                    segments.join("/"),
                    opts.job_timeout.as_secs()
                )));
            }
        }
    }

    /// Waits for `/api/system/tasks/{job_type}/{id}` to complete.
    pub async fn wait_for_task(&self, job_type: &str, id: &str) -> Result<Vec<Notification>> {
        check_name("job type", job_type)?;
        check_name("job id", id)?;
        self.poll_job(&["system", "tasks", job_type, id]).await
    }

    async fn task_summary(&self, job_type: &str, id: &str) -> Result<(ResponseMeta, Vec<u8>)> {
        self.request(
            Method::GET,
            &["system", "taskSummaries", job_type, id],
            &[],
            None,
        )
        .await
    }

    /// `POST /api/metadata?async=true`, wait, then read the task summary.
    pub async fn import_metadata_async(
        &self,
        payload: &Value,
        params: &MetadataImportParams,
    ) -> Result<ImportReport> {
        let (meta, body) = self.post_metadata(payload, params, true).await?;
        let job = job_started_from(&meta, &body)?;
        let job_type = job.job_type.unwrap_or_else(|| "METADATA_IMPORT".into());
        self.wait_for_task(&job_type, &job.id).await?;
        let (meta, body) = self.task_summary(&job_type, &job.id).await?;
        let report = metadata_import_from(&meta, &body)?;
        accounted_metadata(&report, payload, params, &meta.url)?;
        Ok(report)
    }

    /// `POST /api/dataValueSets?async=true`, wait, then read the task summary.
    pub async fn import_data_values_async(
        &self,
        values: &[DataValue],
        params: &DataValueImportParams,
    ) -> Result<ImportSummary> {
        let mut q = params.to_query();
        push(&mut q, "async", "true");
        let (meta, body) = self
            .request(
                Method::POST,
                &["dataValueSets"],
                &q,
                Some(data_values_body(values)?),
            )
            .await?;
        let job = job_started_from(&meta, &body)?;
        let job_type = job.job_type.unwrap_or_else(|| "DATAVALUE_IMPORT".into());
        self.wait_for_task(&job_type, &job.id).await?;
        let (meta, body) = self.task_summary(&job_type, &job.id).await?;
        let summary = data_value_import_from(&meta, &body)?;
        accounted_data_values(&summary, values.len(), &meta.url)?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap() {
        let max = Duration::from_secs(2);
        let mut d = Duration::from_millis(125);
        let mut seen = vec![];
        for _ in 0..6 {
            d = next_delay(d, max);
            seen.push(d.as_millis());
        }
        assert_eq!(seen, [250, 500, 1000, 2000, 2000, 2000]);
    }

    #[test]
    fn latest_and_completed() {
        let ns = parse_notifications(
            200,
            br#"[{"time":"2024-01-01T00:00:02.000","message":"b","completed":false},
                 {"time":"2024-01-01T00:00:03.000","message":"c","completed":true,"level":"ERROR"},
                 {"time":"2024-01-01T00:00:01.000","message":"a"}]"#,
        )
        .unwrap();
        assert!(is_completed(&ns));
        assert_eq!(latest(&ns).and_then(|n| n.message.as_deref()), Some("c"));
        assert!(latest(&ns).is_some_and(Notification::is_error));
        assert!(latest(&[]).is_none());
        assert!(parse_notifications(200, br#"{"not":"a list"}"#).is_err());
        assert!(parse_job_started(200, br#"{"status":"OK","response":{}}"#).is_err());
    }
}
