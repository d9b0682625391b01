//! The checks `POST /api/dataValueSets` makes after the references resolved,
//! in dhis2-core's order (2.39.6 and 2.41.3
//! dxf2/datavalueset/DataValueSetImportValidator.java register the same list):
//! value type (E7619), option set (E7621), attribute option combo date range
//! (E7638) and org units (E7639), expired period (E7640), future period
//! (E7641), approved data (E7642, see [`approvals`]), data input periods
//! (E7643). The first check that fails ends the value's validation
//! (`skipDataValue`). Codes and texts: dhis-api feedback/ErrorCode.java;
//! objects and property: DataValueImportConflict.java.
//!
//! Not emulated: lock exceptions (none exist here), system settings (the data
//! set checks are strict and the org unit check is not, as the settings'
//! defaults make them), and E7644 (reached only when a data set is named in
//! the payload).

pub mod approvals;

use chrono::{Duration, NaiveDate};
use serde_json::Value;

use super::model::{MetaType, defaults};
use super::periods;
use super::state::SimState;
use approvals::Approvals;

/// dhis-support ValidationUtils.VALUE_MAX_LENGTH.
const VALUE_MAX_LENGTH: usize = 50_000;

/// A failed check: the conflict DHIS2 adds for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: &'static str,
    /// `objects` of the conflict, in DHIS2's order (the first is `object`).
    pub objects: Vec<(&'static str, String)>,
    /// None for conflicts DHIS2 gives no property (E7642).
    pub property: Option<&'static str>,
    pub message: String,
}

/// What the import knows about the request and the importing user.
pub struct Context<'a> {
    pub state: &'a SimState,
    /// The server's date now (periods and expiry are compared by day).
    pub today: NaiveDate,
    /// The user has `F_EDIT_EXPIRED` (or `ALL`): DataSet.isLocked is false.
    pub edit_expired: bool,
    /// `force=true` by a superuser: the data set checks are skipped
    /// (ImportContext.isForceDataInput, InputUtils.canForceDataInput).
    pub force: bool,
    /// The payload's `dataSet`: then the only target data set
    /// (ImportContext.getTargetDataSets).
    pub data_set: Option<&'a str>,
    /// `strictOrganisationUnits=true`: the org unit must have the data
    /// element through one of its data sets (E7636). Without it, an org unit
    /// not assigned to the data set is accepted.
    pub strict_org_units: bool,
    /// The server's data approvals (`--approved-periods`).
    pub approvals: Approvals<'a>,
}

/// One resolved value.
pub struct Checked<'a> {
    pub de: &'a str,
    pub pe: &'a str,
    pub ou: &'a str,
    pub aoc: &'a str,
    pub value: Option<&'a str>,
}

