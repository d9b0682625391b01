//! Typed reads of TOML values, each reporting a wrong type or value with its
//! position and key.

use std::ops::Range;
use std::time::Duration;

use super::{MAX_DURATION, Parser, Table, Value};

impl Parser<'_> {
    pub(super) fn required_str(
        &mut self,
        t: &Table<'_>,
        at: usize,
        ctx: &str,
        key: &str,
    ) -> Option<(String, Range<usize>)> {
        if t.get(key).is_none() {
            self.err(at, ctx, format!("missing required key `{key}`"));
            return None;
        }
        self.opt_str(t, ctx, key)
    }

    pub(super) fn opt_str(
        &mut self,
        t: &Table<'_>,
        ctx: &str,
        key: &str,
    ) -> Option<(String, Range<usize>)> {
        let v: &Value<'_> = t.get(key)?;
        match v.get_ref().as_str() {
            Some(s) => Some((s.to_string(), v.span())),
            None => {
                self.err(
                    v.span().start,
                    join(ctx, key),
                    format!("must be a string (got {})", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    pub(super) fn bool(&mut self, t: &Table<'_>, ctx: &str, key: &str) -> Option<bool> {
        let v = t.get(key)?;
        let b = v.get_ref().as_bool();
        if b.is_none() {
            self.err(
                v.span().start,
                join(ctx, key),
                format!("must be true or false (got {})", v.get_ref().type_str()),
            );
        }
        b
    }

    /// Whole seconds: the database keeps seconds, so `1500ms` would not round-trip.
    pub(super) fn duration(&mut self, t: &Table<'_>, ctx: &str, key: &str) -> Option<Duration> {
        let (s, span) = self.opt_str(t, ctx, key)?;
        match humantime::parse_duration(&s) {
            Ok(d) if d > MAX_DURATION => {
                self.err(
                    span.start,
                    join(ctx, key),
                    format!("must be at most 365 days (got \"{s}\")"),
                );
                None
            }
            Ok(d) if d.subsec_nanos() == 0 => Some(d),
            Ok(_) => {
                self.err(
                    span.start,
                    join(ctx, key),
                    format!("must be whole seconds (got \"{s}\")"),
                );
                None
            }
            Err(e) => {
                self.err(
                    span.start,
                    join(ctx, key),
                    format!(
                        "not a duration (\"{s}\": {e}); write it like \"30s\", \"5m\" or \"1h 30m\""
                    ),
                );
                None
            }
        }
    }

    /// A list of strings; `star` allows `["*"]` (all), which cannot be mixed with names.
    pub(super) fn list(
        &mut self,
        t: &Table<'_>,
        ctx: &str,
        key: &str,
        star: bool,
    ) -> Option<Vec<String>> {
        let v = t.get(key)?;
        let path = join(ctx, key);
        let Some(items) = v.get_ref().as_array() else {
            self.err(
                v.span().start,
                path,
                format!(
                    "must be a list of strings like [\"a\", \"b\"] (got {})",
                    v.get_ref().type_str()
                ),
            );
            return None;
        };
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) if s.trim().is_empty() || s.chars().any(char::is_control) => {
                    self.err(
                        item.span().start,
                        &path,
                        "entries must be non-empty, without control characters",
                    );
                    ok = false;
                }
                Some(s) if out.iter().any(|o| o == s) => {
                    self.err(item.span().start, &path, format!("\"{s}\" is listed twice"));
                    ok = false;
                }
                Some(s) => out.push(s.to_string()),
                None => {
                    self.err(
                        item.span().start,
                        &path,
                        format!(
                            "entries must be strings (got {})",
                            item.get_ref().type_str()
                        ),
                    );
                    ok = false;
                }
            }
        }
        if out.iter().any(|s| s == "*") {
            if !star {
                self.err(
                    v.span().start,
                    &path,
                    "\"*\" is not accepted here; list the names",
                );
                ok = false;
            } else if out.len() > 1 {
                self.err(
                    v.span().start,
                    &path,
                    "\"*\" already means all: use [\"*\"] alone or list the names",
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }
}

pub(super) fn join(ctx: &str, key: &str) -> String {
    if ctx.is_empty() {
        key.to_string()
    } else {
        format!("{ctx}.{key}")
    }
}
