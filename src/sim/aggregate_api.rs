//! `GET /api/dataValueSets`: DHIS2's query rules and a streamed export whose
//! memory stays flat in its size. The import lives in `aggregate_import`.

use std::collections::HashSet;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::NaiveDate;

use super::model::MetaType;
use super::query::{Params, bump};
use super::response::{bad_request, conflict};
use super::state::SimState;
use super::{Shared, clock};

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

/// Resolves and validates the query as DHIS2 does (2.39.6–2.42.1 alike):
/// - unknown UIDs of `dataSet`, `dataElement`, `dataElementGroup`, `orgUnit`,
///   `orgUnitGroup` and `attributeOptionCombo` are dropped
///   (dxf2/datavalueset/DefaultDataValueSetService.java `getFromUrl` →
///   IdentifiableObjectManager `getObjects`, an IN query), so a query naming
///   only unknown objects is refused as if it named none;
/// - then `validate` runs every check E2001–E2009 and reports the *last* one
///   that fails (each overwrites `error`): no parameters at all is E2006;
///   409 with the code (CrudControllerAdvice `illegalQueryExceptionHandler`).
fn select(state: &SimState, params: &Params) -> Result<Selection, Refusal> {
    let store = &state.data;
    let known = |ty: MetaType, key: &str| -> Vec<String> {
        params
            .all(key)
            .into_iter()
            .filter(|id| state.exists(ty, id))
            .map(str::to_string)
            .collect()
    };
    let data_sets = known(MetaType::DataSet, "dataSet");
    let data_elements = known(MetaType::DataElement, "dataElement");
    let de_groups = known(MetaType::DataElementGroup, "dataElementGroup");
    let org_units = known(MetaType::OrganisationUnit, "orgUnit");
    let ou_groups = known(MetaType::OrganisationUnitGroup, "orgUnitGroup");
    let aocs = known(MetaType::CategoryOptionCombo, "attributeOptionCombo");
    let children = params.flag("children") == Some(true);
    let periods: Vec<&str> = params.all("period");
    let range = match (params.get("startDate"), params.get("endDate")) {
        (Some(s), Some(e)) => Some((parse_date(s, "startDate")?, parse_date(e, "endDate")?)),
        _ => None,
    };
    let duration = params.get("lastUpdatedDuration");
    let limit: Option<i64> = match params.get("limit") {
        None => None,
        Some(l) => Some(l.parse().map_err(|_| {
            Refusal::BadRequest(format!("Value `{l}` of parameter `limit` is not a number"))
        })?),
    };

    let mut failed: Option<(String, &'static str)> = None;
    let mut check = |fails: bool, message: String, code: &'static str| {
        if fails {
            failed = Some((message, code));
        }
    };
    check(
        data_elements.is_empty() && data_sets.is_empty() && de_groups.is_empty(),
        "At least one data element, data set or data element group must be specified".into(),
        "E2001",
    );
    check(
        periods.is_empty()
            && range.is_none()
            && !params.has("lastUpdated")
            && duration.is_none(),
        "At least one period, start/end dates, last updated or last updated duration must be specified".into(),
        "E2002",
    );
    check(
        !periods.is_empty() && range.is_some(),
        "Both periods and start/end date cannot be specified".into(),
        "E2003",
    );
    check(
        range.is_some_and(|(s, e)| s > e),
        "Start date must be before end date".into(),
        "E2004",
    );
    // Raised without its argument, so DHIS2 prints the placeholder.
    check(
        duration.is_some_and(|d| parse_dhis2_duration(d).is_none()),
        "Duration is not valid: `{0}`".into(),
        "E2005",
    );
    check(
        org_units.is_empty() && ou_groups.is_empty(),
        "At least one organisation unit or organisation unit group must be specified".into(),
        "E2006",
    );
    check(
        children && !ou_groups.is_empty(),
        "Organisation unit children cannot be included for organisation unit groups".into(),
        "E2007",
    );
    check(
        children && org_units.is_empty(),
        "At least one organisation unit must be specified when children are included".into(),
        "E2008",
    );
    check(
        limit.is_some_and(|l| l < 0),
        format!("Limit cannot be less than zero: `{}`", limit.unwrap_or(0)),
        "E2009",
    );
    if let Some((message, code)) = failed {
        return Err(Refusal::Conflict(message, code));
    }

    let mut de_ids: HashSet<String> = data_elements.into_iter().collect();
    for ds in &data_sets {
        de_ids.extend(state.member_ids(
            MetaType::DataSet,
            ds,
            "dataSetElements",
            Some("dataElement"),
        ));
    }
    for group in &de_groups {
        de_ids.extend(state.member_ids(MetaType::DataElementGroup, group, "dataElements", None));
    }
    let mut ou_ids: HashSet<String> = HashSet::new();
    for ou in &org_units {
        if children {
            ou_ids.extend(state.org_unit_subtree(ou));
        } else {
            ou_ids.insert(ou.clone());
        }
    }
    for group in &ou_groups {
        ou_ids.extend(state.member_ids(
            MetaType::OrganisationUnitGroup,
            group,
            "organisationUnits",
            None,
        ));
    }
    // The SQL compares `dv.lastupdated` (timestamp without time zone, written
    // in the server's zone) with a string literal (2.41.3
    // dxf2/datavalueset/SpringDataValueSetStore.java getDataValueSql; the same
    // in 2.39.6, 2.40.5 and 2.42.1):
    // - `lastUpdated`: parsed in the server zone (DateUtils.parseDate), then
    //   written as UTC by `toLongGmtDate`, so the bound is the *UTC* wall time and
    //   a server west of UTC misses values of the last |offset| hours;
    // - `lastUpdatedDuration`: `DateUtils.nowMinusDuration` takes the local wall
    //   time as if it were UTC, which `toLongGmtDate` prints back unchanged: the
    //   bound is local now minus the duration, whatever the offset.
    let last_updated = match params.get("lastUpdated") {
        Some(t) => Some(clock::local_to_utc(clock::parse(t).ok_or_else(|| {
            Refusal::BadRequest(format!("Invalid date `{t}` for parameter lastUpdated"))
        })?)),
        None => duration
            .and_then(parse_dhis2_duration)
            .map(|d| clock::now() - d),
    };
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
    let aocs: HashSet<String> = aocs.into_iter().collect();
    Ok(Selection {
        data_elements: flags(&de_ids),
        org_units: flags(&ou_ids),
        periods: period_flags,
        attribute_option_combos: (!aocs.is_empty()).then(|| flags(&aocs)),
        last_updated: last_updated.map(clock::to_millis),
        include_deleted: params.flag("includeDeleted") == Some(true),
        limit: limit.map(|l| l as usize),
    })
}