fn issue(
    code: &'static str,
    objects: Vec<(&'static str, String)>,
    property: &'static str,
    message: String,
) -> Issue {
    Issue {
        code,
        objects,
        property: Some(property),
        message,
    }
}

/// The conflicts of one value (empty = import it); one check's worth at most.
pub fn check(cx: &Context<'_>, v: &Checked<'_>) -> Vec<Issue> {
    let Some((start, end)) = periods::period_range(v.pe) else {
        return Vec::new(); // E7611 is checked with the references
    };
    let de = cx
        .state
        .meta(MetaType::DataElement)
        .get(v.de)
        .map(|o| &o.body);
    let value_type = de
        .and_then(|b| b.get("valueType"))
        .and_then(Value::as_str)
        .unwrap_or("TEXT");
    // validateDataValueIsValid: ValidationUtils.valueIsValid(value, valueType).
    if let Some(key) = value_error(v.value, value_type) {
        return vec![issue(
            "E7619",
            vec![
                ("dataElement", v.de.to_string()),
                ("value", key.to_string()),
            ],
            "value",
            // The key has no i18n text for most types: DHIS2 prints the key.
            format!(
                "Value must match value type of data element `{}`: `{}`",
                v.de,
                i18n(key)
            ),
        )];
    }
    // validateDataValueOptionsExist: a value not among the option codes
    // (a null value included, as in dhis2-core).
    if let Some(set) = de
        .and_then(|b| b.get("optionSet"))
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
    {
        let codes = option_codes(cx.state, set);
        let ok = match v.value {
            Some(value) if value_type == "MULTI_TEXT" => {
                value.split(',').all(|c| codes.iter().any(|k| k == c))
            }
            Some(value) => codes.iter().any(|k| k == value),
            None => false,
        };
        if !ok {
            return vec![issue(
                "E7621",
                vec![("dataElement", v.de.to_string())],
                "value",
                format!(
                    "Data value is not a valid option of the data element option set: `{}`",
                    v.de
                ),
            )];
        }
    }
    // checkDataValueStrictOrgUnits (OrganisationUnit.hasDataElement).
    if cx.strict_org_units && !has_data_element(cx.state, v.ou, v.de) {
        return vec![issue(
            "E7636",
            vec![
                ("organisationUnit", v.ou.to_string()),
                ("dataElement", v.de.to_string()),
            ],
            "orgUnit",
            format!(
                "Data element: `{}` must be assigned through data sets to organisation unit: `{}`",
                v.de, v.ou
            ),
        )];
    }
    let options = aoc_options(cx.state, v.aoc);
    // checkDataValuePeriodWithinAttrOptionComboRange (CategoryOptionCombo.getDateRange:
    // the latest start and the earliest end of its options).
    let from = options.iter().filter_map(|o| date(o, "startDate")).max();
    let to = options.iter().filter_map(|o| date(o, "endDate")).min();
    if from.is_some_and(|f| f > end) || to.is_some_and(|t| t < start) {
        return vec![issue(
            "E7638",
            vec![
                ("period", v.pe.to_string()),
                ("categoryOptionCombo", v.aoc.to_string()),
            ],
            "period",
            format!(
                "Period: `{}` is not within date range of attribute option combo: `{}`",
                v.pe, v.aoc
            ),
        )];
    }
    // checkDataValueOrgUnitValidForAttrOptionCombo: options restricted to org
    // units allow their subtrees only.
    let restricted: Vec<&str> = options
        .iter()
        .flat_map(|o| ids(o, "organisationUnits"))
        .collect();
    if !restricted.is_empty() && !in_subtree(cx.state, v.ou, &restricted) {
        return vec![issue(
            "E7639",
            vec![
                ("organisationUnit", v.ou.to_string()),
                ("categoryOptionCombo", v.aoc.to_string()),
            ],
            "orgUnit",
            format!(
                "Organisation unit: `{}` is not valid for attribute option combo: `{}`",
                v.ou, v.aoc
            ),
        )];
    }
    if cx.force {
        return Vec::new();
    }
    let targets = match cx.data_set {
        Some(id) => cx
            .state
            .meta(MetaType::DataSet)
            .get_key_value(id)
            .map(|(id, o)| vec![(id.as_str(), &o.body)])
            .unwrap_or_default(),
        None => target_data_sets(cx.state, v),
    };
    // checkDataValueDataSetIsNotLocked, strict as on a stock DHIS2 (one
    // conflict per expired target data set): ImportContext.strictDataSetLocking
    // is the parameter OR keyDataImportStrictDataSetLocking, default true
    // (2.41.3 dhis-service-setting SettingKey.java, DefaultDataValueSetService
    // `createImportContext`; checkDataValueTargetDataSets).
    let expired = |ds: &serde_json::Map<String, Value>| {
        let days = ds.get("expiryDays").and_then(Value::as_i64).unwrap_or(0);
        // DataSet.isLocked: NO_EXPIRY is 0; Period.isDateInTimeFrame compares days.
        !cx.edit_expired && days > 0 && cx.today > end + Duration::days(days)
    };
    let locked: Vec<_> = targets.iter().filter(|(_, ds)| expired(ds)).collect();
    if !locked.is_empty() {
        return locked
            .iter()
            .map(|(id, _)| {
                issue(
                    "E7640",
                    vec![("period", v.pe.to_string()), ("dataSet", id.to_string())],
                    "period",
                    format!(
                        "Current date is past expiry days for period: `{}`  and data set: `{id}`",
                        v.pe
                    ),
                )
            })
            .collect();
    }
    // checkDataValueNotAfterLatestOpenFuturePeriod (strict: every data set).
    let future: Vec<Issue> = targets
        .iter()
        .filter_map(|(id, ds)| {
            let open = ds
                .get("openFuturePeriods")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let latest = latest_open_period_end(ds, cx.today, open)?;
            (end > latest.1).then(|| {
                issue(
                    "E7641",
                    vec![
                        ("period", v.pe.to_string()),
                        ("dataElement", v.de.to_string()),
                        ("dataSet", id.to_string()),
                    ],
                    "period",
                    format!(
                        "Period: `{}` is after latest open future period: `{}` for data element: `{}` and data set: `{id}`",
                        v.pe, latest.0, v.de
                    ),
                )
            })
        })
        .collect();
    if !future.is_empty() {
        return future;
    }
    let approved = already_approved(cx, v, &targets);
    if !approved.is_empty() {
        return approved;
    }
    // checkDataValuePeriodIsOpenNow, strict by keyDataImportStrictDataSetInputPeriods
    // (default true, as above): DataSet.isDataInputPeriodAndDateAllowed.
    let closed = |ds: &serde_json::Map<String, Value>| {
        let inputs = ds
            .get("dataInputPeriods")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        !inputs.is_empty() && !inputs.iter().any(|p| input_period_open(p, v.pe, cx.today))
    };
    let closed: Vec<_> = targets.iter().filter(|(_, ds)| closed(ds)).collect();
    if !closed.is_empty() {
        return closed
            .iter()
            .map(|(id, _)| {
                issue(
                    "E7643",
                    vec![("period", v.pe.to_string()), ("dataSet", id.to_string())],
                    "period",
                    format!(
                        "Period: `{}` is not open for this data set at this time: `{id}`",
                        v.pe
                    ),
                )
            })
            .collect();
    }
    Vec::new()
}

/// checkDataValueNotAlreadyApproved (2.39.6-2.42.1, the same code): one
/// E7642 per target data set whose workflow has approved the value's period,
/// org unit and attribute option combo. Strict, as on a stock DHIS2:
/// ImportContext.strictDataSetApproval is the `strictDataSetApproval`
/// parameter OR the system setting keyDataImportStrictDataSetApproval, whose
/// default is true (dhis-service-setting SettingKey.java
/// DATA_IMPORT_STRICT_DATA_SET_APPROVAL in 2.39.6-2.41.3, dhis-api
/// SystemSettings.getDataImportStrictDataSetApproval in 2.42.1;
/// DefaultDataValueSetService.createImportContext), so the parameter cannot
/// loosen it and the simulator, without system settings, ignores it. A data
/// set without a workflow raises nothing ("approval not used => OK").
fn already_approved(
    cx: &Context<'_>,
    v: &Checked<'_>,
    targets: &[(&str, &serde_json::Map<String, Value>)],
) -> Vec<Issue> {
    targets
        .iter()
        .filter(|(id, _)| {
            cx.approvals.workflow(id).is_some()
                && cx.approvals.is_approved(cx.state, v.pe, v.ou, v.aoc)
        })
        .map(|(id, _)| Issue {
            code: "E7642",
            // DataValueImportConflict.VALUE_ALREADY_APPROVED: OrganisationUnit,
            // Period, CategoryOptionCombo (the AOC), DataSet; no property.
            objects: vec![
                ("organisationUnit", v.ou.to_string()),
                ("period", v.pe.to_string()),
                ("categoryOptionCombo", v.aoc.to_string()),
                ("dataSet", id.to_string()),
            ],
            property: None,
            message: format!(
                "Data already approved for data set: `{id}` period: `{}` org unit: `{}` attribute option combo: `{}`",
                v.pe, v.ou, v.aoc
            ),
        })
        .collect()
}

/// ImportContext.getTargetDataSets without a data set in the payload: the data
/// element's data sets that hold the org unit and have the AOC's category combo.
fn target_data_sets<'s>(
    state: &'s SimState,
    v: &Checked<'_>,
) -> Vec<(&'s str, &'s serde_json::Map<String, Value>)> {
    let aoc_combo = state
        .meta(MetaType::CategoryOptionCombo)
        .get(v.aoc)
        .and_then(|o| o.body.get("categoryCombo"))
        .and_then(|c| c.get("id"))
        .and_then(Value::as_str)
        .unwrap_or(defaults::CATEGORY_COMBO);
    state
        .meta(MetaType::DataSet)
        .iter()
        .filter(|(_, o)| {
            let b = &o.body;
            let combo = b
                .get("categoryCombo")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
                .unwrap_or(defaults::CATEGORY_COMBO);
            combo == aoc_combo
                && ids(b, "organisationUnits").any(|ou| ou == v.ou)
                && b.get("dataSetElements")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|e| {
                        e.get("dataElement")
                            .and_then(|d| d.get("id"))
                            .and_then(Value::as_str)
                            == Some(v.de)
                    })
        })
        .map(|(id, o)| (id.as_str(), &o.body))
        .collect()
}

