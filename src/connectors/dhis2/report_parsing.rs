//! Reading import reports out of responses: metadata import reports, data
//! value import summaries and tracker reports, wrapped or plain, with the
//! checks that tell a report from a WebMessage or another kind of report.
//! The report types live in `reports` and `tracker_report`.

use serde_json::Value;

use super::error::{Dhis2Error, Result};
use super::reports::{ImportReport, ImportSummary};
use super::response::{
    ResponseMeta, check, is_bare_message, naming_url, parse_json, unwrap_response,
};
use super::tracker_report::TrackerReport;

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
    use crate::connectors::dhis2::reports::*;

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

#[cfg(test)]
mod tracker_tests {
    use super::*;
    use crate::connectors::dhis2::reports::ImportStatus;
    use crate::connectors::dhis2::tracker_report::*;

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
