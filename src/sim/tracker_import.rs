//! `POST /api/tracker` semantics: flat or nested payloads, validation with DHIS2's
//! error codes, atomic modes and the import report of each version.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::clock;
use super::model::MetaType;
use super::options::Dhis2Version;
use super::query::Params;
use super::state::SimState;
use super::strategy::{self, Binding, Strategy};
use super::tracker_store::TrackerKind;

pub struct ImportParams {
    strategy: Strategy,
    atomic_all: bool,
    pub commit: bool,
    full_report: bool,
}

impl ImportParams {
    /// Bound as each version binds them (see `strategy`).
    pub fn from_params(params: &Params, minor: u32) -> Result<Self, String> {
        let binding = Binding::bound(minor);
        let strategy = Strategy::read(params, strategy::tracker_strategies(minor), binding)?;
        let atomic = strategy::read(params, "atomicMode", &["ALL", "OBJECT"], "ALL", binding)?;
        let mode = strategy::read(
            params,
            "importMode",
            &["COMMIT", "VALIDATE"],
            "COMMIT",
            binding,
        )?;
        let report = strategy::read(
            params,
            "reportMode",
            &["ERRORS", "WARNINGS", "FULL"],
            "ERRORS",
            binding,
        )?;
        Ok(Self {
            strategy,
            atomic_all: atomic == "ALL",
            commit: mode == "COMMIT",
            full_report: report == "FULL",
        })
    }
}

struct Item {
    kind: TrackerKind,
    index: usize,
    uid: String,
    body: Map<String, Value>,
    errors: Vec<Value>,
    exists: bool,
}

/// Nested trackedEntities → enrollments → events become flat lists with parent links.
fn flatten(payload: &Map<String, Value>) -> Vec<(TrackerKind, Map<String, Value>)> {
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut enrollments = Vec::new();
    let mut events = Vec::new();
    for te in list(payload.get("trackedEntities")) {
        let Value::Object(mut te) = te else { continue };
        let te_uid = te.get("trackedEntity").cloned();
        for en in list(te.remove("enrollments").as_ref()) {
            let Value::Object(mut en) = en else { continue };
            if let Some(uid) = &te_uid {
                en.entry("trackedEntity").or_insert(uid.clone());
            }
            enrollments.push(en);
        }
        out.push((TrackerKind::TrackedEntity, te));
    }
    enrollments.extend(
        list(payload.get("enrollments"))
            .into_iter()
            .filter_map(|v| v.as_object().cloned()),
    );
    for mut en in enrollments {
        for ev in list(en.remove("events").as_ref()) {
            let Value::Object(mut ev) = ev else { continue };
            for key in ["enrollment", "program", "trackedEntity"] {
                if let Some(v) = en.get(key) {
                    ev.entry(key).or_insert(v.clone());
                }
            }
            events.push(ev);
        }
        out.push((TrackerKind::Enrollment, en));
    }
    events.extend(
        list(payload.get("events"))
            .into_iter()
            .filter_map(|v| v.as_object().cloned()),
    );
    out.extend(events.into_iter().map(|e| (TrackerKind::Event, e)));
    out
}

fn err(kind: TrackerKind, uid: &str, code: &str, message: String) -> Value {
    json!({"message": message, "errorCode": code, "trackerType": kind.report_type(), "uid": uid})
}

fn name(kind: TrackerKind) -> &'static str {
    match kind {
        TrackerKind::TrackedEntity => "TrackedEntity",
        TrackerKind::Enrollment => "Enrollment",
        TrackerKind::Event => "Event",
    }
}

