//! Import rejections as classified conflicts. The class decides what the
//! engine does next: a missing reference is re-synced after the next metadata
//! sync, a lock soon, anything else waits for a human.

use serde::{Deserialize, Serialize};

use super::ResourceOutcome;
use crate::connectors::dhis2::data_value::DataValue;
use crate::connectors::dhis2::reports::{ImportReport, ImportSummary};
use crate::connectors::dhis2::tracker_report::TrackerReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictClass {
    /// The object points at something the destination lacks (metadata not yet synced).
    MissingReference,
    /// A database lock or deadlock: worth a retry in a moment.
    Lock,
    /// A value the destination will keep refusing however often it is sent
    /// (expired, locked or closed period; wrong value type; not an option):
    /// recorded, and the watermark moves past it.
    Permanent,
    Other,
}

impl ConflictClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictClass::MissingReference => "reference",
            ConflictClass::Lock => "lock",
            ConflictClass::Permanent => "permanent",
            ConflictClass::Other => "other",
        }
    }
}

/// One rejected object (or value) with DHIS2's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub class: ConflictClass,
    pub code: Option<String>,
    pub message: String,
    /// The rejected object's UID, when the report names it; for a data value
    /// its key `de/pe/ou/coc/aoc`.
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
    // data values: data element, org unit, COC not found, COC option not
    // accessible, AOC not found (E7617 is "org unit not in the hierarchy of
    // the importing user": a metadata sync does not change that)
    "E7610", "E7612", "E7613", "E7614", "E7615",
];

/// Data value conflicts that sending again cannot fix (dhis-api
/// feedback/ErrorCode.java, raised by 2.41.3 dxf2/datavalueset/
/// DataValueSetImportValidator.java): value not defined (E7618), value type
/// (E7619), comment (E7620), option (E7621), expired period (E7640), approved
/// (E7642), period closed for data input (E7643, E7644). A future period
/// (E7641) opens with time and is re-sent.
const PERMANENT: &[&str] = &[
    "E7618", "E7619", "E7620", "E7621", "E7640", "E7642", "E7643", "E7644",
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
    if code.is_some_and(|c| PERMANENT.contains(&c)) {
        return ConflictClass::Permanent;
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

/// Data value import conflicts of `batch` (the values sent). Counted by
/// `rejectedIndexes` when present (one conflict can cover several values);
/// each conflict is kept once per value it names, keyed `de/pe/ou/coc/aoc`.
/// Returns (errors, of them permanent).
pub(crate) fn data_values(
    out: &mut ResourceOutcome,
    s: &ImportSummary,
    batch: &[DataValue],
) -> (u64, u64) {
    let mut permanent_values = std::collections::BTreeSet::new();
    let found = s.conflicts.iter().flat_map(|c| {
        let uid = c
            .object
            .as_deref()
            .or_else(|| c.objects.values().next().map(String::as_str));
        let base = conflict(c.error_code.as_deref(), c.value.as_deref(), uid);
        if base.class == ConflictClass::Permanent {
            permanent_values.extend(c.indexes.iter().copied());
        }
        let keyed: Vec<Conflict> = c
            .indexes
            .iter()
            .filter_map(|&i| batch.get(usize::try_from(i).ok()?))
            .map(|v| Conflict {
                uid: Some(value_key(v)),
                ..base.clone()
            })
            .collect();
        if keyed.is_empty() { vec![base] } else { keyed }
    });
    let found: Vec<Conflict> = found.collect();
    out.push_conflicts(found.into_iter());
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
    // A value refused for a permanent reason and also for another one (two
    // data sets) is not permanent.
    let other: std::collections::BTreeSet<u64> = s
        .conflicts
        .iter()
        .filter(|c| {
            classify(c.error_code.as_deref(), c.value.as_deref().unwrap_or(""))
                != ConflictClass::Permanent
        })
        .flat_map(|c| c.indexes.iter().copied())
        .collect();
    let permanent = permanent_values.difference(&other).count() as u64;
    (errors, permanent.min(errors))
}

/// A data value's identity, as the rejections record it.
pub fn value_key(v: &DataValue) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        v.data_element,
        v.period,
        v.org_unit,
        v.category_option_combo.as_deref().unwrap_or(""),
        v.attribute_option_combo.as_deref().unwrap_or("")
    )
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
            classify(
                Some("E7641"),
                "Period: `202701` is after latest open future period"
            ),
            ConflictClass::Other,
            "a future period opens with time"
        );
        for code in ["E7640", "E7619", "E7621", "E7642", "E7643"] {
            assert_eq!(
                classify(Some(code), "x"),
                ConflictClass::Permanent,
                "{code}"
            );
        }
        assert_eq!(
            classify(Some("E4000"), "Missing required property"),
            ConflictClass::Other
        );
        assert!(is_gone(Some("E1063")) && !is_gone(Some("E5002")) && !is_gone(None));
    }

    /// A grouped conflict names its values by index; a value refused both
    /// permanently and for another reason is not permanent.
    #[test]
    fn data_value_conflicts_keyed_by_value_and_counted_permanent() {
        use crate::connectors::dhis2::reports::ImportConflict;
        let value = |pe: &str| DataValue {
            data_element: "de".into(),
            period: pe.into(),
            org_unit: "ou".into(),
            category_option_combo: Some("coc".into()),
            attribute_option_combo: Some("aoc".into()),
            ..Default::default()
        };
        let batch = [value("202401"), value("202402"), value("202403")];
        let summary = ImportSummary {
            conflicts: vec![
                ImportConflict {
                    error_code: Some("E7640".into()),
                    value: Some("Current date is past expiry days".into()),
                    indexes: vec![0, 1],
                    ..Default::default()
                },
                ImportConflict {
                    error_code: Some("E7641".into()),
                    value: Some("after latest open future period".into()),
                    indexes: vec![1, 2],
                    ..Default::default()
                },
            ],
            rejected_indexes: vec![0, 1, 2],
            ..Default::default()
        };
        let mut out = ResourceOutcome::default();
        assert_eq!(data_values(&mut out, &summary, &batch), (3, 1));
        let keys: Vec<(&str, ConflictClass)> = out
            .conflicts
            .iter()
            .map(|c| (c.uid.as_deref().unwrap(), c.class))
            .collect();
        assert_eq!(
            keys,
            [
                ("de/202401/ou/coc/aoc", ConflictClass::Permanent),
                ("de/202402/ou/coc/aoc", ConflictClass::Permanent),
                ("de/202402/ou/coc/aoc", ConflictClass::Other),
                ("de/202403/ou/coc/aoc", ConflictClass::Other),
            ]
        );
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
        assert_eq!(
            data_values(&mut out, &summary, &[]),
            ((MAX_CONFLICTS + 10) as u64, 0)
        );
        assert_eq!(out.conflicts.len(), MAX_CONFLICTS);
        assert!(
            out.conflicts
                .iter()
                .all(|c| c.class == ConflictClass::MissingReference)
        );
    }
}
