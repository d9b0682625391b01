//! Everything the simulated DHIS2 holds: metadata, deletions, data values,
//! tracker objects, async jobs and request statistics.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::datavalues::DataValueStore;
use super::model::MetaType;
use super::tracker_store::TrackerStore;

pub struct MetaObject {
    pub last_updated: NaiveDateTime,
    pub body: Map<String, Value>,
}

pub struct DeletedObject {
    pub klass: &'static str,
    pub uid: String,
    pub code: Option<String>,
    pub deleted_at: NaiveDateTime,
    pub deleted_by: String,
}

/// A finished async import: metadata, data values (`/api/system/tasks`) or
/// tracker (`/api/tracker/jobs`).
pub struct Task {
    pub notifications: Value,
    /// The report: `/api/system/taskSummaries` or `/api/tracker/jobs/{id}/report`.
    pub summary: Value,
}

#[derive(Default)]
pub struct Stats {
    pub requests: BTreeMap<String, u64>,
    pub objects_returned: BTreeMap<String, u64>,
    pub objects_imported: BTreeMap<String, u64>,
    /// Injected faults by kind (`hang`, `stall`, `fail`).
    pub faults: BTreeMap<String, u64>,
}

pub struct SimState {
    meta: Vec<BTreeMap<String, MetaObject>>,
    pub deleted: Vec<DeletedObject>,
    pub data: DataValueStore,
    pub tracker: TrackerStore,
    /// Keyed by (job type, id).
    pub tasks: HashMap<(String, String), Task>,
}

impl Default for SimState {
    fn default() -> Self {
        Self {
            meta: MetaType::ALL.iter().map(|_| BTreeMap::new()).collect(),
            deleted: Vec::new(),
            data: DataValueStore::default(),
            tracker: TrackerStore::default(),
            tasks: HashMap::new(),
        }
    }
}

impl SimState {
    fn slot(ty: MetaType) -> usize {
        MetaType::ALL.iter().position(|t| *t == ty).unwrap_or(0)
    }

    /// Objects of one type, ordered by id (DHIS2's `order=id:asc`).
    pub fn meta(&self, ty: MetaType) -> &BTreeMap<String, MetaObject> {
        &self.meta[Self::slot(ty)]
    }

    pub fn meta_mut(&mut self, ty: MetaType) -> &mut BTreeMap<String, MetaObject> {
        &mut self.meta[Self::slot(ty)]
    }

    pub fn exists(&self, ty: MetaType, id: &str) -> bool {
        self.meta(ty).contains_key(id)
    }

    /// Inserts or replaces an object, stamping `lastUpdated` (and `created` when new).
    pub fn put_meta(&mut self, ty: MetaType, mut body: Map<String, Value>, at: NaiveDateTime) {
        let Some(id) = body.get("id").and_then(Value::as_str).map(str::to_string) else {
            return;
        };
        let stamp = Value::String(super::clock::format(at));
        let created = self
            .meta(ty)
            .get(&id)
            .and_then(|o| o.body.get("created").cloned())
            .unwrap_or_else(|| stamp.clone());
        body.insert("created".into(), created);
        body.insert("lastUpdated".into(), stamp);
        if ty == MetaType::OrganisationUnit {
            self.place_org_unit(&mut body, &id);
        }
        self.meta_mut(ty).insert(
            id,
            MetaObject {
                last_updated: at,
                body,
            },
        );
    }

    /// Derives `path` and `level` from the parent, as DHIS2 does on save.
    fn place_org_unit(&self, body: &mut Map<String, Value>, id: &str) {
        let parent = body
            .get("parent")
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .and_then(|pid| self.meta(MetaType::OrganisationUnit).get(pid));
        let (path, level) = match parent {
            Some(p) => {
                let ppath = p.body.get("path").and_then(Value::as_str).unwrap_or("");
                let plevel = p.body.get("level").and_then(Value::as_u64).unwrap_or(0);
                (format!("{ppath}/{id}"), plevel + 1)
            }
            None => (format!("/{id}"), 1),
        };
        body.insert("path".into(), Value::String(path));
        body.insert("level".into(), Value::from(level));
    }

    pub fn delete_meta(&mut self, ty: MetaType, id: &str, at: NaiveDateTime, by: &str) -> bool {
        let Some(obj) = self.meta_mut(ty).remove(id) else {
            return false;
        };
        self.deleted.push(DeletedObject {
            klass: ty.short_klass(),
            uid: id.to_string(),
            code: obj
                .body
                .get("code")
                .and_then(Value::as_str)
                .map(str::to_string),
            deleted_at: at,
            deleted_by: by.to_string(),
        });
        true
    }

    /// Ids of `root` and every org unit below it.
    pub fn org_unit_subtree(&self, root: &str) -> HashSet<String> {
        let marker = format!("/{root}");
        self.meta(MetaType::OrganisationUnit)
            .iter()
            .filter(|(_, o)| {
                o.body
                    .get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.contains(&marker))
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Direct children of an org unit.
    pub fn org_unit_children(&self, parent: &str) -> HashSet<String> {
        self.meta(MetaType::OrganisationUnit)
            .iter()
            .filter(|(_, o)| {
                o.body
                    .get("parent")
                    .and_then(|p| p.get("id"))
                    .and_then(Value::as_str)
                    == Some(parent)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The ids listed under `list[].inner.id` (or `list[].id` when inner is None) of one object.
    pub fn member_ids(
        &self,
        ty: MetaType,
        id: &str,
        list: &str,
        inner: Option<&str>,
    ) -> Vec<String> {
        let Some(obj) = self.meta(ty).get(id) else {
            return Vec::new();
        };
        obj.body
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let target = match inner {
                    Some(field) => item.get(field)?,
                    None => item,
                };
                target.get("id").and_then(Value::as_str).map(str::to_string)
            })
            .collect()
    }
}