pub fn run(
    state: &mut SimState,
    payload: &Map<String, Value>,
    params: &ImportParams,
    version: Dhis2Version,
) -> Value {
    let mut items: Vec<Item> = Vec::new();
    let mut counters = [0usize; 3];
    for (kind, body) in flatten(payload) {
        let uid = body
            .get(kind.uid_field())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let index = counters[kind as usize];
        counters[kind as usize] += 1;
        let existing = state.tracker.of(kind).get(&uid);
        items.push(Item {
            kind,
            index,
            exists: existing.is_some(),
            uid,
            body,
            errors: Vec::new(),
        });
    }
    validate(state, &mut items, params.strategy);
    let has_errors = items.iter().any(|i| !i.errors.is_empty());
    let commit = params.commit && !(params.atomic_all && has_errors);
    let now = clock::now();
    let mut per_type = [[0u64; 4]; 3]; // created, updated, deleted, ignored
    for item in &items {
        let slot = if !commit || !item.errors.is_empty() {
            3
        } else {
            match (params.strategy, item.exists) {
                (Strategy::Delete, _) => 2,
                (_, true) => 1,
                (_, false) => 0,
            }
        };
        per_type[item.kind as usize][slot] += 1;
        if commit && item.errors.is_empty() {
            if params.strategy == Strategy::Delete {
                state.tracker.soft_delete(item.kind, &item.uid, now);
            } else {
                let mut body = item.body.clone();
                if item.kind == TrackerKind::Event && !body.contains_key("trackedEntity") {
                    let te = body
                        .get("enrollment")
                        .and_then(Value::as_str)
                        .and_then(|e| state.tracker.of(TrackerKind::Enrollment).get(e))
                        .and_then(|e| e.body.get("trackedEntity").cloned());
                    if let Some(te) = te {
                        body.insert("trackedEntity".into(), te);
                    }
                }
                state.tracker.put(item.kind, &item.uid, body, now);
            }
        }
    }
    let stats = |s: [u64; 4]| json!({"created": s[0], "updated": s[1], "deleted": s[2], "ignored": s[3], "total": s.iter().sum::<u64>()});
    let mut total = [0u64; 4];
    for t in &per_type {
        for (a, b) in total.iter_mut().zip(t) {
            *a += b;
        }
    }
    let status = if has_errors { "ERROR" } else { "OK" };
    let errors: Vec<Value> = items.iter().flat_map(|i| i.errors.clone()).collect();
    let mut report = json!({
        "status": status,
        "validationReport": {"errorReports": errors, "warningReports": []},
        "stats": stats(total),
    });
    // Without a commit there is no bundle: DHIS2 leaves bundleReport out.
    if commit {
        let mut map = Map::new();
        for kind in TrackerKind::ALL {
            let object_reports: Vec<Value> = if params.full_report {
                items
                    .iter()
                    .filter(|i| i.kind == kind && i.errors.is_empty())
                    .map(|i| json!({"trackerType": kind.report_type(), "uid": i.uid, "index": i.index, "errorReports": []}))
                    .collect()
            } else {
                Vec::new()
            };
            map.insert(
                kind.report_type().into(),
                json!({"trackerType": kind.report_type(), "stats": stats(per_type[kind as usize]), "objectReports": object_reports}),
            );
        }
        map.insert(
            "RELATIONSHIP".into(),
            json!({"trackerType": "RELATIONSHIP", "stats": stats([0; 4]), "objectReports": []}),
        );
        let mut bundle = json!({"typeReportMap": map});
        if version.minor() <= 39 {
            // 2.38 and 2.39 also carry the bundle's own status and stats.
            bundle["status"] = json!(status);
            bundle["stats"] = stats(total);
        }
        report["bundleReport"] = bundle;
    }
    report
}

