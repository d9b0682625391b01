//! `POST /api/metadata`: strategies, atomic modes, VALIDATE dry runs, reference
//! checks (E5002) and the ImportReport in its wrapped (2.38+) and plain forms.

use std::collections::{HashMap, HashSet};

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::model::{MetaType, is_valid_uid, new_uid, referenced_ids};
use super::path::VersionedPath;
use super::query::{Params, bump};
use super::response::{bad_request, json_response};
use super::state::SimState;
use super::strategy::{self, Strategy};
use super::{Shared, clock, task_api};

#[derive(Copy, Clone, PartialEq, Eq)]
enum Action {
    Create,
    Update,
    Delete,
}

struct ObjectReport {
    index: usize,
    uid: String,
    display_name: Option<String>,
    action: Action,
    errors: Vec<Value>,
}

struct Options {
    strategy: Strategy,
    atomic_all: bool,
    validate_only: bool,
    full_report: bool,
    /// `skipSharing=true`: sharing is neither checked nor taken (dhis2-core
    /// 2.41.3 ReferencesCheck.checkReferences, IdentifiableObjectBundleHook.handleSkipSharing).
    skip_sharing: bool,
}

/// Exact names, anything else silently the default (see `strategy`).
fn options(params: &Params) -> Options {
    let read = |key, values, default| strategy::exact_or_default(params, key, values, default);
    let report = read(
        "importReportMode",
        &["ERRORS", "FULL", "DEBUG", "ERRORS_NOT_OWNER"],
        "ERRORS",
    );
    Options {
        strategy: Strategy::exact_or_default(params),
        atomic_all: read("atomicMode", &["ALL", "NONE"], "ALL") == "ALL",
        validate_only: read("importMode", &["COMMIT", "VALIDATE"], "COMMIT") == "VALIDATE",
        full_report: matches!(report, "FULL" | "DEBUG"),
        // Booleans: `"true".equals(value.toLowerCase())`.
        skip_sharing: params.flag("skipSharing") == Some(true),
    }
}

fn error_report(
    code: &str,
    message: String,
    main_klass: MetaType,
    main_id: &str,
    extra: Value,
) -> Value {
    let mut report = json!({
        "message": message,
        "mainKlass": main_klass.klass(),
        "errorCode": code,
        "mainId": main_id,
    });
    if let (Value::Object(r), Value::Object(e)) = (&mut report, extra) {
        r.extend(e);
    }
    report
}

pub async fn import(
    State(sim): State<Shared>,
    versioned: Option<Extension<VersionedPath>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(q.as_deref());
    let opts = options(&params);
    let payload: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad_request("JSON parse error: expected an object of metadata arrays"),
        Err(e) => return bad_request(&format!("JSON parse error: {e}")),
    };
    let mut payload_types: Vec<(MetaType, Vec<Map<String, Value>>)> = Vec::new();
    for ty in MetaType::ALL {
        if let Some(items) = payload.get(ty.plural()).and_then(Value::as_array) {
            let objects = items
                .iter()
                .filter_map(|v| v.as_object().cloned())
                .collect();
            payload_types.push((ty, objects));
        }
    }
    let now = clock::now();
    let reports = {
        let mut state = sim.write();
        // Objects without an id get one, as DHIS2 generates UIDs on create.
        sim.random(|rng| {
            for (_, objects) in &mut payload_types {
                for obj in objects.iter_mut().filter(|o| !o.contains_key("id")) {
                    obj.insert("id".into(), Value::String(new_uid(rng)));
                }
            }
        });
        let reports = validate(&state, &payload_types, opts.strategy, opts.skip_sharing);
        let has_errors = reports.iter().flatten().any(|r| !r.errors.is_empty());
        let rejected = opts.atomic_all && has_errors;
        let commit = !opts.validate_only && !rejected;
        if commit {
            apply(
                &mut state,
                &payload_types,
                &reports,
                now,
                &sim.opts.username,
                opts.skip_sharing,
            );
            for ((ty, _), objs) in payload_types.iter().zip(&reports) {
                let n = objs.iter().filter(|r| r.errors.is_empty()).count() as u64;
                bump(&mut sim.stats().objects_imported, ty.plural(), n);
            }
        }
        reports
    };
    let report = core_report(&opts, &payload_types, &reports);
    if params.flag("async") == Some(true) {
        // The summary of an async import is the plain report.
        let plain = with_import_params(report, &opts);
        let stats = &plain["stats"];
        let steps = [
            "Import:Start".to_string(),
            format!(
                "Import:Done, status {}, {} created, {} updated, {} deleted, {} ignored",
                plain["status"].as_str().unwrap_or("OK"),
                stats["created"],
                stats["updated"],
                stats["deleted"],
                stats["ignored"]
            ),
        ];
        return task_api::start(&sim, "METADATA_IMPORT", plain, &steps);
    }
    render(&sim, versioned.map(|e| e.0), &opts, report)
}

