//! Users, user roles, user groups and attributes, and what points at them:
//! `sharing` on every shareable object, `attributeValues` and `translations`
//! on some. Their own RNG stream, so the rest of the content (and its digest)
//! does not move when this part changes.

use chrono::NaiveDateTime;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::super::model::{MetaType, defaults, new_uid};
use super::super::state::SimState;

/// The account `/api/me` describes (every simulator has it, `--empty` included).
pub const ADMIN_USER: &str = "M5zQapPyTZI";
pub const SUPERUSER_ROLE: &str = "yrB6vc5Ip3r";

/// The admin account and its role, as a fresh DHIS2 has them.
pub fn insert_admin(state: &mut SimState, username: &str, at: NaiveDateTime) {
    put(
        state,
        MetaType::UserRole,
        json!({"id": SUPERUSER_ROLE, "name": "Superuser", "authorities": ["ALL"]}),
        at,
    );
    put(
        state,
        MetaType::User,
        json!({"id": ADMIN_USER, "username": username, "name": "Simulated Superuser",
               "firstName": "Simulated", "surname": "Superuser", "disabled": false,
               "userRoles": [{"id": SUPERUSER_ROLE}]}),
        at,
    );
}

fn put(state: &mut SimState, ty: MetaType, body: Value, at: NaiveDateTime) {
    if let Value::Object(b) = body {
        state.put_meta(ty, b, at);
    }
}

const ROLES: &[(&str, &[&str])] = &[
    (
        "Data entry clerk",
        &["F_DATAVALUE_ADD", "M_dhis-web-aggregate-data-entry"],
    ),
    (
        "Data manager",
        &["F_DATAVALUE_ADD", "F_DATAVALUE_DELETE", "F_APPROVE_DATA"],
    ),
    (
        "Tracker clerk",
        &["F_TRACKED_ENTITY_INSTANCE_ADD", "M_dhis-web-capture"],
    ),
];
const FIRST: &[&str] = &[
    "Amina", "Kofi", "Fatmata", "Ibrahim", "Mariama", "Musa", "Hawa", "Abu",
];
const LAST: &[&str] = &[
    "Kamara", "Sesay", "Conteh", "Bangura", "Koroma", "Turay", "Jalloh",
];
const GROUPS: &[&str] = &["District data managers", "Facility staff", "M&E officers"];
const USERS: usize = 12;

/// Seeded users, roles, groups and attributes, then sharing, attribute values
/// and translations on the objects already generated.
pub fn populate(state: &mut SimState, seed: u64, at: NaiveDateTime) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x05e5_05e5);
    let rng = &mut rng;
    let roots: Vec<String> = state
        .meta(MetaType::OrganisationUnit)
        .iter()
        .filter(|(_, o)| o.body.get("level").and_then(Value::as_u64) <= Some(2))
        .map(|(id, _)| id.clone())
        .collect();
    let roles: Vec<String> = ROLES
        .iter()
        .map(|(name, auths)| {
            let id = new_uid(rng);
            put(
                state,
                MetaType::UserRole,
                json!({"id": id, "name": name, "authorities": auths}),
                at,
            );
            id
        })
        .collect();
    let mut users = Vec::new();
    for i in 0..USERS {
        let id = new_uid(rng);
        let (first, last) = (
            FIRST[i % FIRST.len()],
            LAST[rng.random_range(0..LAST.len())],
        );
        let ou = roots.get(rng.random_range(0..roots.len().max(1))).cloned();
        put(
            state,
            MetaType::User,
            json!({"id": id, "username": format!("{}.{}{i}", first.to_lowercase(), last.to_lowercase()),
                   "name": format!("{first} {last}"), "firstName": first, "surname": last,
                   "disabled": false, "userRoles": [{"id": roles[i % roles.len()]}],
                   "organisationUnits": ou.iter().map(|o| json!({"id": o})).collect::<Vec<_>>()}),
            at,
        );
        users.push(id);
    }
    let groups: Vec<String> = GROUPS
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let id = new_uid(rng);
            let members: Vec<Value> = users
                .iter()
                .enumerate()
                .filter(|(i, _)| i % GROUPS.len() == g)
                .map(|(_, u)| json!({"id": u}))
                .collect();
            put(
                state,
                MetaType::UserGroup,
                json!({"id": id, "name": name, "users": members}),
                at,
            );
            id
        })
        .collect();
    let attributes: Vec<String> = [
        ("Reporting classification", "CLASSIFICATION"),
        ("Legacy code", "LEGACY"),
    ]
    .iter()
    .map(|(name, code)| {
        let id = new_uid(rng);
        put(
            state,
            MetaType::Attribute,
            json!({"id": id, "name": name, "code": code, "valueType": "TEXT", "mandatory": false,
                       "unique": false, "dataElementAttribute": true, "dataSetAttribute": true,
                       "organisationUnitAttribute": true, "programAttribute": true,
                       "optionSetAttribute": true, "categoryOptionAttribute": true}),
            at,
        );
        id
    })
    .collect();
    for ty in MetaType::ALL {
        let ids: Vec<String> = state.meta(ty).keys().cloned().collect();
        for id in ids {
            if defaults::is_default(&id) || id == ADMIN_USER || id == SUPERUSER_ROLE {
                continue;
            }
            let Some(obj) = state.meta_mut(ty).get_mut(&id) else {
                continue;
            };
            decorate(rng, ty, &mut obj.body, &users, &groups, &attributes);
        }
    }
}

/// Sharing on every shareable object (some with user and group accesses), an
/// attribute value on every other one that can hold it, a French name on every
/// third.
fn decorate(
    rng: &mut ChaCha8Rng,
    ty: MetaType,
    body: &mut Map<String, Value>,
    users: &[String],
    groups: &[String],
    attributes: &[String],
) {
    if users.is_empty() || groups.is_empty() || attributes.is_empty() {
        return;
    }
    if ty.has_sharing() {
        let owner = &users[rng.random_range(0..users.len())];
        let mut user_accesses = Map::new();
        let mut group_accesses = Map::new();
        if rng.random_bool(0.5) {
            let u = &users[rng.random_range(0..users.len())];
            user_accesses.insert(u.clone(), json!({"id": u, "access": "rw------"}));
        }
        if rng.random_bool(0.5) {
            let g = &groups[rng.random_range(0..groups.len())];
            group_accesses.insert(g.clone(), json!({"id": g, "access": "r-r-----"}));
        }
        body.insert(
            "sharing".into(),
            json!({"owner": owner, "external": false, "public": "rw------",
                   "users": user_accesses, "userGroups": group_accesses}),
        );
    }
    if ty.has_attribute_values() && rng.random_bool(0.5) {
        let a = &attributes[rng.random_range(0..attributes.len())];
        body.insert(
            "attributeValues".into(),
            json!([{"attribute": {"id": a}, "value": format!("C{}", rng.random_range(100..999))}]),
        );
    }
    if ty.has_translations()
        && rng.random_range(0..3) == 0
        && let Some(name) = body.get("name").and_then(Value::as_str)
    {
        let tr = json!([{"property": "NAME", "locale": "fr", "value": format!("{name} (fr)")}]);
        body.insert("translations".into(), tr);
    }
}
