//! Import reports checked against what was sent: every object must be
//! accounted for (created + updated + deleted + ignored), and a failure must
//! say why. A report that does not add up is not a result with errors but an
//! answer nothing can be concluded from, so the client turns it into
//! [`Dhis2Error::Inconsistent`](super::Dhis2Error::Inconsistent).
//!
//! How DHIS2 counts (dhis2-core 2.39.0–2.41.3), and so what is tolerated:
//! - metadata (`DefaultMetadataImportService`, `feedback/ImportReport`): the
//!   top `stats` are the sum of the type reports; with `atomicMode=NONE` each
//!   object is created, updated, deleted or ignored (validation checks count
//!   an object ignored, per check that fails it, so an object with problems
//!   of two kinds can count twice), and the destination's own "default"
//!   category objects are dropped from the bundle uncounted
//!   (`DefaultObjectBundleValidationService.cleanDefaults`);
//! - data values (`DefaultDataValueSetService.importDataValue`): each value
//!   is imported, updated, deleted or ignored exactly once; rejected values
//!   (`rejectedIndexes`) are among the ignored, as are unchanged ones;
//! - tracker (`tracker/imports/report/ImportReport.withImportCompleted`):
//!   per type `ignored = sent − persisted`; the top `ignored` is the number of
//!   distinct invalid UIDs, and `withValidationErrors` ignores the whole bundle.

use std::collections::BTreeMap;

use serde_json::Value;

use super::reports::{ImportReport, ImportStatus, ImportSummary, Stats};
use super::tracker_report::{TrackerReport, TrackerType};

/// Plurals holding DHIS2's "default" category objects.
const DEFAULT_TYPES: [&str; 4] = [
    "categories",
    "categoryCombos",
    "categoryOptions",
    "categoryOptionCombos",
];

/// Objects named `default` in category payloads: a destination whose own
/// defaults have the same UIDs drops them uncounted.
pub fn default_objects(payload: &Value) -> u64 {
    DEFAULT_TYPES
        .iter()
        .filter_map(|t| payload.get(*t).and_then(Value::as_array))
        .flatten()
        .filter(|o| o.get("name").and_then(Value::as_str) == Some("default"))
        .count() as u64
}

/// A status as DHIS2 writes it.
fn word(status: ImportStatus) -> &'static str {
    match status {
        ImportStatus::Ok => "OK",
        ImportStatus::Success => "SUCCESS",
        ImportStatus::Warning => "WARNING",
        ImportStatus::Error => "ERROR",
        ImportStatus::Unknown => "unknown",
    }
}

fn counted(s: &Stats) -> u64 {
    s.created + s.updated + s.deleted + s.ignored
}

fn breakdown(s: &Stats) -> String {
    format!(
        "created {}, updated {}, deleted {}, ignored {}",
        s.created, s.updated, s.deleted, s.ignored
    )
}

/// Why a metadata report (of a committed `atomicMode=NONE` import of `sent`
/// objects, `defaults` of them default category objects) does not account
/// for them; `None` when it does.
pub fn metadata(report: &ImportReport, sent: u64, defaults: u64) -> Option<String> {
    let s = &report.stats;
    let n = counted(s);
    let errors = report.error_count();
    let status = format!("status {}, {errors} error reports", word(report.status));
    if !report.type_reports.is_empty() {
        let by_type: u64 = report.type_reports.iter().map(|t| counted(&t.stats)).sum();
        if by_type != n {
            return Some(format!(
                "its type reports count {by_type} objects but its stats {n} ({status})"
            ));
        }
    }
    if n + defaults < sent {
        return Some(format!(
            "it accounts for {n} of the {sent} objects sent ({}; {status})",
            breakdown(s)
        ));
    }
    if n > sent && errors == 0 {
        return Some(format!(
            "it counts {n} objects but {sent} were sent ({}; {status})",
            breakdown(s)
        ));
    }
    unexplained(report.status, errors, s.ignored)
}