fn validate(
    state: &SimState,
    payload: &[(MetaType, Vec<Map<String, Value>>)],
    strategy: Strategy,
    skip_sharing: bool,
) -> Vec<Vec<ObjectReport>> {
    let in_payload: HashMap<MetaType, HashSet<&str>> = payload
        .iter()
        .map(|(ty, objs)| {
            (
                *ty,
                objs.iter()
                    .filter_map(|o| o.get("id").and_then(Value::as_str))
                    .collect(),
            )
        })
        .collect();
    let deleting: HashSet<(MetaType, &str)> = if strategy == Strategy::Delete {
        in_payload
            .iter()
            .flat_map(|(ty, ids)| ids.iter().map(move |id| (*ty, *id)))
            .collect()
    } else {
        HashSet::new()
    };
    payload
        .iter()
        .map(|(ty, objects)| {
            objects
                .iter()
                .enumerate()
                .map(|(index, obj)| {
                    let uid = obj.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                    let exists = state.exists(*ty, &uid);
                    let action = match (strategy, exists) {
                        (Strategy::Delete, _) => Action::Delete,
                        (_, true) => Action::Update,
                        (_, false) => Action::Create,
                    };
                    let mut errors = Vec::new();
                    if !is_valid_uid(&uid) {
                        errors.push(error_report(
                            "E4014",
                            format!("Invalid UID `{uid}` for property `{}`", ty.singular()),
                            *ty,
                            &uid,
                            json!({"errorProperty": "id", "value": uid}),
                        ));
                    }
                    match (strategy, exists) {
                        (Strategy::Create, true) => errors.push(error_report(
                            "E5000",
                            format!(
                                "Found matching object for reference, but import mode is CREATE. Identifier was {uid}, klass was {}",
                                ty.klass()
                            ),
                            *ty,
                            &uid,
                            json!({}),
                        )),
                        (Strategy::Update | Strategy::Delete, false) => errors.push(error_report(
                            "E5001",
                            format!("No matching object for reference. Identifier was {uid}, and object was {}.", ty.klass()),
                            *ty,
                            &uid,
                            json!({}),
                        )),
                        _ => {}
                    }
                    if strategy == Strategy::Delete {
                        if exists
                            && let Some((by_ty, by_id)) = referenced_by(state, *ty, &uid, &deleting) {
                                errors.push(error_report(
                                    "E4030",
                                    format!(
                                        "Object could not be deleted because it is associated with another object: {} {by_id}",
                                        by_ty.short_klass()
                                    ),
                                    *ty,
                                    &uid,
                                    json!({}),
                                ));
                            }
                    } else {
                        let needs_name = !matches!(ty, MetaType::CategoryOptionCombo);
                        if needs_name && obj.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                            errors.push(error_report(
                                "E4000",
                                "Missing required property `name`.".into(),
                                *ty,
                                &uid,
                                json!({"errorProperty": "name", "errorProperties": ["name"]}),
                            ));
                        }
                        let mut refs = referenced_ids(*ty, obj);
                        refs.extend(side_references(*ty, obj, skip_sharing));
                        for (field, target, id) in refs {
                            let known = state.exists(target, &id)
                                || in_payload.get(&target).is_some_and(|ids| ids.contains(id.as_str()));
                            if !known {
                                errors.push(error_report(
                                    "E5002",
                                    format!(
                                        "Invalid reference [{id}] ({}) on object {uid} ({}) for association `{field}`",
                                        target.short_klass(),
                                        ty.short_klass()
                                    ),
                                    *ty,
                                    &uid,
                                    json!({"errorKlass": target.klass(), "errorProperty": field,
                                           "errorProperties": [id, target.short_klass(), uid, ty.short_klass(), field],
                                           "value": id}),
                                ));
                            }
                        }
                    }
                    ObjectReport {
                        index,
                        uid,
                        display_name: obj.get("name").and_then(Value::as_str).map(str::to_string),
                        action,
                        errors,
                    }
                })
                .collect()
        })
        .collect()
}

