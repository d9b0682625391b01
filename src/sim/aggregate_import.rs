//! `POST /api/dataValueSets`: reference checks with DHIS2's conflict codes,
//! strategies, soft deletes, dry runs and the ImportSummary (wrapped or plain).

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::datavalues::{Applied, DataValueStore, Incoming};
use super::model::{MetaType, defaults};
use super::path::VersionedPath;
use super::query::{Params, bump};
use super::response::{bad_request, json_response};
use super::state::SimState;
use super::strategy::{Binding, IMPORT_STRATEGIES, Strategy};
use super::{Shared, clock, import_validation, task_api};

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
    stored_by: Option<String>,
    created: Option<String>,
    last_updated: Option<String>,
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
    /// Omitted from the JSON when None (ImportConflict is `@JsonInclude(NON_NULL)`).
    property: Option<&'static str>,
    index: usize,
}

/// Conflicts as DHIS2 reports them: one per (code, objects), with the indexes
/// of every value it refused (2.41.3 dxf2/importsummary/ImportSummary.addConflict
/// groups by ImportConflict.getGroupingKey).
#[derive(Default)]
struct Conflicts {
    groups: Vec<(Conflict, Vec<usize>)>,
    by_key: std::collections::HashMap<String, usize>,
}

impl Conflicts {
    fn add(&mut self, c: Conflict) {
        let key = format!("{}:{}", c.code, c.objects);
        match self.by_key.get(&key) {
            Some(&i) => self.groups[i].1.push(c.index),
            None => {
                self.by_key.insert(key, self.groups.len());
                let index = c.index;
                self.groups.push((c, vec![index]));
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
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
    let strategy = match Strategy::read(
        &params,
        IMPORT_STRATEGIES,
        Binding::bound(sim.version().minor()),
    ) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    let dry_run = params.flag("dryRun") == Some(true);
    let now = clock::to_millis(clock::now());
    let user = sim.opts.username.clone();
    let today = clock::now().date();
    // PR 14415 (in 2.41.0): payload `created`/`lastUpdated` are ignored from 2.41 on.
    let keeps_payload_times = sim.version().minor() < 41;
    let mut counts = [0u64; 4]; // imported, updated, ignored, deleted
    let mut conflicts = Conflicts::default();
    let mut rejected: Vec<usize> = Vec::new();
    {
        let mut state = sim.write();
        if let Some(ds) = &set.data_set
            && !state.exists(MetaType::DataSet, ds)
        {
            drop(state);
            let mut c = Conflicts::default();
            c.add(Conflict {
                object: ds.clone(),
                objects: json!({"dataSet": ds}),
                value: format!("Data set not found or not accessible: `{ds}`"),
                code: "E7600",
                property: Some("dataSet"),
                index: 0,
            });
            return finish(
                &sim,
                &params,
                versioned.map(|e| e.0),
                "ERROR",
                [0, 0, set.data_values.len() as u64, 0],
                &c,
                &[],
                &format!("Data set not found or not accessible: `{ds}`"),
            );
        }
        let force = params.flag("force") == Some(true) && sim.opts.has_authority("ALL");
        for (index, v) in set.data_values.iter().enumerate() {
            let value = v.value.as_ref().and_then(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            });
            let checked = resolve(&mut state, &set, v, index).and_then(|key| {
                let cx = import_validation::Context {
                    state: &state,
                    today,
                    edit_expired: sim.opts.has_authority("F_EDIT_EXPIRED"),
                    force,
                    data_set: set.data_set.as_deref(),
                    strict_org_units: params.flag("strictOrganisationUnits") == Some(true),
                    approvals: import_validation::approvals::Approvals::new(
                        &sim.opts.approved_periods,
                    ),
                };
                let found =
                    import_validation::check(&cx, &checked_value(&state, &key, value.as_deref()));
                if found.is_empty() {
                    Ok(key)
                } else {
                    Err(found.into_iter().map(|i| from_issue(i, index)).collect())
                }
            });
            match checked {
                Err(found) => {
                    // DataValueSetImportValidator.skipDataValue: ignored once,
                    // rejected once, however many conflicts it raised.
                    counts[2] += 1;
                    rejected.push(index);
                    for c in found {
                        conflicts.add(c);
                    }
                }
                Ok(key) => {
                    // ImportContext.getStoredBy: the payload's, else the importing user.
                    let stored_by = v
                        .stored_by
                        .as_deref()
                        .filter(|s| !s.trim().is_empty())
                        .unwrap_or(&user);
                    let stamps = Stamps {
                        now,
                        created: payload_time(keeps_payload_times, v.created.as_deref()),
                        last_updated: payload_time(keeps_payload_times, v.last_updated.as_deref()),
                    };
                    let applied = match strategy {
                        Strategy::Delete => apply_one(
                            &mut state.data,
                            key,
                            None,
                            v,
                            true,
                            stored_by,
                            stamps,
                            dry_run,
                        ),
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
                            stored_by,
                            stamps,
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
        &rejected,
        message,
    )
}

/// The summary in a response, or (`async=true`) in a task for later polling.
#[allow(clippy::too_many_arguments)]
fn finish(
    sim: &Shared,
    params: &Params,
    versioned: Option<VersionedPath>,
    status: &str,
    counts: [u64; 4],
    conflicts: &Conflicts,
    rejected: &[usize],
    message: &str,
) -> Response {
    if params.flag("async") == Some(true) {
        let summary = summary_json(status, counts, conflicts, rejected, message, true);
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
    summary_response(sim, versioned, status, counts, conflicts, rejected, message)
}

/// The times a written value gets: now, or (2.39/2.40) the payload's.
#[derive(Clone, Copy)]
struct Stamps {
    now: i64,
    created: Option<i64>,
    last_updated: Option<i64>,
}

/// 2.40.5 DefaultDataValueSetService: `dataValue.hasCreated() ?
/// parseDate(dataValue.getCreated()) : now` (same for lastUpdated); 2.41.3
/// sets both to now.
fn payload_time(keeps: bool, t: Option<&str>) -> Option<i64> {
    keeps
        .then_some(t)
        .flatten()
        .and_then(clock::parse)
        .map(clock::to_millis)
}

/// The ids of a resolved value, for the checks after the references.
fn checked_value<'a>(
    state: &'a SimState,
    key: &super::datavalues::Key,
    value: Option<&'a str>,
) -> import_validation::Checked<'a> {
    let uid = |i: u32| state.data.uids.name(i);
    import_validation::Checked {
        de: uid(key[0]),
        pe: state.data.periods.name(key[1]),
        ou: uid(key[2]),
        aoc: uid(key[4]),
        value,
    }
}

fn from_issue(i: import_validation::Issue, index: usize) -> Conflict {
    let object = i.objects.first().map(|o| o.1.clone()).unwrap_or_default();
    let objects: serde_json::Map<String, Value> = i
        .objects
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    Conflict {
        object,
        objects: Value::Object(objects),
        value: i.message,
        code: i.code,
        property: i.property,
        index,
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_one(
    store: &mut DataValueStore,
    key: super::datavalues::Key,
    value: Option<&str>,
    v: &IncomingValue,
    delete: bool,
    stored_by: &str,
    stamps: Stamps,
    dry_run: bool,
) -> Applied {
    store.apply(
        &Incoming {
            key,
            value,
            comment: v.comment.as_deref(),
            followup: v.followup,
            delete,
            stored_by,
            at: stamps.now,
            created: stamps.created,
            last_updated: stamps.last_updated,
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
) -> Result<super::datavalues::Key, Vec<Conflict>> {
    let conflict = |object: &str, kind: &str, value: String, code, property| Conflict {
        object: object.to_string(),
        objects: json!({ kind: object }),
        value,
        code,
        property: Some(property),
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
            "Data element not found or not accessible",
            "E7610",
            "dataElement",
        ),
        (
            ou,
            MetaType::OrganisationUnit,
            "organisationUnit",
            "Organisation unit not found or not accessible",
            "E7612",
            "orgUnit",
        ),
        (
            coc,
            MetaType::CategoryOptionCombo,
            "categoryOptionCombo",
            "Category option combo not found or not accessible for writing data",
            "E7613",
            "categoryOptionCombo",
        ),
        (
            aoc,
            MetaType::CategoryOptionCombo,
            "categoryOptionCombo",
            "Attribute option combo not found or not accessible for writing data",
            "E7615",
            "attributeOptionCombo",
        ),
    ];
    for (id, ty, kind, what, code, property) in references {
        if !state.exists(ty, id) {
            let message = format!("{what}: `{id}`");
            return Err(vec![conflict(id, kind, message, code, property)]);
        }
    }
    if super::periods::period_range(pe).is_none() {
        return Err(vec![conflict(
            pe,
            "period",
            format!("Period not valid: `{pe}`"),
            "E7611",
            "period",
        )]);
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
    conflicts: &Conflicts,
    rejected: &[usize],
    message: &str,
    is_async: bool,
) -> Value {
    let conflicts_json: Vec<Value> = conflicts
        .groups
        .iter()
        .map(|(c, indexes)| {
            let mut conflict = json!({"object": c.object, "objects": c.objects, "value": c.value,
                                      "errorCode": c.code, "indexes": indexes});
            if let Some(property) = c.property {
                conflict["property"] = json!(property);
            }
            conflict
        })
        .collect();
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
    conflicts: &Conflicts,
    rejected: &[usize],
    message: &str,
) -> Response {
    let summary = summary_json(status, counts, conflicts, rejected, message, false);
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
