//! The `[sync.pull]` table of an `http_pull` sync.

use std::time::Duration;

use toml::de::DeValue;

use super::values::join;
use super::{Parser, Table};
use crate::config::model::{PullApply, PullSettings};

pub(super) const PULL_KEYS: &[&str] = &[
    "target",
    "interval",
    "first_pull_after",
    "verify_hash",
    "hash_field",
    "on_change",
    "on_change_timeout",
    "apply",
];

/// Keys of a DHIS2 sync that mean nothing to an `http_pull` one.
pub(super) const DHIS2_ONLY_KEYS: &[&str] = &[
    "destination",
    "metadata",
    "data_sets",
    "programs",
    "org_units",
    "exclude",
    "skip_sharing",
    "auto",
];

impl Parser<'_> {
    pub(super) fn pull(&mut self, t: &Table<'_>, at: usize, ctx: &str) -> Option<PullSettings> {
        self.unknown_keys(t, ctx, PULL_KEYS);
        let target = self
            .required_str(t, at, ctx, "target")
            .and_then(|(v, span)| {
                if v.trim().is_empty() || v.chars().any(char::is_control) || v.ends_with('/') {
                    self.err(
                        span.start,
                        join(ctx, "target"),
                        "must be a file path (not a directory), without control characters",
                    );
                    return None;
                }
                Some(self.resolve_path(&v))
            });
        let mut pull = PullSettings::new(target?);
        if let Some(d) = self.duration(t, ctx, "interval") {
            if d < PullSettings::MIN_INTERVAL {
                self.err(
                    t.get("interval").map_or(at, |v| v.span().start),
                    join(ctx, "interval"),
                    "must be at least 1s",
                );
            }
            pull.interval = d;
        }
        if let Some(d) = self.duration(t, ctx, "first_pull_after") {
            pull.first_pull_after = d;
        }
        if let Some(b) = self.bool(t, ctx, "verify_hash") {
            pull.verify_hash = b;
        }
        if let Some((field, span)) = self.opt_str(t, ctx, "hash_field") {
            if field.is_empty() || field.chars().any(char::is_control) {
                self.err(
                    span.start,
                    join(ctx, "hash_field"),
                    "must be a non-empty field name",
                );
            }
            pull.hash_field = field;
        }
        if let Some(argv) = self.argv(t, ctx, "on_change") {
            pull.on_change = argv;
        }
        if let Some(d) = self.duration(t, ctx, "on_change_timeout") {
            if d < Duration::from_secs(1) {
                self.err(
                    t.get("on_change_timeout").map_or(at, |v| v.span().start),
                    join(ctx, "on_change_timeout"),
                    "must be at least 1s",
                );
            }
            pull.on_change_timeout = d;
        }
        if let Some((v, span)) = self.opt_str(t, ctx, "apply") {
            match PullApply::parse(&v) {
                Some(a) => pull.apply = a,
                None => self.err(
                    span.start,
                    join(ctx, "apply"),
                    format!(
                        "unknown value \"{v}\"; expected \"file\" (write the document for another program) or \"syncdeck\" (it is a syncdeck configuration)"
                    ),
                ),
            }
        }
        Some(pull)
    }

    /// A command as argv: a non-empty list of strings, run without a shell.
    fn argv(&mut self, t: &Table<'_>, ctx: &str, key: &str) -> Option<Vec<String>> {
        let v = t.get(key)?;
        let path = join(ctx, key);
        let items = match v.get_ref() {
            DeValue::Array(items) if !items.is_empty() => items,
            DeValue::String(_) => {
                self.err(
                    v.span().start,
                    path,
                    "must be a list, the program then its arguments, like [\"systemctl\", \"reload\", \"agent\"]; it runs without a shell",
                );
                return None;
            }
            _ => {
                self.err(
                    v.span().start,
                    path,
                    "must be a non-empty list of strings: the program, then its arguments",
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) if !s.contains('\0') => out.push(s.to_string()),
                _ => {
                    self.err(
                        item.span().start,
                        &path,
                        "entries must be strings without NUL characters",
                    );
                    return None;
                }
            }
        }
        if out[0].trim().is_empty() {
            self.err(v.span().start, &path, "the program must not be empty");
            return None;
        }
        Some(out)
    }
}
