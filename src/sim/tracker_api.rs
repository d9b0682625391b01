//! `/api/tracker/{trackedEntities|enrollments|events}` exports with each version's
//! parameters and envelope, `POST /api/tracker` and its async jobs.

use std::collections::HashSet;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::model::MetaType;
use super::path::{Format, Suffix};
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
    if minor >= 41 && !is_uid(ou) {
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

/// Org-unit scoping by each version's parameter names. A name a version does
/// not have is ignored, as Spring binding ignores it, so the export widens
/// (to ACCESSIBLE) rather than failing: `orgUnits`/`orgUnitMode` before 2.41;
/// `orgUnit` (tracked entities, enrollments) and `ouMode` in 2.42.1, which
/// removed them from the RequestParams classes. 2.41.3 takes both names of a
/// pair but refuses both at once (RequestParamsValidator
/// `validateDeprecatedParameter`, `validateDeprecatedUidsParameter`).
fn org_unit_params(
    sim: &Shared,
    kind: TrackerKind,
    params: &Params,
) -> Result<(Vec<String>, String), Refusal> {
    let minor = sim.version().minor();
    let event = kind == TrackerKind::Event;
    if minor == 41 {
        if params.has("ouMode") && params.has("orgUnitMode") {
            return Err("Only one parameter of 'ouMode' and 'orgUnitMode' must be specified. Prefer 'orgUnitMode' as 'ouMode' will be removed.".into());
        }
        if !event && params.has("orgUnit") && params.has("orgUnits") {
            return Err("Only one parameter of 'orgUnit' (deprecated; semicolon separated UIDs) and 'orgUnits' (comma separated UIDs) must be specified. Prefer 'orgUnits' as 'orgUnit' will be removed.".into());
        }
    }
    let split = |v: &str, separators: &[char]| -> Vec<String> {
        v.split(separators).map(str::to_string).collect()
    };
    let units: Vec<String> = match (event, minor) {
        (true, _) => match params.get("orgUnit").filter(|o| !o.is_empty()) {
            Some(ou) => event_org_unit(sim, ou)?,
            None => Vec::new(),
        },
        (false, ..=40) => params
            .get("orgUnit")
            .map(|v| split(v, &[';']))
            .unwrap_or_default(),
        (false, 41) => match (params.get("orgUnits"), params.get("orgUnit")) {
            (Some(v), _) => split(v, &[',']),
            (None, Some(v)) => split(v, &[';']),
            (None, None) => Vec::new(),
        },
        (false, _) => params
            .get("orgUnits")
            .map(|v| split(v, &[',']))
            .unwrap_or_default(),
    };
    let mode = match minor {
        ..=40 => params.get("ouMode"),
        41 => params.get("orgUnitMode").or(params.get("ouMode")),
        _ => params.get("orgUnitMode"),
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

/// 2.41.3 refuses the tracked entity parameters it removed
/// (TrackedEntityRequestParamsMapper `validateRemovedParameters`); 2.42.1
/// dropped the check, so there they are ignored like any unknown name.
fn removed_parameter(sim: &Shared, kind: TrackerKind, params: &Params) -> Option<String> {
    if sim.version().minor() != 41 || kind != TrackerKind::TrackedEntity {
        return None;
    }
    if params.has("query") {
        return Some("`query` parameter was removed in v41. Use `filter` instead.".into());
    }
    if params.has("attribute") {
        return Some("`attribute` parameter was removed in v41. Use `filter` instead.".into());
    }
    params
        .has("includeAllAttributes")
        .then(|| "`includeAllAttributes` parameter was removed in v41.".into())
}

/// Whether the export is paged, by each version's rules:
/// - 2.39.6/2.40.5: `skipPaging=true` turns paging off; there is no `paging`
///   (webrequest/PagingAndSortingCriteriaAdapter.java), so it is ignored;
/// - 2.41.3: `paging` wins, else `!skipPaging`; contradicting values, or no
///   paging with `page`/`pageSize`/`totalPages=true`, are 400
///   (PageRequestParams `isPaged`, RequestParamsValidator `validatePaginationParameters`);
/// - 2.42.1: `paging` only (`skipPaging` is gone, so ignored); no paging with
///   page parameters is 400 (same validator, new wording).
fn paged(minor: u32, params: &Params) -> Result<bool, String> {
    let paging = params.flag("paging");
    let skip = params.flag("skipPaging");
    let asks_pages =
        params.has("page") || params.has("pageSize") || params.flag("totalPages") == Some(true);
    match minor {
        ..=40 => Ok(skip != Some(true)),
        41 => {
            if let (Some(p), Some(s)) = (paging, skip)
                && p == s
            {
                return Err("Paging can either be enabled or disabled. Prefer 'paging' as 'skipPaging' will be removed.".into());
            }
            let paged = paging.unwrap_or(skip != Some(true));
            if !paged && asks_pages {
                return Err("Paging cannot be skipped with isSkipPaging=true while also requesting a paginated response with page, pageSize and/or totalPages=true".into());
            }
            Ok(paged)
        }
        _ => {
            let paged = paging != Some(false);
            if !paged && asks_pages {
                return Err("Paging cannot be disabled with paging=false while also requesting a paginated response with page, pageSize and/or totalPages=true".into());
            }
            Ok(paged)
        }
    }
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
    suffix: Option<Extension<Suffix>>,
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
    if let Some(message) = removed_parameter(&sim, kind, &params) {
        return bad_request(&message);
    }
    let paged = match paged(minor, &params) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    // `.json.gz` events are the whole export without a pager (`getEventsAsJsonGzip`:
    // `eventService.getEvents` unpaged, `Page.withoutPager`; see `formats`).
    let gzip_file = suffix.is_some_and(|Extension(s)| s.format == Some(Format::JsonGzip));
    let unpaged = !paged || gzip_file;
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
        // Links from 2.42 only: 2.41.3's deprecated `Page.withPager` builds its
        // pager without them; 2.42.1 `Page` adds absolute prevPage/nextPage.
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
        if minor >= 42 && page * page_size < total {
            pager["nextPage"] = json!(link(page + 1));
        }
        if minor >= 42 && page > 1 {
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
    let import_params = match ImportParams::from_params(&params, sim.version().minor()) {
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

/// Notifications of a tracker job, newest first. An unknown job is 200 `[]`,
/// as `/api/system/tasks` answers (TrackerImportController `getJob` →
/// `notifier.getNotificationsByJobId`, an empty list when absent; 2.39.6–2.42.1);
/// 2.42.1 first parses the id as a UID (DefaultNotifier `getNotificationsByJobId`
/// → `UID.of`), so a malformed one is 400.
pub async fn job(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    if sim.version().minor() >= 42 && !is_uid(&id) {
        return bad_request(&format!(
            "UID must be an alphanumeric string of 11 characters starting with a letter, but was: {id}"
        ));
    }
    let notifications = task_api::find(&sim, TRACKER_JOB, &id, |t| t.notifications.clone());
    ok_json(&notifications.unwrap_or_else(|| json!([])))
}

/// The report of a tracker job; an unknown one is 404 with each version's
/// message (TrackerImportController `getJobReport`: 2.39.6 webapi
/// NotFoundException `notFoundUid`; 2.40.5 E1005 for the JobConfiguration;
/// 2.41.3/2.42.1 E1005 "Summary for job … does not exist").
pub async fn job_report(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    if let Some(report) = task_api::find(&sim, TRACKER_JOB, &id, |t| t.summary.clone()) {
        return ok_json(&report);
    }
    match sim.version().minor() {
        39 => error(
            StatusCode::NOT_FOUND,
            &format!("Object not found for uid: {id}"),
        ),
        40 => not_found_e1005(&format!(
            "JobConfiguration with id {id} could not be found."
        )),
        _ => not_found_e1005(&format!("Summary for job {id} does not exist")),
    }
}

fn not_found_e1005(message: &str) -> Response {
    super::response::web_message(
        StatusCode::NOT_FOUND,
        "ERROR",
        message,
        json!({"errorCode": "E1005"}),
    )
}

/// DHIS2's UID: 11 alphanumerics starting with a letter (`CodeGenerator.isValidUid`).
fn is_uid(s: &str) -> bool {
    s.len() == 11
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
}