/// What `ReferencesCheck` (dhis2-core 2.41.3, dxf2/metadata/objectbundle/validation/
/// ReferencesCheck.java) checks besides owned references: the attribute of
/// every `attributeValues` entry (always: skipSharing does not skip it), and
/// unless `skipSharing`, the users (`userAccesses`) and user groups
/// (`userGroupAccesses`) named in `sharing`. The owner is not checked.
fn side_references(
    ty: MetaType,
    obj: &Map<String, Value>,
    skip_sharing: bool,
) -> Vec<(&'static str, MetaType, String)> {
    let mut out = Vec::new();
    if ty.has_attribute_values() {
        for av in obj
            .get("attributeValues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = av.pointer("/attribute/id").and_then(Value::as_str) {
                out.push(("attributeValues", MetaType::Attribute, id.to_string()));
            }
        }
    }
    if ty.has_sharing()
        && !skip_sharing
        && let Some(sharing) = obj.get("sharing")
    {
        for (key, field, target) in [
            ("userGroups", "userGroupAccesses", MetaType::UserGroup),
            ("users", "userAccesses", MetaType::User),
        ] {
            for (id, access) in sharing
                .get(key)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let id = access.get("id").and_then(Value::as_str).unwrap_or(id);
                out.push((field, target, id.to_string()));
            }
        }
    }
    out
}

/// The first object (not itself being deleted) that still points at `id`.
fn referenced_by(
    state: &SimState,
    ty: MetaType,
    id: &str,
    deleting: &HashSet<(MetaType, &str)>,
) -> Option<(MetaType, String)> {
    for owner in MetaType::ALL {
        if !owner.references().iter().any(|r| r.target == ty) {
            continue;
        }
        for (oid, obj) in state.meta(owner) {
            if deleting.contains(&(owner, oid.as_str())) {
                continue;
            }
            // Memberships in the other direction are owned here: options name their set,
            // stages their program; deleting the owner side first is what DHIS2 expects.
            if referenced_ids(owner, &obj.body)
                .iter()
                .any(|(_, t, rid)| *t == ty && rid == id)
            {
                return Some((owner, oid.clone()));
            }
        }
    }
    None
}

fn apply(
    state: &mut SimState,
    payload: &[(MetaType, Vec<Map<String, Value>>)],
    reports: &[Vec<ObjectReport>],
    now: chrono::NaiveDateTime,
    user: &str,
    skip_sharing: bool,
) {
    let deletes = reports.iter().flatten().any(|r| r.action == Action::Delete);
    let mut order: Vec<usize> = (0..payload.len()).collect();
    if deletes {
        // Delete dependants before what they depend on.
        order.reverse();
    }
    for i in order {
        let (ty, objects) = &payload[i];
        let mut pending: Vec<(&Map<String, Value>, &ObjectReport)> = objects
            .iter()
            .zip(&reports[i])
            .filter(|(_, r)| r.errors.is_empty())
            .collect();
        if *ty == MetaType::OrganisationUnit {
            // Parents first, so that path and level derive from a stored parent.
            pending.sort_by_key(|(o, _)| depth_in_payload(o, objects));
        }
        for (obj, report) in pending {
            match report.action {
                Action::Delete => {
                    state.delete_meta(*ty, &report.uid, now, user);
                }
                Action::Create | Action::Update => {
                    let mut obj = obj.clone();
                    if skip_sharing && ty.has_sharing() {
                        take_no_sharing(state, *ty, &report.uid, &mut obj);
                    }
                    state.put_meta(*ty, obj, now);
                }
            }
        }
    }
}

