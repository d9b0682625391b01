//! `/api/tracker/{trackedEntities|enrollments|events}` exports with each version's
//! parameters and envelope, `POST /api/tracker` and its async jobs.

use std::collections::HashSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::model::MetaType;
use super::query::{Params, apply_fields, bump, parse_fields};
use super::response::{bad_request, error, json_response, ok_json};
use super::state::SimState;
use super::tracker_import::{self, ImportParams};
use super::tracker_store::TrackerKind;
use super::{Shared, clock, task_api};

/// Why an export's org unit parameters were refused: 400, or another status.
enum Refusal {
    Plain(String),
    Status(StatusCode, String),
}

impl Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Plain(message) => bad_request(&message),
            Refusal::Status(code, message) => error(code, &message),
        }
    }
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal::Plain(message)
    }
}

impl From<&str> for Refusal {
    fn from(message: &str) -> Self {
        Refusal::Plain(message.to_string())
    }
}

/// Events take one org unit UID in every version: `orgUnit` is a `String` in
/// 2.39.6/2.40.5 (webapi/controller/tracker/export/TrackerEventCriteria.java),
/// looked up whole by TrackerEventCriteriaMapper.validateOrgUnit, so `a;b` is
/// "Org unit is specified but does not exist" (IllegalQueryException, 409, in
/// 2.39.6; BadRequestException, 400, in 2.40.5); a `UID` in 2.41.3/2.42.1
/// (export/event/EventRequestParams.java), so `a;b` fails binding (400) and
/// an unknown UID is refused by EventOperationParamsMapper (400).
fn event_org_unit(sim: &Shared, ou: &str) -> Result<Vec<String>, Refusal> {
    let minor = sim.version().minor();
    let valid_uid = ou.len() == 11
        && ou.chars().all(|c| c.is_ascii_alphanumeric())
        && ou.starts_with(|c: char| c.is_ascii_alphabetic());
    if minor >= 41 && !valid_uid {
        return Err(Refusal::Plain(format!(
            "Value '{ou}' is not valid for parameter orgUnit. UID must be an alphanumeric string of 11 characters starting with a letter."
        )));
    }
    if sim.read().exists(MetaType::OrganisationUnit, ou) {
        return Ok(vec![ou.to_string()]);
    }
    let message = format!("Org unit is specified but does not exist: {ou}");
    Err(if minor == 39 {
        Refusal::Status(StatusCode::CONFLICT, message)
    } else {
        Refusal::Plain(message)
    })
}