/// A failure without a reason: status ERROR, or ignored objects, with not a
/// single error report.
fn unexplained(status: ImportStatus, errors: usize, ignored: u64) -> Option<String> {
    if errors > 0 {
        return None;
    }
    if status == ImportStatus::Error {
        return Some("status ERROR without a single error report".into());
    }
    (ignored > 0).then(|| format!("{ignored} objects ignored without a single error report"))
}

/// Why a data value summary for `sent` values does not account for them.
pub fn data_values(summary: &ImportSummary, sent: u64) -> Option<String> {
    let c = &summary.import_count;
    let n = c.imported + c.updated + c.deleted + c.ignored;
    let said = summary
        .description
        .as_deref()
        .or(summary.message.as_deref())
        .map(|d| format!("; it says: {}", crate::text::sanitize(d, 300)))
        .unwrap_or_default();
    if n != sent {
        return Some(format!(
            "it accounts for {n} of the {sent} values sent (imported {}, updated {}, deleted {}, ignored {}; status {}){said}",
            c.imported,
            c.updated,
            c.deleted,
            c.ignored,
            word(summary.status)
        ));
    }
    let rejected = summary.rejected_indexes.len() as u64;
    if rejected > c.ignored {
        return Some(format!(
            "it rejects {rejected} values but counts only {} ignored",
            c.ignored
        ));
    }
    // The WebMessage around it says only "Import finished with conflicts".
    let explained = !summary.conflicts.is_empty() || summary.description.is_some();
    (summary.status == ImportStatus::Error && !explained)
        .then(|| "status ERROR without a conflict or a description".to_string())
}

