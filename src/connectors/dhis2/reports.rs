//! Metadata ImportReport and data value ImportSummary: types, parsing, helpers.
//!
//! Both come wrapped in a WebMessage (`{"httpStatus",…,"response":{…}}`, 2.38+)
//! or plain (`/api/37/…`, taskSummaries), so parsing takes
//! `report = body.response ?? body`. A 409 is a normal outcome here: the body
//! still carries the report (outer `WARNING`, inner `ERROR` is real).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `status` of any import report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ImportStatus {
    /// Metadata and tracker success.
    Ok,
    /// Data value success.
    Success,
    Warning,
    Error,
    #[default]
    #[serde(other)]
    Unknown,
}

impl ImportStatus {
    pub fn is_ok(self) -> bool {
        matches!(self, ImportStatus::Ok | ImportStatus::Success)
    }
}

/// `stats` of metadata and tracker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    pub ignored: u64,
    pub total: u64,
}

impl Stats {
    /// Objects that reached the destination.
    pub fn synced(&self) -> u64 {
        self.created + self.updated + self.deleted
    }
}

/// Metadata import report (`POST /api/metadata`, taskSummaries METADATA_IMPORT).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportReport {
    pub status: ImportStatus,
    pub stats: Stats,
    pub type_reports: Vec<TypeReport>,
    /// The WebMessage `message`, when wrapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TypeReport {
    /// Long class name, e.g. `org.hisp.dhis.dataelement.DataElement`.
    pub klass: String,
    pub stats: Stats,
    pub object_reports: Vec<ObjectReport>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectReport {
    pub klass: Option<String>,
    pub index: Option<u64>,
    pub uid: Option<String>,
    pub display_name: Option<String>,
    pub error_reports: Vec<ErrorReport>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorReport {
    pub message: Option<String>,
    pub error_code: Option<String>,
    pub main_klass: Option<String>,
    pub main_id: Option<String>,
    pub error_klass: Option<String>,
    pub error_property: Option<String>,
    pub error_properties: Vec<Value>,
    pub value: Option<Value>,
    pub args: Vec<Value>,
}

/// `org.hisp.dhis.dataelement.DataElement` → `DataElement`.
pub fn short_klass(klass: &str) -> &str {
    klass.rsplit('.').next().unwrap_or(klass)
}

impl ImportReport {
    /// Stats of one type, by long or short class name.
    pub fn stats_for(&self, klass: &str) -> Option<&Stats> {
        let want = short_klass(klass);
        self.type_reports
            .iter()
            .find(|t| t.klass == klass || short_klass(&t.klass) == want)
            .map(|t| &t.stats)
    }

    /// Every object error, across types.
    pub fn errors(&self) -> impl Iterator<Item = &ErrorReport> {
        self.type_reports
            .iter()
            .flat_map(|t| &t.object_reports)
            .flat_map(|o| &o.error_reports)
    }

    pub fn error_count(&self) -> usize {
        self.errors().count()
    }

    /// Errors grouped by `errorCode` (`"?"` when absent).
    pub fn errors_by_code(&self) -> BTreeMap<String, Vec<&ErrorReport>> {
        let mut out: BTreeMap<String, Vec<&ErrorReport>> = BTreeMap::new();
        for e in self.errors() {
            let code = e.error_code.clone().unwrap_or_else(|| "?".into());
            out.entry(code).or_default().push(e);
        }
        out
    }
}

/// Data value import summary (`POST /api/dataValueSets`, taskSummaries DATAVALUE_IMPORT).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportSummary {
    pub status: ImportStatus,
    pub description: Option<String>,
    pub import_count: ImportCount,
    pub conflicts: Vec<ImportConflict>,
    pub rejected_indexes: Vec<u64>,
    /// The WebMessage `message`, when wrapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportCount {
    pub imported: u64,
    pub updated: u64,
    pub ignored: u64,
    pub deleted: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportConflict {
    pub object: Option<String>,
    pub objects: BTreeMap<String, String>,
    pub value: Option<String>,
    pub error_code: Option<String>,
    pub property: Option<String>,
    pub indexes: Vec<u64>,
}

impl ImportSummary {
    /// Values written: imported + updated + deleted (ignored includes unchanged ones).
    pub fn synced(&self) -> u64 {
        self.import_count.imported + self.import_count.updated + self.import_count.deleted
    }

    /// Rejected values: `rejectedIndexes` when present (one conflict can cover
    /// several values), else the number of conflicts.
    pub fn error_count(&self) -> usize {
        if self.rejected_indexes.is_empty() {
            self.conflicts.len()
        } else {
            self.rejected_indexes.len()
        }
    }
}
