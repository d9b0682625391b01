//! Tracker import report (`POST /api/tracker`, `/api/tracker/jobs/{id}/report`).
//!
//! Synchronous imports return the raw report (200, or 409 on ERROR). 2.38/2.39
//! also carry `bundleReport.status`/`stats` (gone from 2.40), and `bundleReport`
//! is absent when every object failed validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Dhis2Error, Result};
use super::reports::{ImportStatus, Stats, is_bare_message, naming_url};
use super::response::{ResponseMeta, check, parse_json};

/// The four tracker object types as DHIS2 names them in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrackerType {
    TrackedEntity,
    Enrollment,
    Event,
    Relationship,
}

impl TrackerType {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerType::TrackedEntity => "TRACKED_ENTITY",
            TrackerType::Enrollment => "ENROLLMENT",
            TrackerType::Event => "EVENT",
            TrackerType::Relationship => "RELATIONSHIP",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrackerReport {
    pub status: ImportStatus,
    pub stats: Stats,
    pub validation_report: ValidationReport,
    pub bundle_report: Option<BundleReport>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidationReport {
    pub error_reports: Vec<TrackerErrorReport>,
    pub warning_reports: Vec<TrackerErrorReport>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrackerErrorReport {
    pub message: Option<String>,
    pub error_code: Option<String>,
    /// `TRACKED_ENTITY`, `ENROLLMENT`, `EVENT`, `RELATIONSHIP`.
    pub tracker_type: Option<String>,
    pub uid: Option<String>,
    pub args: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BundleReport {
    /// 2.38/2.39 only.
    pub status: Option<ImportStatus>,
    /// 2.38/2.39 only.
    pub stats: Option<Stats>,
    pub type_report_map: BTreeMap<String, TrackerTypeReport>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrackerTypeReport {
    pub tracker_type: Option<String>,
    pub stats: Stats,
    pub object_reports: Vec<TrackerObjectReport>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrackerObjectReport {
    pub tracker_type: Option<String>,
    pub uid: Option<String>,
    pub index: Option<u64>,
    pub error_reports: Vec<TrackerErrorReport>,
}

impl TrackerReport {
    /// Per-type stats from `bundleReport.typeReportMap` (None when absent).
    pub fn type_stats(&self, t: TrackerType) -> Option<&Stats> {
        self.bundle_report
            .as_ref()?
            .type_report_map
            .get(t.as_str())
            .map(|r| &r.stats)
    }

    pub fn errors(&self) -> &[TrackerErrorReport] {
        &self.validation_report.error_reports
    }

    /// Validation errors plus object-level errors in the bundle.
    pub fn error_count(&self) -> usize {
        let bundle: usize = self
            .bundle_report
            .iter()
            .flat_map(|b| b.type_report_map.values())
            .flat_map(|t| &t.object_reports)
            .map(|o| o.error_reports.len())
            .sum();
        self.validation_report.error_reports.len() + bundle
    }

    /// Validation errors grouped by `errorCode`.
    pub fn errors_by_code(&self) -> BTreeMap<String, Vec<&TrackerErrorReport>> {
        let mut out: BTreeMap<String, Vec<&TrackerErrorReport>> = BTreeMap::new();
        for e in self.errors() {
            out.entry(e.error_code.clone().unwrap_or_else(|| "?".into()))
                .or_default()
                .push(e);
        }
        out
    }
}

/// True when a body is an async job acknowledgement, not a report.
pub(crate) fn is_job_ack(v: &Value) -> bool {
    v.get("response").and_then(|r| r.get("id")).is_some() && v.get("stats").is_none()
}

fn parse_body(body: &[u8]) -> Result<TrackerReport> {
    let v: Value = parse_json(body, "tracker import report")?;
    if is_job_ack(&v) {
        return Err(Dhis2Error::bad_payload(
            "expected a tracker import report but got an async job acknowledgement (use async_mode or poll the job)",
            body,
        ));
    }
    // Tolerate a WebMessage wrapper even though DHIS2 sends the report raw.
    let inner = match v.get("response") {
        Some(r) if r.get("status").is_some() && r.get("id").is_none() => r,
        _ => &v,
    };
    // Every tracker ImportReport has a validationReport (`withValidationErrors`,
    // `withError`, `withImportCompleted`, 2.39.0–2.41.3); other imports' reports never do.
    if let Some(k) = ["typeReports", "importCount"]
        .iter()
        .find(|k| inner.get(**k).is_some())
    {
        return Err(Dhis2Error::bad_payload(
            format!(
                "tracker import report: the response has `{k}`, so it is the report of another kind of import"
            ),
            body,
        ));
    }
    let has_report = ["validationReport", "bundleReport"]
        .iter()
        .any(|k| inner.get(k).is_some());
    if inner.get("status").is_none() || !has_report {
        return Err(Dhis2Error::bad_payload(
            "tracker import report: the response holds no import report (no `validationReport`; an empty report often means the job crashed; check the DHIS2 server log)",
            body,
        ));
    }
    serde_json::from_value(inner.clone())
        .map_err(|e| Dhis2Error::bad_payload(format!("tracker import report: {e}"), body))
}

/// A tracker report response: 2xx and 409-with-report are `Ok`.
pub fn tracker_import_from(meta: &ResponseMeta, body: &[u8]) -> Result<TrackerReport> {
    if meta.status == 409 {
        match parse_body(body) {
            Ok(r) => return Ok(r),
            Err(_) if is_bare_message(body) => {}
            Err(e) => return Err(naming_url(e, meta)),
        }
    }
    check(meta, body)?;
    parse_body(body).map_err(|e| naming_url(e, meta))
}

/// [`tracker_import_from`] for a JSON body with this HTTP status.
pub fn parse_tracker_import(http_status: u16, body: &[u8]) -> Result<TrackerReport> {
    tracker_import_from(&ResponseMeta::json(http_status), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_bundle_report_and_object_errors() {
        let r = parse_tracker_import(
            409,
            br#"{"status":"ERROR","validationReport":{"errorReports":[{"message":"m","errorCode":"E1000","trackerType":"TRACKED_ENTITY","uid":"x"}],"warningReports":[]},"stats":{"created":0,"updated":0,"deleted":0,"ignored":2,"total":2}}"#,
        )
        .unwrap();
        assert_eq!(r.status, ImportStatus::Error);
        assert!(r.bundle_report.is_none());
        assert_eq!(r.type_stats(TrackerType::Event), None);
        assert_eq!(r.error_count(), 1);

        let r = parse_tracker_import(
            200,
            br#"{"status":"WARNING","stats":{"ignored":1},"bundleReport":{"typeReportMap":{"EVENT":{"stats":{"created":1},"objectReports":[{"uid":"e","errorReports":[{"errorCode":"E1301"}]}]}}}}"#,
        )
        .unwrap();
        assert_eq!(r.error_count(), 1);
        assert_eq!(r.type_stats(TrackerType::Event).map(|s| s.created), Some(1));
    }

    #[test]
    fn other_reports_and_bare_stats_are_refused() {
        // Every tracker report has a validationReport; stats alone are not one.
        let e = parse_tracker_import(200, br#"{"status":"OK","stats":{"created":1}}"#).unwrap_err();
        assert!(e.to_string().contains("no `validationReport`"), "{e}");
        let metadata =
            br#"{"status":"OK","stats":{"created":1},"typeReports":[],"validationReport":{}}"#;
        let e = parse_tracker_import(200, metadata).unwrap_err();
        assert!(e.to_string().contains("has `typeReports`"), "{e}");
        // A 409 that is not a report names its URL.
        let meta = ResponseMeta {
            url: "http://h/api/tracker".into(),
            ..ResponseMeta::json(409)
        };
        let e = tracker_import_from(&meta, br#"{"status":"ERROR","validationRep"#).unwrap_err();
        assert!(
            e.to_string().contains("HTTP 409 from http://h/api/tracker"),
            "{e}"
        );
    }

    #[test]
    fn job_ack_is_recognised() {
        let v: Value = serde_json::from_str(
            r#"{"status":"OK","message":"Tracker job added","response":{"id":"abc","location":"x"}}"#,
        )
        .unwrap();
        assert!(is_job_ack(&v));
        assert!(parse_tracker_import(200, b"{}").is_err());
    }
}
