//! Metadata ImportReport and data value ImportSummary: types, parsing, helpers.
//!
//! Both come wrapped in a WebMessage (`{"httpStatus",…,"response":{…}}`, 2.38+)
//! or plain (`/api/37/…`, taskSummaries), so parsing takes
//! `report = body.response ?? body`. A 409 is a normal outcome here: the body
//! still carries the report (outer `WARNING`, inner `ERROR` is real).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Dhis2Error, Result};
use super::response::{ResponseMeta, check, parse_json, web_message};

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

/// `body.response` when it is a report, else `body` (plain form).
pub(crate) fn unwrap_response(body: &Value) -> &Value {
    match body.get("response") {
        Some(r)
            if r.is_object()
                && ["status", "stats", "importCount", "typeReports"]
                    .iter()
                    .any(|k| r.get(k).is_some()) =>
        {
            r
        }
        _ => body,
    }
}

/// The keys that prove a report of one kind, and those of the other kinds.
struct ReportShape {
    what: &'static str,
    /// All present in a report of this kind (dhis2-core always writes them).
    required: &'static [&'static str],
    /// Present only in reports of other kinds: such a body answers another endpoint.
    foreign: &'static [&'static str],
}

const METADATA_REPORT: ReportShape = ReportShape {
    what: "metadata import report",
    required: &["status", "stats"],
    foreign: &["importCount", "validationReport", "bundleReport"],
};

const DATA_VALUE_SUMMARY: ReportShape = ReportShape {
    what: "data value import summary",
    required: &["status", "importCount"],
    foreign: &["stats", "typeReports", "validationReport", "bundleReport"],
};

/// Parses a report body (already known to be JSON), wrapped or plain.
fn parse_report_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    shape: &ReportShape,
) -> Result<(T, Option<String>)> {
    let what = shape.what;
    let v: Value = parse_json(body, what)?;
    let inner = unwrap_response(&v);
    if let Some(k) = shape.foreign.iter().find(|k| inner.get(**k).is_some()) {
        return Err(Dhis2Error::bad_payload(
            format!(
                "{what}: the response has `{k}`, so it is the report of another kind of import"
            ),
            body,
        ));
    }
    // A bare WebMessage also has a `status`; only report keys prove a report.
    if let Some(k) = shape.required.iter().find(|k| inner.get(**k).is_none()) {
        return Err(Dhis2Error::bad_payload(
            format!(
                "{what}: the response holds no import report (no `{k}`; an empty report often means the import job crashed; check the DHIS2 server log)"
            ),
            body,
        ));
    }
    let message = v.get("message").and_then(Value::as_str).map(str::to_string);
    let report = serde_json::from_value(inner.clone())
        .map_err(|e| Dhis2Error::bad_payload(format!("{what}: {e}"), body))?;
    Ok((report, message))
}

/// Classifies a response that should carry a report: 2xx and 409 with a report
/// parse to `Ok`; everything else (a 409 WebMessage without one included)
/// becomes its error.
fn report_from_response<T: serde::de::DeserializeOwned>(
    meta: &ResponseMeta,
    body: &[u8],
    shape: &ReportShape,
) -> Result<(T, Option<String>)> {
    if meta.status == 409 {
        match parse_report_body(body, shape) {
            Ok(r) => return Ok(r),
            // A 409 WebMessage without a report states its conflict
            // ("Period is locked"): that error below.
            Err(_) if is_bare_message(body) => {}
            Err(e) => return Err(naming_url(e, meta)),
        }
    }
    check(meta, body)?;
    parse_report_body(body, shape).map_err(|e| naming_url(e, meta))
}

/// A WebMessage with a message and no `response` object (no report at all).
pub(crate) fn is_bare_message(body: &[u8]) -> bool {
    web_message(body).is_some()
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|v| !v.get("response").is_some_and(Value::is_object))
}

/// A `BadPayload` about a body, told where the body came from.
pub(crate) fn naming_url(e: Dhis2Error, meta: &ResponseMeta) -> Dhis2Error {
    match e {
        Dhis2Error::BadPayload {
            context,
            first_bytes,
        } if !meta.url.is_empty() => Dhis2Error::BadPayload {
            context: format!("{context} (HTTP {} from {})", meta.status, meta.url),
            first_bytes,
        },
        other => other,
    }
}

/// A metadata import response (`POST /api/metadata`, or a METADATA_IMPORT task summary).
pub fn metadata_import_from(meta: &ResponseMeta, body: &[u8]) -> Result<ImportReport> {
    let (mut r, message): (ImportReport, _) = report_from_response(meta, body, &METADATA_REPORT)?;
    r.message = message;
    Ok(r)
}

/// [`metadata_import_from`] for a JSON body with this HTTP status.
pub fn parse_metadata_import(http_status: u16, body: &[u8]) -> Result<ImportReport> {
    metadata_import_from(&ResponseMeta::json(http_status), body)
}

/// A data value import response (`POST /api/dataValueSets`, or a DATAVALUE_IMPORT task summary).
pub fn data_value_import_from(meta: &ResponseMeta, body: &[u8]) -> Result<ImportSummary> {
    let (mut r, message): (ImportSummary, _) =
        report_from_response(meta, body, &DATA_VALUE_SUMMARY)?;
    r.message = message;
    Ok(r)
}

