//! Aggregate data values in a compact in-memory form: a million values must fit
//! in a modest heap, so identifiers are interned and times kept as milliseconds.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{clock, periods};

/// Strings interned to small integers.
#[derive(Default)]
pub struct Interner {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.into());
        self.index.insert(s.into(), i);
        i
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// The identity of a data value: data element, period, org unit, COC, AOC.
pub type Key = [u32; 5];

pub struct Row {
    pub key: Key,
    pub value: Option<Box<str>>,
    pub comment: Option<Box<str>>,
    pub stored_by: u32,
    pub created: i64,
    pub last_updated: i64,
    pub followup: bool,
    pub deleted: bool,
}

impl Row {
    pub fn de(&self) -> u32 {
        self.key[0]
    }
    pub fn pe(&self) -> u32 {
        self.key[1]
    }
    pub fn ou(&self) -> u32 {
        self.key[2]
    }
}

/// What an incoming value did to the store, counted in the ImportSummary.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Imported,
    Updated,
    Deleted,
    Ignored,
}

/// An incoming value, already resolved to interned ids.
pub struct Incoming<'a> {
    pub key: Key,
    pub value: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub followup: bool,
    pub delete: bool,
    pub stored_by: &'a str,
    pub at: i64,
    /// Times from the payload (2.39/2.40 keep them), else `at`.
    pub created: Option<i64>,
    pub last_updated: Option<i64>,
}

#[derive(Default)]
pub struct DataValueStore {
    /// UIDs of data elements, org units and category option combos.
    pub uids: Interner,
    pub periods: Interner,
    period_ranges: Vec<Option<(NaiveDate, NaiveDate)>>,
    users: Interner,
    pub rows: Vec<Row>,
    by_key: HashMap<Key, u32>,
}

impl DataValueStore {
    pub fn intern_period(&mut self, iso: &str) -> u32 {
        let i = self.periods.intern(iso);
        if i as usize == self.period_ranges.len() {
            self.period_ranges.push(periods::period_range(iso));
        }
        i
    }

    pub fn period_range(&self, pe: u32) -> Option<(NaiveDate, NaiveDate)> {
        self.period_ranges.get(pe as usize).copied().flatten()
    }

    pub fn stored_by(&self, row: &Row) -> &str {
        self.users.name(row.stored_by)
    }

    pub fn get(&self, key: &Key) -> Option<&Row> {
        self.by_key.get(key).map(|&i| &self.rows[i as usize])
    }

    /// Adds a value known to be new (bulk generation).
    pub fn push_new(&mut self, mut row: Row, stored_by: &str) {
        row.stored_by = self.users.intern(stored_by);
        self.by_key.insert(row.key, self.rows.len() as u32);
        self.rows.push(row);
    }

    /// Applies one incoming value with CREATE_AND_UPDATE semantics; `dry_run`
    /// computes the outcome without changing anything.
    pub fn apply(&mut self, incoming: &Incoming<'_>, dry_run: bool) -> Applied {
        let delete = incoming.delete || incoming.value.is_none();
        match self.by_key.get(&incoming.key).copied() {
            None if delete => Applied::Ignored,
            None => {
                if !dry_run {
                    let stored_by = self.users.intern(incoming.stored_by);
                    self.by_key.insert(incoming.key, self.rows.len() as u32);
                    self.rows.push(Row {
                        key: incoming.key,
                        value: incoming.value.map(Into::into),
                        comment: incoming.comment.map(Into::into),
                        stored_by,
                        created: incoming.created.unwrap_or(incoming.at),
                        last_updated: incoming.last_updated.unwrap_or(incoming.at),
                        followup: incoming.followup,
                        deleted: false,
                    });
                }
                Applied::Imported
            }
            Some(i) => {
                let row = &self.rows[i as usize];
                let outcome = match (delete, row.deleted) {
                    (true, true) => return Applied::Ignored,
                    (true, false) => Applied::Deleted,
                    // A soft-deleted value written again comes back as a new one.
                    (false, true) => Applied::Imported,
                    (false, false) => {
                        let unchanged = row.value.as_deref() == incoming.value
                            && row.comment.as_deref() == incoming.comment
                            && row.followup == incoming.followup;
                        if unchanged {
                            return Applied::Ignored;
                        }
                        Applied::Updated
                    }
                };
                if !dry_run {
                    let stored_by = self.users.intern(incoming.stored_by);
                    let row = &mut self.rows[i as usize];
                    row.deleted = delete;
                    if !delete {
                        row.value = incoming.value.map(Into::into);
                        row.comment = incoming.comment.map(Into::into);
                        row.followup = incoming.followup;
                    }
                    row.stored_by = stored_by;
                    if let Some(created) = incoming.created {
                        row.created = created;
                    }
                    row.last_updated = incoming.last_updated.unwrap_or(incoming.at);
                }
                outcome
            }
        }
    }