fn validate(state: &SimState, items: &mut [Item], strategy: Strategy) {
    let mut failed: HashSet<String> = HashSet::new();
    let payload_ids: HashSet<(TrackerKind, String)> =
        items.iter().map(|i| (i.kind, i.uid.clone())).collect();
    for item in items.iter_mut() {
        let (kind, uid) = (item.kind, item.uid.clone());
        let field = |k: &str| item.body.get(k).and_then(Value::as_str).map(str::to_string);
        let mut errors = Vec::new();
        if !super::model::is_valid_uid(&uid) {
            errors.push(err(
                kind,
                &uid,
                "E1048",
                format!("Object: `{uid}`, uid: `{uid}`, has an invalid uid format."),
            ));
        }
        let stored = state.tracker.of(kind).get(&uid);
        if stored.is_some_and(|o| o.deleted) {
            errors.push(err(
                kind,
                &uid,
                "E1114",
                format!(
                    "{} `{uid}` is already deleted and cannot be modified.",
                    name(kind)
                ),
            ));
        }
        match (strategy, item.exists) {
            (Strategy::Create, true) => errors.push(err(
                kind,
                &uid,
                "E1030",
                format!("{}: `{uid}`, already exists.", name(kind)),
            )),
            (Strategy::Update | Strategy::Delete, false) => errors.push(err(
                kind,
                &uid,
                "E1063",
                format!("{}: `{uid}`, does not exist.", name(kind)),
            )),
            _ => {}
        }
        if strategy != Strategy::Delete {
            let exists = |ty: MetaType, id: &Option<String>| {
                id.as_deref().is_some_and(|id| state.exists(ty, id))
            };
            let org_unit = field("orgUnit");
            if !exists(MetaType::OrganisationUnit, &org_unit) {
                let code = match kind {
                    TrackerKind::TrackedEntity => "E1049",
                    TrackerKind::Enrollment => "E1070",
                    TrackerKind::Event => "E1011",
                };
                errors.push(err(
                    kind,
                    &uid,
                    code,
                    format!(
                        "Could not find OrganisationUnit: `{}`, linked to {}.",
                        org_unit.unwrap_or_default(),
                        name(kind)
                    ),
                ));
            }
            match kind {
                TrackerKind::TrackedEntity => {
                    let te_type = field("trackedEntityType");
                    if !exists(MetaType::TrackedEntityType, &te_type) {
                        errors.push(err(
                            kind,
                            &uid,
                            "E1005",
                            format!(
                                "Could not find TrackedEntityType: `{}`.",
                                te_type.unwrap_or_default()
                            ),
                        ));
                    }
                    for a in item
                        .body
                        .get("attributes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let attr = a
                            .get("attribute")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        if !exists(MetaType::TrackedEntityAttribute, &attr) {
                            errors.push(err(
                                kind,
                                &uid,
                                "E1006",
                                format!(
                                    "Attribute: `{}`, does not exist.",
                                    attr.unwrap_or_default()
                                ),
                            ));
                        }
                    }
                }
                TrackerKind::Enrollment => {
                    let program = field("program");
                    if !exists(MetaType::Program, &program) {
                        errors.push(err(
                            kind,
                            &uid,
                            "E1069",
                            format!(
                                "Could not find Program: `{}`, linked to Enrollment.",
                                program.unwrap_or_default()
                            ),
                        ));
                    }
                    let te = field("trackedEntity").unwrap_or_default();
                    if failed.contains(&te) {
                        errors.push(err(kind, &uid, "E5000", format!(
                            "Enrollment: `{uid}` cannot be persisted because TrackedEntity `{te}` referenced by it cannot be persisted.")));
                    } else if !state
                        .tracker
                        .of(TrackerKind::TrackedEntity)
                        .contains_key(&te)
                        && !payload_ids.contains(&(TrackerKind::TrackedEntity, te.clone()))
                    {
                        errors.push(err(
                            kind,
                            &uid,
                            "E1068",
                            format!("Could not find TrackedEntity: `{te}`, linked to Enrollment."),
                        ));
                    }
                }
                TrackerKind::Event => {
                    let program = field("program");
                    let program_obj = program
                        .as_deref()
                        .and_then(|p| state.meta(MetaType::Program).get(p));
                    if program_obj.is_none() {
                        errors.push(err(
                            kind,
                            &uid,
                            "E1010",
                            format!(
                                "Could not find Program: `{}`, linked to Event.",
                                program.unwrap_or_default()
                            ),
                        ));
                    }
                    let stage = field("programStage");
                    if !exists(MetaType::ProgramStage, &stage) {
                        errors.push(err(
                            kind,
                            &uid,
                            "E1013",
                            format!(
                                "Could not find ProgramStage: `{}`, linked to Event.",
                                stage.unwrap_or_default()
                            ),
                        ));
                    }
                    let registration = program_obj
                        .and_then(|p| p.body.get("programType"))
                        .and_then(Value::as_str)
                        == Some("WITH_REGISTRATION");
                    if registration {
                        match field("enrollment") {
                            None => errors.push(err(kind, &uid, "E1033", format!("Event: `{uid}`, Enrollment value is NULL."))),
                            Some(en) if failed.contains(&en) => errors.push(err(kind, &uid, "E5000", format!(
                                "Event: `{uid}` cannot be persisted because Enrollment `{en}` referenced by it cannot be persisted."))),
                            Some(en) if !state.tracker.of(TrackerKind::Enrollment).contains_key(&en)
                                && !payload_ids.contains(&(TrackerKind::Enrollment, en.clone())) =>
                            {
                                errors.push(err(kind, &uid, "E1033", format!("Event: `{uid}`, Enrollment `{en}` does not exist.")))
                            }
                            Some(_) => {}
                        }
                    }
                    for dv in item
                        .body
                        .get("dataValues")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let de = dv
                            .get("dataElement")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        if !exists(MetaType::DataElement, &de) {
                            errors.push(err(
                                kind,
                                &uid,
                                "E1304",
                                format!("Invalid data element: `{}`.", de.unwrap_or_default()),
                            ));
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            failed.insert(uid);
        }
        item.errors = errors;
    }
}