/// [`data_value_import_from`] for a JSON body with this HTTP status.
pub fn parse_data_value_import(http_status: u16, body: &[u8]) -> Result<ImportSummary> {
    data_value_import_from(&ResponseMeta::json(http_status), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_ERRORS: &str = r#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"WARNING","message":"One or more errors occurred, please see full details in import report.",
      "response":{"responseType":"ImportReport","status":"ERROR",
        "stats":{"created":0,"updated":0,"deleted":0,"ignored":3,"total":3},
        "typeReports":[{"klass":"org.hisp.dhis.dataelement.DataElement","stats":{"created":0,"updated":0,"deleted":0,"ignored":2,"total":2},
          "objectReports":[
            {"klass":"org.hisp.dhis.dataelement.DataElement","index":0,"uid":"a1","errorReports":[
              {"message":"Invalid reference [x] on object","mainKlass":"org.hisp.dhis.dataelement.DataElement","errorCode":"E5002","errorKlass":"org.hisp.dhis.category.CategoryCombo","errorProperty":"categoryCombo","errorProperties":["categoryCombo"],"value":"x","args":["x"]}]},
            {"klass":"org.hisp.dhis.dataelement.DataElement","index":1,"uid":"a2","errorReports":[
              {"message":"Missing required property `name`","errorCode":"E4000","errorProperty":"name"},
              {"message":"Invalid reference [y]","errorCode":"E5002"}]}]},
         {"klass":"org.hisp.dhis.option.OptionSet","stats":{"ignored":1,"total":1},"objectReports":[]}]}}"#;

    #[test]
    fn metadata_409_with_inner_error_is_a_report() {
        let r = parse_metadata_import(409, WITH_ERRORS.as_bytes()).unwrap();
        assert_eq!(r.status, ImportStatus::Error);
        assert_eq!(r.stats.ignored, 3);
        assert_eq!(r.error_count(), 3);
        let by = r.errors_by_code();
        assert_eq!(by["E5002"].len(), 2);
        assert_eq!(by["E4000"].len(), 1);
        assert_eq!(
            by["E5002"][0].error_property.as_deref(),
            Some("categoryCombo")
        );
        assert_eq!(r.stats_for("DataElement").map(|s| s.ignored), Some(2));
        assert_eq!(
            r.stats_for("org.hisp.dhis.option.OptionSet")
                .map(|s| s.total),
            Some(1)
        );
        assert!(r.stats_for("Indicator").is_none());
        assert!(
            r.message
                .as_deref()
                .unwrap_or("")
                .starts_with("One or more")
        );
    }

    #[test]
    fn non_report_bodies_are_errors() {
        assert!(matches!(
            parse_metadata_import(200, b"{}"),
            Err(Dhis2Error::BadPayload { .. })
        ));
        assert!(parse_metadata_import(200, b"not json").is_err());
        // A bare 409 WebMessage is a conflict error, not an empty report.
        let e = parse_data_value_import(
            409,
            br#"{"status":"ERROR","httpStatusCode":409,"message":"Period is locked"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, Dhis2Error::Conflict { message, report: None } if message == "Period is locked")
        );
        assert!(parse_metadata_import(200, br#"{"status":"OK"}"#).is_err());
        assert!(
            parse_data_value_import(503, b"")
                .unwrap_err()
                .is_retryable()
        );
        assert!(parse_data_value_import(401, b"").unwrap_err().is_auth());
    }

    /// The report of another kind of import, or a 409 that is neither a
    /// report nor a plain message, is refused naming where it came from.
    #[test]
    fn reports_of_another_kind_are_refused() {
        let meta = |status| ResponseMeta {
            url: "http://h/api/dataValueSets".into(),
            ..ResponseMeta::json(status)
        };
        let tracker = br#"{"status":"OK","stats":{"created":1,"total":1},"validationReport":{"errorReports":[]}}"#;
        let e = metadata_import_from(&meta(200), tracker).unwrap_err();
        assert!(e.to_string().contains("has `validationReport`"), "{e}");
        let metadata = br#"{"httpStatusCode":200,"response":{"status":"OK","stats":{"created":1},"typeReports":[]}}"#;
        let e = data_value_import_from(&meta(200), metadata).unwrap_err();
        assert!(e.to_string().contains("has `stats`"), "{e}");
        assert!(
            e.to_string()
                .contains("HTTP 200 from http://h/api/dataValueSets"),
            "{e}"
        );
        // A data value summary needs its counts.
        let e =
            parse_data_value_import(200, br#"{"status":"SUCCESS","conflicts":[]}"#).unwrap_err();
        assert!(e.to_string().contains("no `importCount`"), "{e}");
        // A 409 cut short, or wrapping another report: not a conflict to count, a bad answer.
        let cut = br#"{"httpStatus":"Conflict","httpStatusCode":409,"message":"Import finished with conflicts.","response":{"importCount":{"impor"#;
        let e = data_value_import_from(&meta(409), cut).unwrap_err();
        assert!(matches!(e, Dhis2Error::BadPayload { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("HTTP 409 from http://h/api/dataValueSets"),
            "{e}"
        );
        let wrapped = br#"{"httpStatusCode":409,"message":"m","response":{"status":"OK","stats":{},"typeReports":[]}}"#;
        let e = data_value_import_from(&meta(409), wrapped).unwrap_err();
        assert!(e.to_string().contains("another kind of import"), "{e}");
    }

    #[test]
    fn summary_counts() {
        let s = ImportSummary {
            import_count: ImportCount {
                imported: 1,
                updated: 2,
                ignored: 5,
                deleted: 3,
            },
            conflicts: vec![ImportConflict::default()],
            rejected_indexes: vec![1, 2],
            ..Default::default()
        };
        assert_eq!(s.synced(), 6);
        assert_eq!(s.error_count(), 2);
    }
}
