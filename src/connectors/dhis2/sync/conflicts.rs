//! Import rejections as classified conflicts. The class decides what the
//! engine does next: a missing reference is re-synced after the next metadata
//! sync, a lock soon, anything else waits for a human.

use serde::{Deserialize, Serialize};

use super::ResourceOutcome;
use crate::connectors::dhis2::reports::{ImportReport, ImportSummary};
use crate::connectors::dhis2::tracker_report::TrackerReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictClass {
    /// The object points at something the destination lacks (metadata not yet synced).
    MissingReference,
    /// A database lock or deadlock: worth a retry in a moment.
    Lock,
    Other,
}

/// One rejected object (or value) with DHIS2's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub class: ConflictClass,
    pub code: Option<String>,
    pub message: String,
    /// The rejected object's UID, when the report names it.
    pub uid: Option<String>,
}

/// Conflicts kept per outcome; `errors` still counts them all. A full run
/// against a destination missing its metadata could otherwise hold millions.
pub const MAX_CONFLICTS: usize = 500;

/// Codes meaning "a referenced object does not exist (here)".
const MISSING_REFERENCE: &[&str] = &[
    // metadata: invalid reference, reference not found
    "E5002", "E5003", "E4053",
    // tracker: type, org unit, program, stage, TE, enrollment, attribute not found
    "E1005", "E1006", "E1011", "E1013", "E1033", "E1035", "E1049", "E1068", "E1069", "E1070",
    "E1086",
    // data values: data element, org unit, COC, AOC not found; org unit not
    // assigned to the data set (a metadata sync assigns it)
    "E7610", "E7612", "E7614", "E7615", "E7617",
];

/// Codes meaning "the object to delete is not there (any more)": tolerated when
/// deleting, since the destination may never have had it.
const GONE: &[&str] = &["E5001", "E1063", "E1081", "E1032", "E1114"];

pub fn classify(code: Option<&str>, message: &str) -> ConflictClass {
    let lower = message.to_ascii_lowercase();
    if lower.contains("deadlock")
        || lower.contains("could not obtain lock")
        || lower.contains("lock wait")
    {
        return ConflictClass::Lock;
    }
    if code.is_some_and(|c| MISSING_REFERENCE.contains(&c)) {
        return ConflictClass::MissingReference;
    }
    if lower.contains("lock") && !lower.contains("period") {
        return ConflictClass::Lock;
    }
    ConflictClass::Other
}

pub fn is_gone(code: Option<&str>) -> bool {
    code.is_some_and(|c| GONE.contains(&c))
}

fn conflict(code: Option<&str>, message: Option<&str>, uid: Option<&str>) -> Conflict {
    let message = message.unwrap_or("(no message)").to_string();
    Conflict {
        class: classify(code, &message),
        code: code.map(str::to_string),
        message,
        uid: uid.map(str::to_string),
    }
}

impl ResourceOutcome {
    fn push_conflicts(&mut self, found: impl Iterator<Item = Conflict>) {
        let room = MAX_CONFLICTS.saturating_sub(self.conflicts.len());
        self.conflicts.extend(found.take(room));
    }
}

/// Metadata import errors; `deleting` turns "not found" into skips.
/// Returns (errors, skipped).
pub(crate) fn metadata(out: &mut ResourceOutcome, r: &ImportReport, deleting: bool) -> (u64, u64) {
    let (gone, rest): (Vec<_>, Vec<_>) = r
        .errors()
        .partition(|e| deleting && is_gone(e.error_code.as_deref()));
    out.push_conflicts(rest.iter().map(|e| {
        conflict(
            e.error_code.as_deref(),
            e.message.as_deref(),
            e.main_id.as_deref(),
        )
    }));
    (rest.len() as u64, gone.len() as u64)
}

/// Data value import conflicts. Counted by `rejectedIndexes` when present
/// (one conflict can cover several values).
pub(crate) fn data_values(out: &mut ResourceOutcome, s: &ImportSummary) -> u64 {
    out.push_conflicts(s.conflicts.iter().map(|c| {
        let uid = c
            .object
            .as_deref()
            .or_else(|| c.objects.values().next().map(String::as_str));
        conflict(c.error_code.as_deref(), c.value.as_deref(), uid)
    }));
    let mut errors = s.error_count() as u64;
    if errors == 0 && !s.status.is_ok() {
        // An ERROR summary without conflicts (e.g. a rejected payload): count
        // what was not written so the resource is not marked clean.
        errors = s.import_count.ignored.max(1);
        out.push_conflicts(std::iter::once(conflict(
            None,
            s.description.as_deref().or(s.message.as_deref()),
            None,
        )));
    }
    errors
}

/// Tracker validation and object errors; `deleting` turns "not found" into
/// skips. Returns (errors, skipped).
pub(crate) fn tracker(out: &mut ResourceOutcome, r: &TrackerReport, deleting: bool) -> (u64, u64) {
    let bundle = r
        .bundle_report
        .iter()
        .flat_map(|b| b.type_report_map.values())
        .flat_map(|t| &t.object_reports)
        .flat_map(|o| &o.error_reports);
    let (gone, rest): (Vec<_>, Vec<_>) = r
        .validation_report
        .error_reports
        .iter()
        .chain(bundle)
        .partition(|e| deleting && is_gone(e.error_code.as_deref()));
    out.push_conflicts(rest.iter().map(|e| {
        conflict(
            e.error_code.as_deref(),
            e.message.as_deref(),
            e.uid.as_deref(),
        )
    }));
    (rest.len() as u64, gone.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            classify(Some("E5002"), "Invalid reference"),
            ConflictClass::MissingReference
        );
        assert_eq!(
            classify(Some("E7612"), "Org unit not found"),
            ConflictClass::MissingReference
        );
        assert_eq!(
            classify(None, "ERROR: deadlock detected"),
            ConflictClass::Lock
        );
        assert_eq!(
            classify(Some("E7641"), "Period is locked for data entry"),
            ConflictClass::Other
        );
        assert_eq!(
            classify(Some("E4000"), "Missing required property"),
            ConflictClass::Other
        );
        assert!(is_gone(Some("E1063")) && !is_gone(Some("E5002")) && !is_gone(None));
    }

    #[test]
    fn conflicts_are_capped_but_counted() {
        let summary = ImportSummary {
            conflicts: (0..MAX_CONFLICTS + 10)
                .map(|_| crate::connectors::dhis2::reports::ImportConflict {
                    error_code: Some("E7610".into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let mut out = ResourceOutcome::default();
        assert_eq!(data_values(&mut out, &summary), (MAX_CONFLICTS + 10) as u64);
        assert_eq!(out.conflicts.len(), MAX_CONFLICTS);
        assert!(
            out.conflicts
                .iter()
                .all(|c| c.class == ConflictClass::MissingReference)
        );
    }
}