/// The org unit is assigned to a data set holding the data element.
fn has_data_element(state: &SimState, ou: &str, de: &str) -> bool {
    state.meta(MetaType::DataSet).values().any(|o| {
        ids(&o.body, "organisationUnits").any(|x| x == ou)
            && o.body
                .get("dataSetElements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|e| {
                    e.get("dataElement")
                        .and_then(|d| d.get("id"))
                        .and_then(Value::as_str)
                        == Some(de)
                })
    })
}

/// PeriodType.getFuturePeriod(open): the current period moved back one ("0
/// open periods implies current period is locked"), then `open` forward.
/// Returns its ISO name and last day. Only the period types the simulator
/// generates (Monthly, Yearly) are known; others are not checked.
fn latest_open_period_end(
    ds: &serde_json::Map<String, Value>,
    today: NaiveDate,
    open: i64,
) -> Option<(String, NaiveDate)> {
    use chrono::Datelike;
    let shift = i32::try_from(open - 1).ok()?;
    match ds.get("periodType").and_then(Value::as_str)? {
        "Monthly" => {
            let months = today.year() * 12 + today.month0() as i32 + shift;
            let (y, m) = (months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
            let iso = format!("{y:04}{m:02}");
            periods::period_range(&iso).map(|(_, end)| (iso, end))
        }
        "Yearly" => {
            let iso = format!("{:04}", today.year() + shift);
            periods::period_range(&iso).map(|(_, end)| (iso, end))
        }
        _ => None,
    }
}

/// DataInputPeriod.isPeriodAndDateValid: its period, and today within its
/// opening and closing dates (each optional).
fn input_period_open(p: &Value, pe: &str, today: NaiveDate) -> bool {
    let period = p
        .get("period")
        .and_then(|x| x.get("id").or(Some(x)))
        .and_then(Value::as_str);
    let day = |k| {
        p.get(k)
            .and_then(Value::as_str)
            .and_then(|s| s.get(..10))
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    period == Some(pe)
        && day("openingDate").is_none_or(|d| today >= d)
        && day("closingDate").is_none_or(|d| today <= d)
}

/// dhis-support ValidationUtils.valueIsValid(value, valueType): the error key.
fn value_error(value: Option<&str>, value_type: &str) -> Option<&'static str> {
    let value = value.filter(|v| !v.trim().is_empty())?;
    if value.chars().count() > VALUE_MAX_LENGTH {
        return Some("value_length_greater_than_max_length");
    }
    // MathUtils: INT_VALIDATOR (fits a Java int) plus the pattern.
    let int = || value.parse::<i32>().is_ok();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let positive = || digits(value) && !value.starts_with('0');
    let number = || value.parse::<f64>().is_ok_and(f64::is_finite);
    match value_type {
        "NUMBER" => (!number()).then_some("value_not_numeric"),
        "INTEGER" => (!(int()
            && (value == "0" || !value.trim_start_matches('-').starts_with('0'))))
        .then_some("value_not_integer"),
        "INTEGER_POSITIVE" => (!(int() && positive())).then_some("value_not_positive_integer"),
        "INTEGER_NEGATIVE" => (!(int()
            && value
                .strip_prefix('-')
                .is_some_and(|d| digits(d) && !d.starts_with('0'))))
        .then_some("value_not_negative_integer"),
        "INTEGER_ZERO_OR_POSITIVE" => (!(int() && (value == "0" || positive())))
            .then_some("value_not_zero_or_positive_integer"),
        "PERCENTAGE" => (!value
            .parse::<f64>()
            .is_ok_and(|f| (0.0..=100.0).contains(&f)))
        .then_some("value_not_percentage"),
        "UNIT_INTERVAL" => (!value.parse::<f64>().is_ok_and(|f| (0.0..=1.0).contains(&f)))
            .then_some("value_not_unit_interval"),
        "BOOLEAN" => (!["true", "false"].contains(&value.to_ascii_lowercase().as_str()))
            .then_some("value_not_bool"),
        "TRUE_ONLY" => (!value.eq_ignore_ascii_case("true")).then_some("value_not_true_only"),
        "DATE" => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .is_err()
            .then_some("value_not_valid_date"),
        _ => None,
    }
}

/// i18n_global.properties texts; keys without one print as themselves.
fn i18n(key: &'static str) -> &'static str {
    match key {
        "value_length_greater_than_max_length" => "Data value is greater than max length",
        "value_not_numeric" => "Data value is not numeric",
        "value_not_integer" => "Data value is not an integer",
        "value_not_positive_integer" => "Data value is not a positive integer",
        "value_not_bool" => "Data value is not a boolean",
        other => other,
    }
}

fn option_codes(state: &SimState, set: &str) -> Vec<String> {
    state
        .member_ids(MetaType::OptionSet, set, "options", None)
        .iter()
        .filter_map(|id| state.meta(MetaType::Option).get(id))
        .filter_map(|o| o.body.get("code").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn aoc_options<'s>(state: &'s SimState, aoc: &str) -> Vec<&'s serde_json::Map<String, Value>> {
    state
        .member_ids(MetaType::CategoryOptionCombo, aoc, "categoryOptions", None)
        .iter()
        .filter_map(|id| state.meta(MetaType::CategoryOption).get(id))
        .map(|o| &o.body)
        .collect()
}

fn ids<'b>(body: &'b serde_json::Map<String, Value>, list: &str) -> impl Iterator<Item = &'b str> {
    body.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.get("id").and_then(Value::as_str))
}