/// `skipSharing=true`: an update keeps the stored sharing (the merge skips it),
/// a create gets the importing user as owner and nothing else
/// (`DefaultAclService.clearSharing`, 2.41.3 dhis-service-acl).
fn take_no_sharing(state: &SimState, ty: MetaType, uid: &str, obj: &mut Map<String, Value>) {
    let kept = state
        .meta(ty)
        .get(uid)
        .and_then(|o| o.body.get("sharing").cloned());
    let sharing = kept.unwrap_or_else(|| {
        json!({"owner": super::generate::ADMIN_USER, "external": false, "public": "--------",
               "users": {}, "userGroups": {}})
    });
    obj.insert("sharing".into(), sharing);
}

fn depth_in_payload(obj: &Map<String, Value>, all: &[Map<String, Value>]) -> usize {
    let parent_of = |o: &Map<String, Value>| {
        o.get("parent")
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let by_id: HashMap<&str, &Map<String, Value>> = all
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
        .collect();
    let mut depth = 0;
    let mut current = parent_of(obj);
    while let Some(p) = current {
        depth += 1;
        if depth > all.len() {
            break;
        }
        current = by_id.get(p.as_str()).and_then(|o| parent_of(o));
    }
    depth
}

/// `{"status","stats","typeReports"}`, the report in every version.
fn core_report(
    opts: &Options,
    payload: &[(MetaType, Vec<Map<String, Value>>)],
    reports: &[Vec<ObjectReport>],
) -> Value {
    let has_errors = reports.iter().flatten().any(|r| !r.errors.is_empty());
    let nothing_saved = opts.atomic_all && has_errors;
    let mut total = [0u64; 4];
    let type_reports: Vec<Value> = payload
        .iter()
        .zip(reports)
        .map(|((ty, _), objs)| {
            let mut stats = [0u64; 4]; // created, updated, deleted, ignored
            for r in objs {
                let slot = if nothing_saved || !r.errors.is_empty() {
                    3
                } else {
                    match r.action {
                        Action::Create => 0,
                        Action::Update => 1,
                        Action::Delete => 2,
                    }
                };
                stats[slot] += 1;
            }
            for (t, s) in total.iter_mut().zip(stats) {
                *t += s;
            }
            let object_reports: Vec<Value> = objs
                .iter()
                .filter(|r| opts.full_report || !r.errors.is_empty())
                .map(|r| {
                    json!({"klass": ty.klass(), "index": r.index, "uid": r.uid,
                           "displayName": r.display_name, "errorReports": r.errors})
                })
                .collect();
            json!({"klass": ty.klass(), "stats": stats_json(stats), "objectReports": object_reports})
        })
        .collect();
    let status = match (has_errors, opts.atomic_all) {
        (false, _) => "OK",
        (true, true) => "ERROR",
        (true, false) => "WARNING",
    };
    json!({"status": status, "stats": stats_json(total), "typeReports": type_reports})
}

/// The plain form: the core plus `importParams`.
fn with_import_params(mut report: Value, opts: &Options) -> Value {
    report["importParams"] = json!({
        "importStrategy": opts.strategy.name(),
        "atomicMode": if opts.atomic_all { "ALL" } else { "NONE" },
        "importMode": if opts.validate_only { "VALIDATE" } else { "COMMIT" },
    });
    report
}

fn render(
    sim: &Shared,
    versioned: Option<VersionedPath>,
    opts: &Options,
    mut report: Value,
) -> Response {
    let plain = VersionedPath::wants_plain_report(versioned, sim.version());
    if plain {
        return json_response(StatusCode::OK, &with_import_params(report, opts));
    }
    report["responseType"] = json!("ImportReport");
    let (code, outer, message) = if report["status"] == "OK" {
        (StatusCode::OK, "OK", None)
    } else {
        (
            StatusCode::CONFLICT,
            "WARNING",
            Some("One or more errors occurred, please see full details in import report."),
        )
    };
    let mut body = json!({
        "httpStatus": code.canonical_reason().unwrap_or(""),
        "httpStatusCode": code.as_u16(),
        "status": outer,
        "response": report,
    });
    if let Some(m) = message {
        body["message"] = json!(m);
    }
    json_response(code, &body)
}

fn stats_json(s: [u64; 4]) -> Value {
    json!({"created": s[0], "updated": s[1], "deleted": s[2], "ignored": s[3], "total": s.iter().sum::<u64>()})
}