/// Parameter names each version accepts for org-unit scoping and unpaged exports.
fn org_unit_params(
    sim: &Shared,
    kind: TrackerKind,
    params: &Params,
) -> Result<(Vec<String>, String), Refusal> {
    let minor = sim.version().minor();
    let new_ou = kind != TrackerKind::Event && minor >= 41;
    if minor >= 42 {
        // The deprecated names are gone in 2.42: refuse them rather than export everything.
        if kind != TrackerKind::Event && params.has("orgUnit") {
            return Err("Parameter `orgUnit` was removed in 2.42: use `orgUnits`".into());
        }
        if params.has("ouMode") {
            return Err("Parameter `ouMode` was removed in 2.42: use `orgUnitMode`".into());
        }
    }
    let units: Vec<String> = if kind == TrackerKind::Event
        && params.get("orgUnit").is_some_and(|o| !o.is_empty())
    {
        event_org_unit(sim, params.get("orgUnit").unwrap_or(""))?
    } else if new_ou && params.has("orgUnits") {
        params
            .get("orgUnits")
            .unwrap_or("")
            .split(',')
            .map(str::to_string)
            .collect()
    } else if minor < 41 && params.has("orgUnits") {
        return Err("Parameter `orgUnits` is not supported before 2.41: use `orgUnit=a;b`".into());
    } else {
        params
            .get("orgUnit")
            .map(|v| v.split([';', ',']).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mode = if minor >= 41 {
        params.get("orgUnitMode").or(params.get("ouMode"))
    } else {
        if params.has("orgUnitMode") {
            return Err(
                "Parameter `orgUnitMode` is not supported before 2.41: use `ouMode`".into(),
            );
        }
        params.get("ouMode")
    };
    let default_mode = if units.is_empty() {
        "ACCESSIBLE"
    } else {
        "SELECTED"
    };
    Ok((
        units.into_iter().filter(|u| !u.is_empty()).collect(),
        mode.unwrap_or(default_mode).to_ascii_uppercase(),
    ))
}

fn scope(state: &SimState, units: &[String], mode: &str) -> Option<HashSet<String>> {
    match mode {
        "ACCESSIBLE" | "CAPTURE" | "ALL" => None,
        "CHILDREN" => Some(
            units
                .iter()
                .flat_map(|u| {
                    let mut set = state.org_unit_children(u);
                    set.insert(u.clone());
                    set
                })
                .collect(),
        ),
        "DESCENDANTS" => Some(
            units
                .iter()
                .flat_map(|u| state.org_unit_subtree(u))
                .collect(),
        ),
        _ => Some(units.iter().cloned().collect()),
    }
}

pub async fn export(
    State(sim): State<Shared>,
    Path(kind): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(kind) = TrackerKind::from_plural(&kind) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Not Found: no resource /api/tracker/{kind}"),
        );
    };
    let params = Params::parse(q.as_deref());
    let minor = sim.version().minor();
    let (units, mode) = match org_unit_params(&sim, kind, &params) {
        Ok(v) => v,
        Err(refusal) => return refusal.into_response(),
    };
    let unpaged = if minor >= 41 {
        params.flag("paging") == Some(false)
    } else {
        params.flag("skipPaging") == Some(true)
    };
    let page = params.number("page").ok().flatten().unwrap_or(1).max(1) as usize;
    let page_size = match params.number("pageSize") {
        Ok(Some(n)) if n > 50_000 => return bad_request("pageSize cannot be larger than 50000"),
        Ok(n) => n.unwrap_or(50).max(1) as usize,
        Err(e) => return bad_request(&e),
    };
    let updated_after = match params.get("updatedAfter").map(|t| clock::parse(t).ok_or(t)) {
        Some(Err(t)) => {
            return bad_request(&format!("Invalid date `{t}` for parameter updatedAfter"));
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let program = params.get("program").map(str::to_string);
    let te_type = params.get("trackedEntityType").map(str::to_string);
    if kind == TrackerKind::TrackedEntity && program.is_none() && te_type.is_none() {
        return bad_request("Either `program` or `trackedEntityType` should be specified");
    }
    let include_deleted = params.flag("includeDeleted") == Some(true);
    let fields = params.get("fields").map(parse_fields);
    let (items, total) = {
        let state = sim.read();
        if let Some(p) = &program
            && !state.exists(MetaType::Program, p)
        {
            return bad_request(&format!("Program is specified but does not exist: {p}"));
        }
        let allowed = scope(&state, &units, &mode);
        let enrolled: Option<HashSet<&str>> = match (kind, &program) {
            (TrackerKind::TrackedEntity, Some(p)) => Some(
                state
                    .tracker
                    .of(TrackerKind::Enrollment)
                    .values()
                    .filter(|e| {
                        e.str_field("program") == Some(p.as_str())
                            && (include_deleted || !e.deleted)
                    })
                    .filter_map(|e| e.str_field("trackedEntity"))
                    .collect(),
            ),
            _ => None,
        };
        let matching: Vec<&Map<String, Value>> = state
            .tracker
            .of(kind)
            .values()
            .filter(|o| include_deleted || !o.deleted)
            // Inclusive, as DHIS2's stores query (`lastupdated >= :lastUpdatedStartDate`):
            // an object changed at the watermark instant must not be missed.
            .filter(|o| updated_after.is_none_or(|t| o.updated_at >= t))
            .filter(|o| {
                allowed
                    .as_ref()
                    .is_none_or(|a| o.str_field("orgUnit").is_some_and(|ou| a.contains(ou)))
            })
            .filter(|o| match kind {
                TrackerKind::TrackedEntity => {
                    enrolled
                        .as_ref()
                        .is_none_or(|e| o.str_field("trackedEntity").is_some_and(|t| e.contains(t)))
                        && te_type
                            .as_deref()
                            .is_none_or(|t| o.str_field("trackedEntityType") == Some(t))
                }
                _ => program
                    .as_deref()
                    .is_none_or(|p| o.str_field("program") == Some(p)),
            })
            .map(|o| &o.body)
            .collect();
        let total = matching.len();
        let window = if unpaged {
            0..total
        } else {
            let start = ((page - 1) * page_size).min(total);
            start..(start + page_size).min(total)
        };
        let items: Vec<Value> = matching[window]
            .iter()
            .map(|b| {
                Value::Object(match &fields {
                    Some(f) => apply_fields(b, f),
                    None => (*b).clone(),
                })
            })
            .collect();
        (items, total)
    };
    bump(
        &mut sim.stats().objects_returned,
        kind.plural(),
        items.len() as u64,
    );
    let totals = params.flag("totalPages") == Some(true);
    let page_count = total.div_ceil(page_size).max(1);
    let mut body = Map::new();
    if unpaged {
        // No paging: only the items (and, before 2.41, an empty envelope around them).
    } else if minor <= 40 {
        body.insert("page".into(), json!(page));
        body.insert("pageSize".into(), json!(page_size));
        if totals {
            body.insert("total".into(), json!(total));
            body.insert("pageCount".into(), json!(page_count));
        }
    } else {
        let mut pager = json!({"page": page, "pageSize": page_size});
        if totals {
            pager["total"] = json!(total);
            pager["pageCount"] = json!(page_count);
        }
        let link = |p: usize| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in params.0.iter().filter(|(k, _)| k != "page") {
                q.append_pair(k, v);
            }
            q.append_pair("page", &p.to_string());
            format!(
                "{}/api/tracker/{}?{}",
                sim.base_url,
                kind.plural(),
                q.finish()
            )
        };
        if page * page_size < total {
            pager["nextPage"] = json!(link(page + 1));
        }
        if page > 1 {
            pager["prevPage"] = json!(link(page - 1));
        }
        body.insert("pager".into(), pager);
        if minor == 41 {
            // 2.41 keeps the deprecated flat fields beside the pager.
            body.insert("page".into(), json!(page));
            body.insert("pageSize".into(), json!(page_size));
            if totals {
                body.insert("total".into(), json!(total));
                body.insert("pageCount".into(), json!(page_count));
            }
        }
    }
    let key = if minor <= 40 {
        "instances"
    } else {
        kind.plural()
    };
    body.insert(key.into(), Value::Array(items));
    ok_json(&Value::Object(body))
}

pub async fn import(State(sim): State<Shared>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let params = Params::parse(q.as_deref());
    let import_params = match ImportParams::from_params(&params) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let payload: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return bad_request(
                "JSON parse error: expected an object with trackedEntities, enrollments, events",
            );
        }
        Err(e) => return bad_request(&format!("JSON parse error: {e}")),
    };
    let report = {
        let mut state = sim.write();
        tracker_import::run(&mut state, &payload, &import_params, sim.version())
    };
    let imported = report["stats"]["created"].as_u64().unwrap_or(0)
        + report["stats"]["updated"].as_u64().unwrap_or(0)
        + report["stats"]["deleted"].as_u64().unwrap_or(0);
    if import_params.commit {
        bump(&mut sim.stats().objects_imported, "tracker", imported);
    }
    // async defaults to true on /api/tracker.
    if params.flag("async") != Some(false) {
        let id = task_api::record(&sim, TRACKER_JOB, report.clone(), &job_steps(&report));
        return ok_json(&json!({
            "httpStatus": "OK", "httpStatusCode": 200, "status": "OK", "message": "Tracker job added",
            "response": {"responseType": "TrackerJob", "id": id,
                         "location": format!("{}/api/tracker/jobs/{id}", sim.base_url)}
        }));
    }
    let code = if report["status"] == "ERROR" {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    json_response(code, &report)
}

