//! Tracked entities, enrollments and events, kept as the JSON DHIS2 exports.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrackerKind {
    TrackedEntity,
    Enrollment,
    Event,
}

impl TrackerKind {
    pub const ALL: [TrackerKind; 3] = [Self::TrackedEntity, Self::Enrollment, Self::Event];

    /// The uid property, also the singular name.
    pub fn uid_field(self) -> &'static str {
        match self {
            Self::TrackedEntity => "trackedEntity",
            Self::Enrollment => "enrollment",
            Self::Event => "event",
        }
    }
    pub fn plural(self) -> &'static str {
        match self {
            Self::TrackedEntity => "trackedEntities",
            Self::Enrollment => "enrollments",
            Self::Event => "events",
        }
    }
    /// The key of `bundleReport.typeReportMap` and of error reports.
    pub fn report_type(self) -> &'static str {
        match self {
            Self::TrackedEntity => "TRACKED_ENTITY",
            Self::Enrollment => "ENROLLMENT",
            Self::Event => "EVENT",
        }
    }
    pub fn from_plural(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.plural() == s)
    }
}

pub struct TrackerObject {
    pub updated_at: NaiveDateTime,
    pub deleted: bool,
    pub body: Map<String, Value>,
}

impl TrackerObject {
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
}

#[derive(Default)]
pub struct TrackerStore {
    kinds: [BTreeMap<String, TrackerObject>; 3],
}

impl TrackerStore {
    fn slot(kind: TrackerKind) -> usize {
        kind as usize
    }
    pub fn of(&self, kind: TrackerKind) -> &BTreeMap<String, TrackerObject> {
        &self.kinds[Self::slot(kind)]
    }
    pub fn of_mut(&mut self, kind: TrackerKind) -> &mut BTreeMap<String, TrackerObject> {
        &mut self.kinds[Self::slot(kind)]
    }

    /// Stores an object as sent, stamping `updatedAt` (and `createdAt` when new).
    pub fn put(
        &mut self,
        kind: TrackerKind,
        uid: &str,
        mut body: Map<String, Value>,
        at: NaiveDateTime,
    ) {
        let stamp = Value::String(super::clock::format(at));
        let created = self
            .of(kind)
            .get(uid)
            .and_then(|o| o.body.get("createdAt").cloned())
            .unwrap_or_else(|| stamp.clone());
        body.insert(kind.uid_field().into(), Value::String(uid.to_string()));
        body.insert("createdAt".into(), created);
        body.insert("updatedAt".into(), stamp);
        body.insert("deleted".into(), Value::Bool(false));
        self.of_mut(kind).insert(
            uid.to_string(),
            TrackerObject {
                updated_at: at,
                deleted: false,
                body,
            },
        );
    }

    /// Soft-deletes an object; a tracked entity takes its enrollments and
    /// events with it, an enrollment its events (as DHIS2 cascades).
    pub fn soft_delete(&mut self, kind: TrackerKind, uid: &str, at: NaiveDateTime) -> bool {
        let Some(obj) = self.of_mut(kind).get_mut(uid) else {
            return false;
        };
        if obj.deleted {
            return false;
        }
        mark_deleted(obj, at);
        let children: Vec<(TrackerKind, String)> = match kind {
            TrackerKind::TrackedEntity => self
                .children_of(TrackerKind::Enrollment, "trackedEntity", uid)
                .into_iter()
                .map(|u| (TrackerKind::Enrollment, u))
                .chain(
                    self.children_of(TrackerKind::Event, "trackedEntity", uid)
                        .into_iter()
                        .map(|u| (TrackerKind::Event, u)),
                )
                .collect(),
            TrackerKind::Enrollment => self
                .children_of(TrackerKind::Event, "enrollment", uid)
                .into_iter()
                .map(|u| (TrackerKind::Event, u))
                .collect(),
            TrackerKind::Event => Vec::new(),
        };
        for (child_kind, child) in children {
            if let Some(o) = self.of_mut(child_kind).get_mut(&child)
                && !o.deleted
            {
                mark_deleted(o, at);
            }
        }
        true
    }

    fn children_of(&self, kind: TrackerKind, field: &str, parent: &str) -> Vec<String> {
        self.of(kind)
            .iter()
            .filter(|(_, o)| o.str_field(field) == Some(parent))
            .map(|(uid, _)| uid.clone())
            .collect()
    }
}

fn mark_deleted(obj: &mut TrackerObject, at: NaiveDateTime) {
    obj.deleted = true;
    obj.updated_at = at;
    obj.body.insert("deleted".into(), Value::Bool(true));
    obj.body
        .insert("updatedAt".into(), Value::String(super::clock::format(at)));
}
