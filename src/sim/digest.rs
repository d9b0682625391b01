//! `/api/_sim/digest`, `/api/_sim/stats`, `POST /api/_sim/mutate` and
//! `POST /api/_sim/clock`: test aids, not part of DHIS2. The
//! digest lets a test assert that a destination holds exactly what the source
//! holds: per resource, an MD5 over canonical content without timestamps, and a count.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Shared;
use super::model::MetaType;
use super::response::{error, ok_json};
use super::state::SimState;
use super::tracker_store::TrackerKind;
use crate::hashing::{Md5Hex, canonical_json, strip_keys};

/// Fields that differ between two instances holding the same content.
const VOLATILE: &[&str] = &[
    "created",
    "lastUpdated",
    "createdBy",
    "lastUpdatedBy",
    "href",
    "displayName",
    "displayShortName",
    "access",
    "createdAt",
    "updatedAt",
    "createdAtClient",
    "updatedAtClient",
    "storedBy",
    "updatedBy",
    "deleted",
    // Sharing names the instance's own users and groups; with skipSharing
    // (the default sync) the destination keeps or sets its own.
    "sharing",
];

fn digest_objects<'a>(objects: impl Iterator<Item = &'a Map<String, Value>>) -> Value {
    let mut hash = Md5Hex::default();
    let mut count = 0u64;
    for obj in objects {
        let mut v = Value::Object(obj.clone());
        strip_keys(&mut v, VOLATILE);
        hash.update(canonical_json(&v).as_bytes());
        hash.update(b"\n");
        count += 1;
    }
    json!({"md5": hash.finish(), "count": count})
}

fn digest_data_values(state: &SimState) -> Value {
    let store = &state.data;
    let mut lines: Vec<String> = store
        .rows
        .iter()
        .filter(|r| !r.deleted)
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}",
                store.uids.name(r.key[0]),
                store.periods.name(r.key[1]),
                store.uids.name(r.key[2]),
                store.uids.name(r.key[3]),
                store.uids.name(r.key[4]),
                r.value.as_deref().unwrap_or(""),
                r.comment.as_deref().unwrap_or(""),
                r.followup
            )
        })
        .collect();
    lines.sort_unstable();
    let mut hash = Md5Hex::default();
    for line in &lines {
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    json!({"md5": hash.finish(), "count": lines.len()})
}

fn compute(state: &SimState) -> Value {
    let mut resources = Map::new();
    for ty in MetaType::ALL {
        // BTreeMap iteration is by id: a stable order on both sides.
        resources.insert(
            ty.plural().into(),
            digest_objects(state.meta(ty).values().map(|o| &o.body)),
        );
    }
    resources.insert("dataValues".into(), digest_data_values(state));
    for kind in TrackerKind::ALL {
        let live = state
            .tracker
            .of(kind)
            .values()
            .filter(|o| !o.deleted)
            .map(|o| &o.body);
        resources.insert(kind.plural().into(), digest_objects(live));
    }
    json!({"resources": resources})
}

pub async fn digest(State(sim): State<Shared>) -> Response {
    // Hashing a million values is CPU work: keep it off the async workers.
    match tokio::task::spawn_blocking(move || compute(&sim.read())).await {
        Ok(body) => ok_json(&body),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("digest failed: {e}"),
        ),
    }
}

pub async fn stats(State(sim): State<Shared>) -> Response {
    let stats = sim.stats();
    ok_json(&json!({
        "requests": stats.requests,
        "objectsReturned": stats.objects_returned,
        "objectsImported": stats.objects_imported,
        "faultsInjected": stats.faults,
    }))
}

#[derive(Debug, serde::Deserialize)]
pub struct MutateParams {
    #[serde(default = "one")]
    rounds: u64,
}

fn one() -> u64 {
    1
}

/// Runs `rounds` rounds of the same edits `--mutate-every` makes, now (tests
/// need the source to change at a known moment).
pub async fn mutate(State(sim): State<Shared>, Query(p): Query<MutateParams>) -> Response {
    let rounds = p.rounds.clamp(1, 100);
    let sim2 = sim.clone();
    match tokio::task::spawn_blocking(move || {
        for tick in 0..rounds {
            super::mutate::mutate_once(&sim2, 1_000_000 + tick);
        }
    })
    .await
    {
        Ok(()) => ok_json(&json!({"rounds": rounds})),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("mutation failed: {e}"),
        ),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ClockParams {
    advance: String,
}

/// Puts the server's clock forward by `advance` (`30s`, `5m`; at most a day),
/// so a test can let time pass at the source without sleeping.
pub async fn advance_clock(Query(p): Query<ClockParams>) -> Response {
    const MAX: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let by = match humantime::parse_duration(&p.advance) {
        Ok(by) if by <= MAX => by,
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("advance `{}`: at most 24h at a time", p.advance),
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("advance `{}`: {e} (a duration such as `30s`)", p.advance),
            );
        }
    };
    let Ok(step) = chrono::Duration::from_std(by) else {
        return error(StatusCode::BAD_REQUEST, "advance: out of range");
    };
    super::clock::advance(step);
    ok_json(&json!({"serverDate": super::clock::format(super::clock::now())}))
}