    /// Appends one value as DHIS2 writes it in a dataValueSet.
    pub fn write_json(&self, row: &Row, out: &mut String) {
        use std::fmt::Write;
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let _ = write!(
            out,
            "{{\"dataElement\":\"{}\",\"period\":\"{}\",\"orgUnit\":\"{}\",\"categoryOptionCombo\":\"{}\",\"attributeOptionCombo\":\"{}\"",
            self.uids.name(row.key[0]),
            self.periods.name(row.key[1]),
            self.uids.name(row.key[2]),
            self.uids.name(row.key[3]),
            self.uids.name(row.key[4]),
        );
        if let Some(v) = &row.value {
            let _ = write!(out, ",\"value\":{}", q(v));
        }
        let _ = write!(
            out,
            ",\"storedBy\":{},\"created\":\"{}\",\"lastUpdated\":\"{}\"",
            q(self.stored_by(row)),
            clock::format_utc(clock::from_millis(row.created)),
            clock::format_utc(clock::from_millis(row.last_updated)),
        );
        if let Some(c) = &row.comment {
            let _ = write!(out, ",\"comment\":{}", q(c));
        }
        let _ = write!(out, ",\"followup\":{}", row.followup);
        if row.deleted {
            out.push_str(",\"deleted\":true");
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(value: Option<&str>, delete: bool) -> Incoming<'_> {
        Incoming {
            key: [0, 0, 1, 2, 2],
            value,
            comment: None,
            followup: false,
            delete,
            stored_by: "admin",
            at: 1_000,
            created: None,
            last_updated: None,
        }
    }

    #[test]
    fn create_update_ignore_delete_cycle() {
        let mut s = DataValueStore::default();
        assert_eq!(
            s.apply(&incoming(Some("1"), false), true),
            Applied::Imported
        );
        assert!(s.rows.is_empty(), "dry run stores nothing");
        assert_eq!(
            s.apply(&incoming(Some("1"), false), false),
            Applied::Imported
        );
        assert_eq!(
            s.apply(&incoming(Some("1"), false), false),
            Applied::Ignored
        );
        assert_eq!(
            s.apply(&incoming(Some("2"), false), false),
            Applied::Updated
        );
        assert_eq!(s.apply(&incoming(Some("2"), true), false), Applied::Deleted);
        assert!(s.rows[0].deleted);
        assert_eq!(s.apply(&incoming(None, false), false), Applied::Ignored);
        assert_eq!(
            s.apply(&incoming(Some("3"), false), false),
            Applied::Imported
        );
        assert_eq!(s.rows.len(), 1);
        assert!(!s.rows[0].deleted);
    }

    #[test]
    fn json_escapes_values() {
        let mut s = DataValueStore::default();
        for uid in ["deAAAAAAAAA", "pe", "ouAAAAAAAAA", "cocAAAAAAAA"] {
            s.uids.intern(uid);
        }
        s.intern_period("202401");
        s.apply(
            &Incoming {
                key: [0, 0, 2, 3, 3],
                value: Some("a\"b\u{1b}"),
                ..incoming(None, false)
            },
            false,
        );
        let mut out = String::new();
        s.write_json(&s.rows[0], &mut out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["value"], "a\"b\u{1b}");
        assert_eq!(v["period"], "202401");
    }
}
