//! `--mutate-every`: a slowly changing source, so change detection has work.
//! Each tick edits, creates and deletes a few metadata objects, data values and
//! events, always keeping references valid so a sync of the changes can succeed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Months;
use rand::Rng;
use serde_json::{Value, json};

use super::datavalues::{Incoming, Key};
use super::model::{MetaType, new_uid};
use super::tracker_store::TrackerKind;
use super::{Sim, clock, periods};

pub async fn run(sim: Arc<Sim>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await; // the first tick is immediate: let the initial state be seen first
    let mut tick = 0u64;
    loop {
        ticker.tick().await;
        tick += 1;
        mutate_once(&sim, tick);
    }
}

fn random_key<K: Clone, V>(
    map: &std::collections::BTreeMap<K, V>,
    rng: &mut impl Rng,
    pred: impl Fn(&V) -> bool,
) -> Option<K> {
    let candidates: Vec<&K> = map
        .iter()
        .filter(|(_, v)| pred(v))
        .map(|(k, _)| k)
        .collect();
    if candidates.is_empty() {
        return None;
    }
    Some(candidates[rng.random_range(0..candidates.len())].clone())
}

pub fn mutate_once(sim: &Sim, tick: u64) {
    let now = clock::now();
    let at = clock::to_millis(now);
    let mut state = sim.write();
    let user = sim.opts.username.clone();
    sim.random(|rng| {
        // Metadata: rename two data elements, add a group, retire an old one.
        for _ in 0..2 {
            if let Some(id) = random_key(state.meta(MetaType::DataElement), rng, |_| true)
                && let Some(mut body) = state.meta(MetaType::DataElement).get(&id).map(|o| o.body.clone()) {
                    body.insert("description".into(), json!(format!("Revised in change {tick}")));
                    state.put_meta(MetaType::DataElement, body, now);
                }
        }
        let members: Vec<Value> = (0..2)
            .filter_map(|_| random_key(state.meta(MetaType::DataElement), rng, |_| true))
            .map(|id| json!({"id": id}))
            .collect();
        let group = new_uid(rng);
        let name = format!("Review group {tick}");
        let body = json!({"id": group, "name": name, "shortName": name, "code": format!("SIM_CHANGE_{tick}"), "dataElements": members});
        if let Value::Object(body) = body {
            state.put_meta(MetaType::DataElementGroup, body, now);
        }
        let old = state
            .meta(MetaType::DataElementGroup)
            .iter()
            .filter(|(_, o)| o.body.get("code").and_then(Value::as_str).is_some_and(|c| c.starts_with("SIM_CHANGE_")))
            .map(|(id, o)| (o.last_updated, id.clone()))
            .min();
        let changes = state
            .meta(MetaType::DataElementGroup)
            .values()
            .filter(|o| o.body.get("code").and_then(Value::as_str).is_some_and(|c| c.starts_with("SIM_CHANGE_")))
            .count();
        if let (Some((_, id)), true) = (old, changes > 2) {
            state.delete_meta(MetaType::DataElementGroup, &id, now, &user);
        }

        // Data values: update twenty, add five (one month earlier than an existing one), delete three.
        let rows = state.data.rows.len();
        if rows > 0 {
            for _ in 0..20 {
                let i = rng.random_range(0..rows);
                let row = &state.data.rows[i];
                if row.deleted {
                    continue;
                }
                let key = row.key;
                let value = rng.random_range(0..250u32).to_string();
                state.data.apply(&incoming(key, Some(&value), false, &user, at), false);
            }
            for _ in 0..5 {
                let i = rng.random_range(0..rows);
                let key = state.data.rows[i].key;
                let Some((start, _)) = state.data.period_range(key[1]) else { continue };
                let Some(earlier) = start.checked_sub_months(Months::new(1)) else { continue };
                let pe = state.data.intern_period(&periods::monthly(earlier));
                let new_key: Key = [key[0], pe, key[2], key[3], key[4]];
                if state.data.get(&new_key).is_none() {
                    let value = rng.random_range(0..250u32).to_string();
                    state.data.apply(&incoming(new_key, Some(&value), false, &user, at), false);
                }
            }
            for _ in 0..3 {
                let key = state.data.rows[rng.random_range(0..rows)].key;
                state.data.apply(&incoming(key, None, true, &user, at), false);
            }
        }

        // Events: edit three, add one copy of an existing event, delete one.
        for _ in 0..3 {
            if let Some(uid) = random_key(state.tracker.of(TrackerKind::Event), rng, |o| !o.deleted)
                && let Some(mut body) = state.tracker.of(TrackerKind::Event).get(&uid).map(|o| o.body.clone()) {
                    body.insert("status".into(), json!(if tick.is_multiple_of(2) { "COMPLETED" } else { "ACTIVE" }));
                    state.tracker.put(TrackerKind::Event, &uid, body, now);
                }
        }
        if let Some(uid) = random_key(state.tracker.of(TrackerKind::Event), rng, |o| !o.deleted)
            && let Some(mut body) = state.tracker.of(TrackerKind::Event).get(&uid).map(|o| o.body.clone()) {
                let new = new_uid(rng);
                body.insert("event".into(), json!(new));
                state.tracker.put(TrackerKind::Event, &new, body, now);
            }
        if let Some(uid) = random_key(state.tracker.of(TrackerKind::Event), rng, |o| !o.deleted) {
            state.tracker.soft_delete(TrackerKind::Event, &uid, now);
        }
    });
}

fn incoming<'a>(
    key: Key,
    value: Option<&'a str>,
    delete: bool,
    user: &'a str,
    at: i64,
) -> Incoming<'a> {
    Incoming {
        key,
        value,
        comment: None,
        followup: false,
        delete,
        stored_by: user,
        at,
        created: None,
        last_updated: None,
    }
}
