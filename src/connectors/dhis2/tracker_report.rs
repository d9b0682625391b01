//! Tracker import report (`POST /api/tracker`, `/api/tracker/jobs/{id}/report`).
//!
//! Synchronous imports return the raw report (200, or 409 on ERROR). 2.38/2.39
//! also carry `bundleReport.status`/`stats` (gone from 2.40), and `bundleReport`
//! is absent when every object failed validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::reports::{ImportStatus, Stats};

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
