//! `/api/dataValueSets`: a streamed export (memory flat in its size) and the
//! import with conflicts, soft deletes and the ImportSummary.

use std::collections::HashSet;

use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::datavalues::{Applied, DataValueStore, Incoming};
use super::gate::VersionedPath;
use super::model::{MetaType, defaults};
use super::query::{Params, bump};
use super::response::{bad_request, conflict, json_response};
use super::state::SimState;
use super::strategy::Strategy;
use super::{Shared, clock, task_api};

/// Which values an export selects, resolved to interned ids.
struct Selection {
    data_elements: Vec<bool>,
    org_units: Vec<bool>,
    periods: Vec<bool>,
    /// `None`: every attribute option combo.
    attribute_option_combos: Option<Vec<bool>>,
    last_updated: Option<i64>,
    include_deleted: bool,
    limit: Option<usize>,
}

impl Selection {
    fn admits(&self, row: &super::datavalues::Row) -> bool {
        let flag = |v: &Vec<bool>, i: u32| v.get(i as usize).copied().unwrap_or(false);
        (self.include_deleted || !row.deleted)
            && flag(&self.data_elements, row.de())
            && flag(&self.org_units, row.ou())
            && flag(&self.periods, row.pe())
            && self
                .attribute_option_combos
                .as_ref()
                .is_none_or(|aocs| flag(aocs, row.key[4]))
            && self.last_updated.is_none_or(|t| row.last_updated >= t)
    }
}

/// Why an export query was refused: DHIS2 answers 409 with an error code for a
/// missing dimension and 400 for a malformed value.
enum Refusal {
    Conflict(String, &'static str),
    BadRequest(String),
}

impl Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Conflict(message, code) => conflict(&message, code),
            Self::BadRequest(message) => bad_request(&message),
        }
    }
}

fn parse_date(s: &str, key: &str) -> Result<NaiveDate, Refusal> {
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").map_err(|_| {
        Refusal::BadRequest(format!(
            "Invalid date `{s}` for parameter {key}: use yyyy-MM-dd"
        ))
    })
}

/// Validates the query as DHIS2 does (E2001/E2002/E2006) and resolves it.
fn select(state: &SimState, params: &Params) -> Result<Selection, Refusal> {
    let store = &state.data;
    let mut de_ids: HashSet<String> = params
        .all("dataElement")
        .into_iter()
        .map(str::to_string)
        .collect();
    for ds in params.all("dataSet") {
        if !state.exists(MetaType::DataSet, ds) {
            return Err(Refusal::Conflict(
                format!("Data set does not exist: `{ds}`"),
                "E2011",
            ));
        }
        de_ids.extend(state.member_ids(
            MetaType::DataSet,
            ds,
            "dataSetElements",
            Some("dataElement"),
        ));
    }
    for group in params.all("dataElementGroup") {
        de_ids.extend(state.member_ids(MetaType::DataElementGroup, group, "dataElements", None));
    }
    if params.all("dataSet").is_empty()
        && params.all("dataElementGroup").is_empty()
        && params.all("dataElement").is_empty()
    {
        return Err(Refusal::Conflict(
            "At least one data set, data element group or data element must be specified".into(),
            "E2001",
        ));
    }
    let mut ou_ids: HashSet<String> = HashSet::new();
    let children = params.flag("children") == Some(true);
    for ou in params.all("orgUnit") {
        if !state.exists(MetaType::OrganisationUnit, ou) {
            return Err(Refusal::Conflict(
                format!("Organisation unit does not exist: `{ou}`"),
                "E2013",
            ));
        }
        if children {
            ou_ids.extend(state.org_unit_subtree(ou));
        } else {
            ou_ids.insert(ou.to_string());
        }
    }
    for group in params.all("orgUnitGroup") {
        ou_ids.extend(state.member_ids(
            MetaType::OrganisationUnitGroup,
            group,
            "organisationUnits",
            None,
        ));
    }
    if params.all("orgUnit").is_empty() && params.all("orgUnitGroup").is_empty() {
        return Err(Refusal::Conflict(
            "At least one organisation unit or organisation unit group must be specified".into(),
            "E2006",
        ));
    }
    let periods: Vec<&str> = params.all("period");
    let range = match (params.get("startDate"), params.get("endDate")) {
        (Some(s), Some(e)) => Some((parse_date(s, "startDate")?, parse_date(e, "endDate")?)),
        _ => None,
    };
    let last_updated = match params.get("lastUpdated") {
        Some(t) => Some(clock::parse(t).ok_or_else(|| {
            Refusal::BadRequest(format!("Invalid date `{t}` for parameter lastUpdated"))
        })?),
        None => match params.get("lastUpdatedDuration") {
            Some(d) => Some(clock::now() - parse_dhis2_duration(d)?),
            None => None,
        },
    };
    if periods.is_empty() && range.is_none() && last_updated.is_none() {
        return Err(Refusal::Conflict("At least one period, start/end dates, last updated or last updated duration must be specified".into(), "E2002"));
    }
    let mut period_flags = vec![false; store.periods.len()];
    for (i, flag) in period_flags.iter_mut().enumerate() {
        let iso = store.periods.name(i as u32);
        *flag = if !periods.is_empty() {
            periods.contains(&iso)
        } else if let Some((start, end)) = range {
            store
                .period_range(i as u32)
                .is_some_and(|(ps, pe)| ps >= start && pe <= end)
        } else {
            true
        };
    }
    let flags = |ids: &HashSet<String>| {
        let mut v = vec![false; store.uids.len()];
        for id in ids {
            if let Some(i) = store.uids.get(id) {
                v[i as usize] = true;
            }
        }
        v
    };
    let aocs: HashSet<String> = params
        .all("attributeOptionCombo")
        .into_iter()
        .map(str::to_string)
        .collect();
    Ok(Selection {
        data_elements: flags(&de_ids),
        org_units: flags(&ou_ids),
        periods: period_flags,
        attribute_option_combos: (!aocs.is_empty()).then(|| flags(&aocs)),
        last_updated: last_updated.map(clock::to_millis),
        include_deleted: params.flag("includeDeleted") == Some(true),
        limit: params
            .number("limit")
            .map_err(Refusal::BadRequest)?
            .map(|l| l as usize),
    })
}