fn date(body: &serde_json::Map<String, Value>, key: &str) -> Option<NaiveDate> {
    let s = body.get(key)?.as_str()?;
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// OrganisationUnit.isDescendant: the unit or one of its ancestors is listed.
fn in_subtree(state: &SimState, ou: &str, roots: &[&str]) -> bool {
    let path = state
        .meta(MetaType::OrganisationUnit)
        .get(ou)
        .and_then(|o| o.body.get("path"))
        .and_then(Value::as_str)
        .unwrap_or("");
    roots
        .iter()
        .any(|r| *r == ou || path.split('/').any(|p| p == *r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(state: &mut SimState, ty: MetaType, body: Value) {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap();
        state.put_meta(ty, body.as_object().unwrap().clone(), at);
    }

    /// A data set `ds` (Monthly) holding `de` for `ou` (under `root`), with `extra` fields.
    fn state(extra: Value, de_extra: Value) -> SimState {
        let mut st = SimState::default();
        put(
            &mut st,
            MetaType::OrganisationUnit,
            json!({"id": "root", "path": "/root", "level": 1}),
        );
        put(
            &mut st,
            MetaType::OrganisationUnit,
            json!({"id": "ou", "path": "/root/ou", "parent": {"id": "root"}, "level": 2}),
        );
        put(
            &mut st,
            MetaType::OrganisationUnit,
            json!({"id": "other", "path": "/other", "level": 1}),
        );
        let mut de = json!({"id": "de", "valueType": "TEXT"});
        de.as_object_mut()
            .unwrap()
            .extend(de_extra.as_object().unwrap().clone());
        put(&mut st, MetaType::DataElement, de);
        let mut ds = json!({"id": "ds", "periodType": "Monthly", "openFuturePeriods": 0, "expiryDays": 0,
            "categoryCombo": {"id": defaults::CATEGORY_COMBO},
            "dataSetElements": [{"dataElement": {"id": "de"}}], "organisationUnits": [{"id": "ou"}]});
        ds.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        put(&mut st, MetaType::DataSet, ds);
        st
    }

    fn codes(st: &SimState, pe: &str, value: Option<&str>, aoc: &str) -> Vec<&'static str> {
        codes_approved(st, pe, value, aoc, &[])
    }

    fn codes_approved(
        st: &SimState,
        pe: &str,
        value: Option<&str>,
        aoc: &str,
        approved: &[String],
    ) -> Vec<&'static str> {
        let cx = Context {
            state: st,
            today: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
            edit_expired: false,
            force: false,
            data_set: None,
            strict_org_units: false,
            approvals: Approvals::new(approved),
        };
        let v = Checked {
            de: "de",
            pe,
            ou: "ou",
            aoc,
            value,
        };
        check(&cx, &v).into_iter().map(|i| i.code).collect()
    }

    const AOC: &str = defaults::CATEGORY_OPTION_COMBO;

    #[test]
    fn options_future_and_input_periods() {
        // E7621: not an option code; a null value is not one either.
        let mut st = state(json!({}), json!({"optionSet": {"id": "os"}}));
        put(
            &mut st,
            MetaType::OptionSet,
            json!({"id": "os", "options": [{"id": "o1"}]}),
        );
        put(
            &mut st,
            MetaType::Option,
            json!({"id": "o1", "code": "YES"}),
        );
        assert!(codes(&st, "202512", Some("YES"), AOC).is_empty());
        assert_eq!(codes(&st, "202512", Some("MAYBE"), AOC), ["E7621"]);
        assert_eq!(codes(&st, "202512", None, AOC), ["E7621"]);
        // E7641: with 0 open future periods, the current month is closed.
        let st = state(json!({}), json!({}));
        assert!(codes(&st, "202512", Some("x"), AOC).is_empty());
        assert_eq!(codes(&st, "202601", Some("x"), AOC), ["E7641"]);
        let st = state(json!({"openFuturePeriods": 1}), json!({}));
        assert!(codes(&st, "202601", Some("x"), AOC).is_empty());
        // E7643: input periods listed and none open for the period today.
        let st = state(
            json!({"dataInputPeriods": [{"period": {"id": "202511"}, "openingDate": "2025-12-01", "closingDate": "2025-12-31"}]}),
            json!({}),
        );
        assert_eq!(
            codes(&st, "202511", Some("x"), AOC),
            ["E7643"],
            "closed since 2025-12-31"
        );
        assert_eq!(
            codes(&st, "202510", Some("x"), AOC),
            ["E7643"],
            "no input period for it"
        );
        // E7640: expired unless the user may edit expired periods.
        let st = state(json!({"expiryDays": 20}), json!({}));
        assert_eq!(codes(&st, "202511", Some("x"), AOC), ["E7640"]);
        assert!(
            codes(&st, "202512", Some("x"), AOC).is_empty(),
            "2025-12-31 + 20 days is not past"
        );
    }

    /// checkDataValueNotAlreadyApproved runs after E7640/E7641 and before
    /// E7643, raises one E7642 per approved target data set (strict, the
    /// stock setting) and is skipped by `force` like every data set check.
    #[test]
    fn approved_periods_after_expiry_and_future_checks() {
        let approved = vec!["202511".to_string()];
        let st = state(json!({}), json!({}));
        assert_eq!(
            codes_approved(&st, "202511", Some("x"), AOC, &approved),
            ["E7642"]
        );
        assert!(codes_approved(&st, "202510", Some("x"), AOC, &approved).is_empty());
        assert!(
            codes(&st, "202511", Some("x"), AOC).is_empty(),
            "no approved periods: no workflow"
        );
        let expired = state(json!({"expiryDays": 20}), json!({}));
        assert_eq!(
            codes_approved(&expired, "202511", Some("x"), AOC, &approved),
            ["E7640"],
            "the expiry check comes first"
        );
        let future = vec!["202601".to_string()];
        assert_eq!(
            codes_approved(&st, "202601", Some("x"), AOC, &future),
            ["E7641"],
            "the future period check comes first"
        );

        // A second data set with the same element and org unit: both approved.
        let mut st = state(json!({}), json!({}));
        put(
            &mut st,
            MetaType::DataSet,
            json!({"id": "ds2", "periodType": "Monthly", "openFuturePeriods": 0,
                "categoryCombo": {"id": defaults::CATEGORY_COMBO},
                "dataSetElements": [{"dataElement": {"id": "de"}}], "organisationUnits": [{"id": "ou"}]}),
        );
        let mut cx = Context {
            state: &st,
            today: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
            edit_expired: false,
            force: false,
            data_set: None,
            strict_org_units: false,
            approvals: Approvals::new(&approved),
        };
        let v = Checked {
            de: "de",
            pe: "202511",
            ou: "ou",
            aoc: AOC,
            value: Some("x"),
        };
        let found = check(&cx, &v);
        assert_eq!(found.len(), 2, "one per data set: {found:?}");
        assert_eq!(
            found[0],
            Issue {
                code: "E7642",
                objects: vec![
                    ("organisationUnit", "ou".to_string()),
                    ("period", "202511".to_string()),
                    ("categoryOptionCombo", AOC.to_string()),
                    ("dataSet", "ds".to_string()),
                ],
                property: None,
                message: format!(
                    "Data already approved for data set: `ds` period: `202511` org unit: `ou` attribute option combo: `{AOC}`"
                ),
            }
        );
        assert_eq!(found[1].objects[3], ("dataSet", "ds2".to_string()));
        cx.data_set = Some("ds2");
        assert_eq!(check(&cx, &v).len(), 1, "the payload's data set only");
        cx.force = true;
        assert!(check(&cx, &v).is_empty(), "force skips the data set checks");
    }

    #[test]
    fn attribute_option_combo_range_and_org_units() {
        let mut st = state(json!({}), json!({}));
        put(
            &mut st,
            MetaType::CategoryOption,
            json!({"id": "co", "startDate": "2025-06-01", "endDate": "2025-08-31",
            "organisationUnits": [{"id": "root"}]}),
        );
        put(
            &mut st,
            MetaType::CategoryOptionCombo,
            json!({"id": "aoc", "categoryOptions": [{"id": "co"}]}),
        );
        assert_eq!(codes(&st, "202505", Some("x"), "aoc"), ["E7638"]);
        assert_eq!(codes(&st, "202509", Some("x"), "aoc"), ["E7638"]);
        put(
            &mut st,
            MetaType::CategoryOption,
            json!({"id": "co", "organisationUnits": [{"id": "other"}]}),
        );
        assert_eq!(
            codes(&st, "202507", Some("x"), "aoc"),
            ["E7639"],
            "ou is not under `other`"
        );
        put(
            &mut st,
            MetaType::CategoryOption,
            json!({"id": "co", "organisationUnits": [{"id": "root"}]}),
        );
        assert!(
            codes(&st, "202507", Some("x"), "aoc").is_empty(),
            "ou is under `root`"
        );
    }

    #[test]
    fn value_types_as_dhis2_checks_them() {
        let z = "INTEGER_ZERO_OR_POSITIVE";
        assert_eq!(value_error(Some("0"), z), None);
        assert_eq!(value_error(Some("12"), z), None);
        assert_eq!(
            value_error(Some("-1"), z),
            Some("value_not_zero_or_positive_integer")
        );
        assert_eq!(
            value_error(Some("007"), z),
            Some("value_not_zero_or_positive_integer")
        );
        assert_eq!(
            value_error(Some("abc"), z),
            Some("value_not_zero_or_positive_integer")
        );
        assert_eq!(
            value_error(Some("99999999999"), z),
            Some("value_not_zero_or_positive_integer"),
            "past a Java int"
        );
        assert_eq!(value_error(None, z), None, "no value: nothing to check");
        assert_eq!(value_error(Some("  "), z), None);
        assert_eq!(value_error(Some("1.5"), "NUMBER"), None);
        assert_eq!(value_error(Some("x"), "NUMBER"), Some("value_not_numeric"));
        assert_eq!(value_error(Some("TRUE"), "BOOLEAN"), None);
        assert_eq!(value_error(Some("yes"), "BOOLEAN"), Some("value_not_bool"));
        assert_eq!(value_error(Some("anything"), "TEXT"), None);
    }

    #[test]
    fn latest_open_period_moves_back_one_then_forward() {
        let mut ds = serde_json::Map::new();
        ds.insert("periodType".into(), "Monthly".into());
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let at = |open| latest_open_period_end(&ds, today, open).unwrap().0;
        assert_eq!(at(0), "202512", "0 open periods: the current one is closed");
        assert_eq!(at(1), "202601");
        assert_eq!(at(13), "202701");
    }
}
