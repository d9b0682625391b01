//! `POST /api/dataValueSets`: reference checks with DHIS2's conflict codes,
//! strategies, soft deletes, dry runs and the ImportSummary (wrapped or plain).

use std::collections::HashSet;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::datavalues::{Applied, DataValueStore, Incoming};
use super::gate::VersionedPath;
use super::model::{MetaType, defaults};
use super::query::{Params, bump};
use super::response::{bad_request, json_response};
use super::state::SimState;
use super::strategy::Strategy;
use super::{Shared, clock, task_api};

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
    let pe = v.period.as_deref().or(set.period.as_deref()).unwrap_or("");
    let ou = v
        .org_unit
        .as_deref()
        .or(set.org_unit.as_deref())
        .unwrap_or("");
    let coc = v
        .category_option_combo
        .as_deref()
        .unwrap_or(defaults::CATEGORY_OPTION_COMBO);
    let aoc = v
        .attribute_option_combo
        .as_deref()
        .or(set.attribute_option_combo.as_deref())
        .unwrap_or(defaults::CATEGORY_OPTION_COMBO);
    // (id, type, `objects` key, what, conflict code, property), in DHIS2's check order.
    let references = [
        (
            de,
            MetaType::DataElement,
            "dataElement",
            "Data element",
            "E7610",
            "dataElement",
        ),
        (
            ou,
            MetaType::OrganisationUnit,
            "organisationUnit",
            "Organisation unit",
            "E7612",
            "orgUnit",
        ),
        (
            coc,
            MetaType::CategoryOptionCombo,
            "categoryOptionCombo",
            "Category option combo",
            "E7613",
            "categoryOptionCombo",
        ),
        (
            aoc,
            MetaType::CategoryOptionCombo,
            "categoryOptionCombo",
            "Attribute option combo",
            "E7614",
            "attributeOptionCombo",
        ),
    ];
    for (id, ty, kind, what, code, property) in references {
        if !state.exists(ty, id) {
            let message = format!("{what} not found or not accessible: `{id}`");
            return Err(conflict(id, kind, message, code, property));
        }
    }
    if super::periods::period_range(pe).is_none() {
        return Err(conflict(
            pe,
            "period",
            format!("Period not valid: `{pe}`"),
            "E7611",
            "period",
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
    let plain = VersionedPath::wants_plain_report(versioned, sim.version());
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