/// The category of tracker job notifications, and their key in the task store.
const TRACKER_JOB: &str = "TRACKER_IMPORT_JOB";

/// Notification messages of a tracker job, oldest first, ending with DHIS2's summary line.
fn job_steps(report: &Value) -> Vec<String> {
    let s = &report["stats"];
    let summary = format!(
        "Import complete with status {}, {} created, {} updated, {} deleted, {} ignored",
        report["status"].as_str().unwrap_or("OK"),
        s["created"],
        s["updated"],
        s["deleted"],
        s["ignored"]
    );
    [
        "Tracker import started",
        "Running PreHeat",
        "Running Validation",
        "Commit Transaction",
        "PostCommit",
    ]
    .into_iter()
    .map(str::to_string)
    .chain([summary])
    .collect()
}

/// Unlike `/api/system/tasks`, the tracker job endpoints answer 404 for an unknown id.
fn job_not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("Job with id {id} could not be found."),
    )
}

pub async fn job(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    match task_api::find(&sim, TRACKER_JOB, &id, |t| t.notifications.clone()) {
        Some(notifications) => ok_json(&notifications),
        None => job_not_found(&id),
    }
}

pub async fn job_report(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    match task_api::find(&sim, TRACKER_JOB, &id, |t| t.summary.clone()) {
        Some(report) => ok_json(&report),
        None => job_not_found(&id),
    }
}