/// `10d`, `6h`, `30m`, `90s` (DateUtils `getDuration`: `None` when it does not parse).
fn parse_dhis2_duration(s: &str) -> Option<chrono::Duration> {
    // `^(\d+)(d|h|m|s)$` (DURATION_PATTERN): digits only, no sign.
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = n.parse().ok()?;
    Some(match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        "s" => chrono::Duration::seconds(n),
        _ => return None,
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
        /// Row indices in the order this answer sends them.
        order: Vec<u32>,
        next: usize,
        emitted: usize,
        done: bool,
        started: bool,
    }
    let order = {
        let rows = sim.read().data.rows.len();
        sim.export_order(rows)
    };
    let cursor = Cursor {
        order,
        next: 0,
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
                let end = (c.next + CHUNK_SCAN).min(c.order.len());
                while c.next < end && c.emitted - count_before < CHUNK_VALUES && c.emitted < limit {
                    let i = c.order[c.next] as usize;
                    c.next += 1;
                    let Some(row) = store.rows.get(i) else {
                        continue;
                    };
                    if sel.admits(row) {
                        if c.emitted > 0 {
                            out.push(',');
                        }
                        store.write_json(row, &mut out);
                        c.emitted += 1;
                    }
                }
                if c.next >= c.order.len() || c.emitted >= limit {
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