/// `10d`, `6h`, `30m`, `90s`.
fn parse_dhis2_duration(s: &str) -> Result<chrono::Duration, Refusal> {
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| {
        Refusal::BadRequest(format!("Invalid duration `{s}`: use 10d, 6h, 30m or 90s"))
    })?;
    Ok(match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        "s" => chrono::Duration::seconds(n),
        _ => {
            return Err(Refusal::BadRequest(format!(
                "Invalid duration `{s}`: use 10d, 6h, 30m or 90s"
            )));
        }
    })
}

const CHUNK_VALUES: usize = 2_000;
const CHUNK_SCAN: usize = 50_000;

/// Streams `{"dataValues":[...]}`, taking the lock for one chunk at a time so a
/// large export neither holds the store nor builds one huge string.
pub async fn export(State(sim): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref());
    let selection = match select(&sim.read(), &params) {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    struct Cursor {
        next_row: usize,
        emitted: usize,
        done: bool,
        started: bool,
    }
    let cursor = Cursor {
        next_row: 0,
        emitted: 0,
        done: false,
        started: false,
    };
    let stream =
        futures_util::stream::unfold((cursor, sim, selection), |(mut c, sim, sel)| async move {
            if c.done {
                return None;
            }
            let mut out = String::with_capacity(CHUNK_VALUES * 200);
            if !c.started {
                out.push_str("{\"dataValues\":[");
                c.started = true;
            }
            let count_before = c.emitted;
            {
                let state = sim.read();
                let store = &state.data;
                let limit = sel.limit.unwrap_or(usize::MAX);
                let end = (c.next_row + CHUNK_SCAN).min(store.rows.len());
                while c.next_row < end
                    && c.emitted - count_before < CHUNK_VALUES
                    && c.emitted < limit
                {
                    let row = &store.rows[c.next_row];
                    c.next_row += 1;
                    if sel.admits(row) {
                        if c.emitted > 0 {
                            out.push(',');
                        }
                        store.write_json(row, &mut out);
                        c.emitted += 1;
                    }
                }
                if c.next_row >= store.rows.len() || c.emitted >= limit {
                    out.push_str("]}");
                    c.done = true;
                }
            }
            bump(
                &mut sim.stats().objects_returned,
                "dataValues",
                (c.emitted - count_before) as u64,
            );
            Some((Ok::<_, std::io::Error>(Bytes::from(out)), (c, sim, sel)))
        });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataValueSet {
    data_set: Option<String>,
    period: Option<String>,
    org_unit: Option<String>,
    attribute_option_combo: Option<String>,
    #[serde(default)]
    data_values: Vec<IncomingValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IncomingValue {
    data_element: Option<String>,
    period: Option<String>,
    org_unit: Option<String>,
    category_option_combo: Option<String>,
    attribute_option_combo: Option<String>,
    value: Option<Value>,
    comment: Option<String>,
    #[serde(default)]
    followup: bool,
    #[serde(default)]
    deleted: bool,
}

struct Conflict {
    object: String,
    objects: Value,
    value: String,
    code: &'static str,
    property: &'static str,
    index: usize,
}

pub async fn import(
    State(sim): State<Shared>,
    versioned: Option<Extension<VersionedPath>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(q.as_deref());
    let set: DataValueSet = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(&format!("JSON parse error: {e}")),
    };
    let strategy = match Strategy::from_params(&params) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    let dry_run = params.flag("dryRun") == Some(true);
    let now = clock::to_millis(clock::now());
    let user = sim.opts.username.clone();
    let mut counts = [0u64; 4]; // imported, updated, ignored, deleted
    let mut conflicts: Vec<Conflict> = Vec::new();
    {
        let mut state = sim.write();
        if let Some(ds) = &set.data_set
            && !state.exists(MetaType::DataSet, ds)
        {
            drop(state);
            return finish(
                &sim,
                &params,
                versioned.map(|e| e.0),
                "ERROR",
                [0, 0, set.data_values.len() as u64, 0],
                &[Conflict {
                    object: ds.clone(),
                    objects: json!({"dataSet": ds}),
                    value: format!("Data set not found or not accessible: `{ds}`"),
                    code: "E7600",
                    property: "dataSet",
                    index: 0,
                }],
                &format!("Data set not found or not accessible: `{ds}`"),
            );
        }
        let assigned: Option<HashSet<String>> = set.data_set.as_ref().map(|ds| {
            state
                .member_ids(MetaType::DataSet, ds, "organisationUnits", None)
                .into_iter()
                .collect()
        });
        for (index, v) in set.data_values.iter().enumerate() {
            match resolve(&mut state, &set, v, index, assigned.as_ref()) {
                Err(c) => {
                    counts[2] += 1;
                    conflicts.push(c);
                }
                Ok(key) => {
                    let value = v.value.as_ref().map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    let applied = match strategy {
                        Strategy::Delete => {
                            apply_one(&mut state.data, key, None, v, true, &user, now, dry_run)
                        }
                        Strategy::Create if state.data.get(&key).is_some_and(|r| !r.deleted) => {
                            Applied::Ignored
                        }
                        Strategy::Update if state.data.get(&key).is_none_or(|r| r.deleted) => {
                            Applied::Ignored
                        }
                        _ => apply_one(
                            &mut state.data,
                            key,
                            value.as_deref(),
                            v,
                            v.deleted,
                            &user,
                            now,
                            dry_run,
                        ),
                    };
                    let slot = match applied {
                        Applied::Imported => 0,
                        Applied::Updated => 1,
                        Applied::Ignored => 2,
                        Applied::Deleted => 3,
                    };
                    counts[slot] += 1;
                }
            }
        }
    }
    if !dry_run {
        bump(
            &mut sim.stats().objects_imported,
            "dataValues",
            counts[0] + counts[1] + counts[3],
        );
    }
    let status = if conflicts.is_empty() {
        "SUCCESS"
    } else {
        "WARNING"
    };
    let message = if conflicts.is_empty() {
        "Import was successful."
    } else {
        "Import finished with conflicts."
    };
    finish(
        &sim,
        &params,
        versioned.map(|e| e.0),
        status,
        counts,
        &conflicts,
        message,
    )
}

/// The summary in a response, or (`async=true`) in a task for later polling.
fn finish(
    sim: &Shared,
    params: &Params,
    versioned: Option<VersionedPath>,
    status: &str,
    counts: [u64; 4],
    conflicts: &[Conflict],
    message: &str,
) -> Response {
    if params.flag("async") == Some(true) {
        let summary = summary_json(status, counts, conflicts, message, true);
        let steps = [
            "Process started".to_string(),
            "Importing data values".to_string(),
            format!(
                "Import done, {} imported, {} updated, {} ignored, {} deleted",
                counts[0], counts[1], counts[2], counts[3]
            ),
        ];
        return task_api::start(sim, "DATAVALUE_IMPORT", summary, &steps);
    }
    summary_response(sim, versioned, status, counts, conflicts, message)
}

#[allow(clippy::too_many_arguments)]
fn apply_one(
    store: &mut DataValueStore,
    key: super::datavalues::Key,
    value: Option<&str>,
    v: &IncomingValue,
    delete: bool,
    user: &str,
    now: i64,
    dry_run: bool,
) -> Applied {
    store.apply(
        &Incoming {
            key,
            value,
            comment: v.comment.as_deref(),
            followup: v.followup,
            delete,
            stored_by: user,
            at: now,
        },
        dry_run,
    )
}

/// Checks one value's references and resolves it to a store key.
fn resolve(
    state: &mut SimState,
    set: &DataValueSet,
    v: &IncomingValue,
    index: usize,
    assigned: Option<&HashSet<String>>,
) -> Result<super::datavalues::Key, Conflict> {
    let conflict = |object: &str, kind: &str, value: String, code, property| Conflict {
        object: object.to_string(),
        objects: json!({ kind: object }),
        value,
        code,
        property,
        index,
    };
    let de = v.data_element.as_deref().unwrap_or("");
    if !state.exists(MetaType::DataElement, de) {
        return Err(conflict(
            de,
            "dataElement",
            format!("Data element not found or not accessible: `{de}`"),
            "E7610",
            "dataElement",
        ));
    }
    let pe = v.period.as_deref().or(set.period.as_deref()).unwrap_or("");
    if super::periods::period_range(pe).is_none() {
        return Err(conflict(
            pe,
            "period",
            format!("Period not valid: `{pe}`"),
            "E7611",
            "period",
        ));
    }
    let ou = v
        .org_unit
        .as_deref()
        .or(set.org_unit.as_deref())
        .unwrap_or("");
    if !state.exists(MetaType::OrganisationUnit, ou) {
        return Err(conflict(
            ou,
            "organisationUnit",
            format!("Organisation unit not found or not accessible: `{ou}`"),
            "E7612",
            "orgUnit",
        ));
    }
    let coc = v
        .category_option_combo
        .as_deref()
        .unwrap_or(defaults::CATEGORY_OPTION_COMBO);
    if !state.exists(MetaType::CategoryOptionCombo, coc) {
        return Err(conflict(
            coc,
            "categoryOptionCombo",
            format!("Category option combo not found or not accessible for writing data: `{coc}`"),
            "E7613",
            "categoryOptionCombo",
        ));
    }
    let aoc = v
        .attribute_option_combo
        .as_deref()
        .or(set.attribute_option_combo.as_deref())
        .unwrap_or(defaults::CATEGORY_OPTION_COMBO);
    if !state.exists(MetaType::CategoryOptionCombo, aoc) {
        return Err(conflict(
            aoc,
            "categoryOptionCombo",
            format!("Attribute option combo not found or not accessible for writing data: `{aoc}`"),
            "E7614",
            "attributeOptionCombo",
        ));
    }
    if let Some(assigned) = assigned
        && !assigned.contains(ou)
    {
        return Err(conflict(
            ou,
            "organisationUnit",
            format!(
                "Organisation unit: `{ou}` not assigned to data set: `{}`",
                set.data_set.as_deref().unwrap_or("")
            ),
            "E7617",
            "orgUnit",
        ));
    }
    let data = &mut state.data;
    let key = [
        data.uids.intern(de),
        data.intern_period(pe),
        data.uids.intern(ou),
        data.uids.intern(coc),
        data.uids.intern(aoc),
    ];
    Ok(key)
}

/// The plain ImportSummary.
fn summary_json(
    status: &str,
    counts: [u64; 4],
    conflicts: &[Conflict],
    message: &str,
    is_async: bool,
) -> Value {
    let conflicts_json: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({"object": c.object, "objects": c.objects, "value": c.value, "errorCode": c.code,
                        "property": c.property, "indexes": [c.index]})
        })
        .collect();
    let rejected: Vec<usize> = conflicts.iter().map(|c| c.index).collect();
    json!({
        "responseType": "ImportSummary",
        "status": status,
        "importOptions": {"idSchemes": {}, "async": is_async},
        "description": message,
        "importCount": {"imported": counts[0], "updated": counts[1], "ignored": counts[2], "deleted": counts[3]},
        "conflicts": conflicts_json,
        "rejectedIndexes": rejected,
        "dataSetComplete": "false",
    })
}

fn summary_response(
    sim: &Shared,
    versioned: Option<VersionedPath>,
    status: &str,
    counts: [u64; 4],
    conflicts: &[Conflict],
    message: &str,
) -> Response {
    let summary = summary_json(status, counts, conflicts, message, false);
    let plain = versioned.is_some_and(|v| v.0 <= 37) && sim.version().minor() <= 41;
    if plain {
        return json_response(StatusCode::OK, &summary);
    }
    let code = if status == "SUCCESS" {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    let outer = if status == "SUCCESS" { "OK" } else { status };
    json_response(
        code,
        &json!({"httpStatus": code.canonical_reason().unwrap_or(""), "httpStatusCode": code.as_u16(),
                "status": outer, "message": message, "response": summary}),
    )
}
