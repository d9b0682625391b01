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