/// Why a tracker report for a committed import of `sent` objects per type
/// does not account for them.
pub fn tracker(report: &TrackerReport, sent: &BTreeMap<TrackerType, usize>) -> Option<String> {
    let said = report
        .message
        .as_deref()
        .map(|m| format!("; it says: {}", crate::text::sanitize(m, 300)))
        .unwrap_or_default();
    let mut by_type = false;
    for (t, &n) in sent {
        if let Some(s) = report.type_stats(*t) {
            by_type = true;
            if counted(s) != n as u64 {
                return Some(format!(
                    "it accounts for {} of the {n} {} objects sent ({}){said}",
                    counted(s),
                    t.as_str(),
                    breakdown(s)
                ));
            }
        }
    }
    let total: u64 = sent.values().map(|n| *n as u64).sum();
    if !by_type && counted(&report.stats) != total {
        return Some(format!(
            "it accounts for {} of the {total} objects sent ({}; status {}){said}",
            counted(&report.stats),
            breakdown(&report.stats),
            word(report.status)
        ));
    }
    if report.status == ImportStatus::Error && report.error_count() == 0 {
        return Some(format!("status ERROR without a single error report{said}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dhis2::{
        parse_data_value_import, parse_metadata_import, parse_tracker_import,
    };
    use serde_json::json;

    fn stats(c: u64, u: u64, d: u64, i: u64) -> Value {
        json!({"created": c, "updated": u, "deleted": d, "ignored": i, "total": c + u + d + i})
    }

    fn md(status: &str, types: Value) -> ImportReport {
        let list = types.as_array().unwrap();
        let mut total = [0u64; 4];
        for t in list {
            for (slot, k) in ["created", "updated", "deleted", "ignored"]
                .iter()
                .enumerate()
            {
                total[slot] += t["stats"][k].as_u64().unwrap();
            }
        }
        let body = json!({"httpStatusCode": 200, "status": "OK", "response": {
            "responseType": "ImportReport", "status": status,
            "stats": stats(total[0], total[1], total[2], total[3]), "typeReports": types}});
        parse_metadata_import(200, body.to_string().as_bytes()).unwrap()
    }

    fn error_object() -> Value {
        json!({"index": 0, "uid": "a", "errorReports": [{"errorCode": "E4000", "message": "name"}]})
    }

    #[test]
    fn metadata_reports_that_add_up() {
        let ok = md(
            "OK",
            json!([{"klass": "x.DataElement", "stats": stats(2, 3, 0, 0), "objectReports": []}]),
        );
        assert_eq!(metadata(&ok, 5, 0), None);
        // Ignored objects with their reasons.
        let warned = md(
            "WARNING",
            json!([{"klass": "x.DataElement", "stats": stats(1, 0, 0, 1), "objectReports": [error_object()]}]),
        );
        assert_eq!(metadata(&warned, 2, 0), None);
        // Deletions count as deleted; missing ones as ignored with E5001.
        let deleted = md(
            "WARNING",
            json!([{"klass": "x.DataElementGroup", "stats": stats(0, 0, 2, 1),
            "objectReports": [{"uid": "g", "errorReports": [{"errorCode": "E5001"}]}]}]),
        );
        assert_eq!(metadata(&deleted, 3, 0), None);
        // The destination's defaults dropped uncounted.
        let cc = md(
            "OK",
            json!([{"klass": "x.CategoryCombo", "stats": stats(0, 2, 0, 0), "objectReports": []}]),
        );
        assert_eq!(metadata(&cc, 3, 1), None);
        assert!(metadata(&cc, 3, 0).is_some());
        // An object failing two checks counts ignored twice: tolerated with its errors.
        let twice = md(
            "WARNING",
            json!([{"klass": "x.DataElement", "stats": stats(0, 0, 0, 2), "objectReports": [error_object()]}]),
        );
        assert_eq!(metadata(&twice, 1, 0), None);
        // Nothing sent, nothing counted (an empty task summary).
        let empty = md("OK", json!([]));
        assert_eq!(metadata(&empty, 0, 0), None);
    }

    #[test]
    fn metadata_reports_that_do_not_add_up() {
        // The 409 of the issue: status ERROR, no type reports, nothing counted.
        let body = br#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"WARNING","response":{"responseType":"ImportReport","status":"ERROR","stats":{"created":0,"updated":0,"deleted":0,"ignored":0,"total":0},"typeReports":[]}}"#;
        let r = parse_metadata_import(409, body).unwrap();
        let why = metadata(&r, 14, 0).unwrap();
        assert!(why.contains("accounts for 0 of the 14 objects"), "{why}");
        assert!(why.contains("status ERROR, 0 error reports"), "{why}");
        // One object short.
        let short = md(
            "OK",
            json!([{"klass": "x.DataElement", "stats": stats(2, 2, 0, 0), "objectReports": []}]),
        );
        assert!(
            metadata(&short, 5, 0)
                .unwrap()
                .contains("accounts for 4 of the 5")
        );
        // More than sent with nothing wrong.
        assert!(
            metadata(&short, 3, 0)
                .unwrap()
                .contains("counts 4 objects but 3 were sent")
        );
        // Counts that add up but no reason for a failure.
        let silent = md(
            "ERROR",
            json!([{"klass": "x.DataElement", "stats": stats(0, 0, 0, 3), "objectReports": []}]),
        );
        assert!(
            metadata(&silent, 3, 0)
                .unwrap()
                .contains("status ERROR without")
        );
        let ignored = md(
            "OK",
            json!([{"klass": "x.DataElement", "stats": stats(1, 0, 0, 2), "objectReports": []}]),
        );
        assert!(
            metadata(&ignored, 3, 0)
                .unwrap()
                .contains("2 objects ignored without")
        );
        // Type reports that disagree with the stats.
        let mut split = short.clone();
        split.stats.created += 1;
        assert!(
            metadata(&split, 5, 0)
                .unwrap()
                .contains("type reports count 4")
        );
    }

    fn dv(body: Value, http: u16) -> ImportSummary {
        parse_data_value_import(http, body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn data_value_summaries() {
        let ok = dv(
            json!({"status": "SUCCESS", "importCount": {"imported": 3, "updated": 1, "ignored": 1, "deleted": 1}}),
            200,
        );
        assert_eq!(data_values(&ok, 6), None);
        let why = data_values(&ok, 7).unwrap();
        assert!(why.contains("accounts for 6 of the 7 values"), "{why}");
        // Rejected values are ignored ones, counted as errors by the sync, not a mismatch.
        let rejected = dv(
            json!({"status": "WARNING", "importCount": {"imported": 1, "updated": 0, "ignored": 2, "deleted": 0},
            "conflicts": [{"object": "o", "value": "Org unit not found", "errorCode": "E7612", "indexes": [1, 2]}],
            "rejectedIndexes": [1, 2]}),
            409,
        );
        assert_eq!(data_values(&rejected, 3), None);
        let mut more = rejected.clone();
        more.rejected_indexes.push(0);
        assert!(
            data_values(&more, 3)
                .unwrap()
                .contains("rejects 3 values but counts only 2")
        );
        // The whole import failed: nothing counted, the description says why.
        let failed = dv(
            json!({"status": "ERROR", "description": "The import process failed: disk full", "importCount": {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}}),
            200,
        );
        let why = data_values(&failed, 5).unwrap();
        assert!(
            why.contains("disk full") && why.contains("status ERROR"),
            "{why}"
        );
        // ERROR with nothing to say, counts adding up.
        let silent = dv(
            json!({"status": "ERROR", "importCount": {"imported": 0, "updated": 0, "ignored": 2, "deleted": 0}}),
            409,
        );
        assert!(
            data_values(&silent, 2)
                .unwrap()
                .contains("without a conflict")
        );
    }

    fn tr(body: Value) -> TrackerReport {
        parse_tracker_import(200, body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn tracker_reports() {
        let sent = BTreeMap::from([(TrackerType::Event, 3)]);
        let committed = tr(
            json!({"status": "OK", "validationReport": {"errorReports": []}, "stats": stats(2, 1, 0, 0),
            "bundleReport": {"typeReportMap": {"EVENT": {"trackerType": "EVENT", "stats": stats(2, 1, 0, 0), "objectReports": []}}}}),
        );
        assert_eq!(tracker(&committed, &sent), None);
        let short = BTreeMap::from([(TrackerType::Event, 4)]);
        assert!(
            tracker(&committed, &short)
                .unwrap()
                .contains("accounts for 3 of the 4 EVENT")
        );
        // All invalid: no bundle report, the top stats ignore everything.
        let invalid = tr(json!({"status": "ERROR", "stats": stats(0, 0, 0, 3),
            "validationReport": {"errorReports": [{"errorCode": "E1033", "uid": "e1"}, {"errorCode": "E1033", "uid": "e2"}, {"errorCode": "E1033", "uid": "e3"}]}}));
        assert_eq!(tracker(&invalid, &sent), None);
        // A crash (`withError`): a message, no stats.
        let crashed = tr(
            json!({"status": "ERROR", "message": "Exception during import", "validationReport": {"errorReports": []}}),
        );
        let why = tracker(&crashed, &sent).unwrap();
        assert!(
            why.contains("accounts for 0 of the 3") && why.contains("Exception during import"),
            "{why}"
        );
        // ERROR, counts adding up, no error report.
        let silent = tr(
            json!({"status": "ERROR", "stats": stats(0, 0, 0, 3), "validationReport": {"errorReports": []}}),
        );
        assert!(
            tracker(&silent, &sent)
                .unwrap()
                .contains("status ERROR without")
        );
    }

    #[test]
    fn defaults_are_found_by_name() {
        let payload = json!({"categoryCombos": [{"id": "bjDvmb4bfuf", "name": "default"}, {"id": "x", "name": "Sex"}],
            "dataElements": [{"id": "d", "name": "default"}]});
        assert_eq!(default_objects(&payload), 1);
    }
}
