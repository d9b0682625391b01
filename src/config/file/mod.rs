//! Parsing and validating `syncdeck apply -f FILE.toml`.
//!
//! The file is walked as a spanned TOML tree rather than through serde so that
//! every problem is collected (not just the first) and each names its line and
//! key. Nothing here touches the database: instances already stored are passed
//! in by name so references to them are accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod pull;
mod values;

use values::join;

use super::errors::{ValidationError, ValidationErrors, line_col, suggest};
use super::model::{AutoSettings, ExecMode, InstanceTimeouts, SecretRef, Selection, SyncKind};
use super::spec::{ConfigFile, InstanceSpec, SyncSpec};

const TOP_KEYS: &[&str] = &["instance", "sync"];
const INSTANCE_KEYS: &[&str] = &[
    "name",
    "url",
    "username",
    "password_env",
    "password_file",
    "token_env",
    "token_file",
    "connect_timeout",
    "first_byte_timeout",
    "import_timeout",
    "idle_timeout",
];
const SECRET_KEYS: &[&str] = &["password_env", "password_file", "token_env", "token_file"];
const SYNC_KEYS: &[&str] = &[
    "name",
    "kind",
    "source",
    "destination",
    "mode",
    "metadata",
    "data_sets",
    "programs",
    "org_units",
    "exclude",
    "skip_sharing",
    "auto",
    "pull",
];
const AUTO_KEYS: &[&str] = &[
    "enabled",
    "check_interval",
    "delay_before_sync",
    "immediate_sync",
    "monitor_metadata",
    "monitor_data_values",
    "metadata_resources",
    "exclude_resources",
    "max_sync_per_hour",
    "cooldown_after_error",
    "notify_on_change",
    "notify_on_sync_complete",
];

/// Longer would be a typo, and must fit the database's integer seconds.
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Reads and validates `path`. `known_instances` are instance names already in
/// the database, which syncs may reference without redeclaring them.
pub fn load(
    path: &Path,
    known_instances: &BTreeSet<String>,
) -> Result<ConfigFile, ValidationErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ValidationErrors(vec![ValidationError {
            file: path.display().to_string(),
            line: 0,
            col: 0,
            key: String::new(),
            message: format!("cannot read the file: {e}"),
        }])
    })?;
    parse(path, &text, known_instances)
}

/// A configuration written as JSON (the TOML file's schema) as the TOML text
/// [`parse`] reads, leaving out the top-level keys in `without` (a pulled
/// document's hash field), and those of them it had. Values TOML cannot
/// hold (null) are refused.
pub fn json_as_toml<'k>(
    bytes: &[u8],
    without: &[&'k str],
) -> Result<(String, Vec<&'k str>), String> {
    let mut table: toml::Table =
        serde_json::from_slice(bytes).map_err(|e| format!("not a syncdeck configuration ({e})"))?;
    let removed = without
        .iter()
        .filter(|k| table.remove(**k).is_some())
        .copied()
        .collect();
    let text =
        toml::to_string(&table).map_err(|e| format!("not a syncdeck configuration ({e})"))?;
    Ok((text, removed))
}

/// Validates `text`, the content of `path` (used in messages and to resolve
/// relative secret file paths against the file's directory).
pub fn parse(
    path: &Path,
    text: &str,
    known_instances: &BTreeSet<String>,
) -> Result<ConfigFile, ValidationErrors> {
    let mut p = Parser {
        file: path.display().to_string(),
        base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        text,
        known_instances,
        errors: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            let at = e.span().map_or(0, |s| s.start);
            p.err(at, "", format!("TOML syntax: {}", e.message().trim_end()));
        }
        return Err(p.finish());
    }
    let file = p.document(root.get_ref());
    if p.errors.is_empty() {
        Ok(file)
    } else {
        Err(p.finish())
    }
}

/// Validates one `[sync.auto]` table on its own, with exactly the rules of
/// `apply` (the console's settings form goes through here).
pub fn parse_auto(text: &str) -> Result<AutoSettings, ValidationErrors> {
    let known = BTreeSet::new();
    let mut p = Parser {
        file: "settings".into(),
        base_dir: PathBuf::new(),
        text,
        known_instances: &known,
        errors: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    for e in syntax {
        let at = e.span().map_or(0, |s| s.start);
        p.err(at, "", format!("TOML syntax: {}", e.message().trim_end()));
    }
    let settings = p.auto(root.get_ref(), "");
    match settings {
        Some(s) if p.errors.is_empty() => Ok(s),
        _ => Err(p.finish()),
    }
}

struct Parser<'a> {
    file: String,
    base_dir: PathBuf,
    text: &'a str,
    known_instances: &'a BTreeSet<String>,
    errors: Vec<ValidationError>,
}

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

impl Parser<'_> {
    fn err(&mut self, offset: usize, key: impl Into<String>, message: impl Into<String>) {
        let (line, col) = line_col(self.text, offset);
        self.errors.push(ValidationError {
            file: self.file.clone(),
            line,
            col,
            key: key.into(),
            message: message.into(),
        });
    }

    fn finish(mut self) -> ValidationErrors {
        self.errors.sort_by_key(|e| (e.line, e.col));
        ValidationErrors(self.errors)
    }

    fn document(&mut self, root: &Table<'_>) -> ConfigFile {
        self.unknown_keys(root, "", TOP_KEYS);
        let mut out = ConfigFile::default();
        let instances = self.tables(root, "instance");
        // Every declared name counts, valid entry or not, so one mistake does
        // not cascade into "no instance named …" errors elsewhere.
        let mut declared = BTreeMap::new();
        for (t, _) in &instances {
            if let Some(v) = t.get("name")
                && let Some(name) = v.get_ref().as_str()
            {
                self.unique(&mut declared, "instance", name, v.span().start);
            }
        }
        for (i, (t, at)) in instances.into_iter().enumerate() {
            out.instances.extend(self.instance(t, at, i + 1));
        }
        let instance_names: BTreeSet<&str> = declared.keys().map(String::as_str).collect();
        let mut sync_names = BTreeMap::new();
        for (i, (t, at)) in self.tables(root, "sync").into_iter().enumerate() {
            if let Some(v) = t.get("name")
                && let Some(name) = v.get_ref().as_str()
            {
                self.unique(&mut sync_names, "sync", name, v.span().start);
            }
            out.syncs.extend(self.sync(t, at, i + 1, &instance_names));
        }
        out
    }

    /// Names must be unique within their kind: apply matches rows by name.
    fn unique(&mut self, seen: &mut BTreeMap<String, usize>, what: &str, name: &str, at: usize) {
        if let Some(first) = seen.get(name) {
            let (line, _) = line_col(self.text, *first);
            self.err(
                at,
                format!("[{what} \"{name}\"].name"),
                format!(
                    "duplicate {what} name (first declared on line {line}); names must be unique"
                ),
            );
        } else {
            seen.insert(name.to_string(), at);
        }
    }

    /// The tables of an array of tables (`[[key]]`), each with its offset.
    fn tables<'t, 'i>(&mut self, root: &'t Table<'i>, key: &str) -> Vec<(&'t Table<'i>, usize)> {
        let Some(v) = root.get(key) else {
            return Vec::new();
        };
        let at = v.span().start;
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(t) => out.push((t, item.span().start)),
                        _ => self.err(
                            item.span().start,
                            key,
                            format!("must be a table: write [[{key}]] sections"),
                        ),
                    }
                }
                out
            }
            _ => {
                self.err(
                    at,
                    key,
                    format!("must be written as [[{key}]] sections (one per {key})"),
                );
                Vec::new()
            }
        }
    }

    fn unknown_keys(&mut self, table: &Table<'_>, ctx: &str, allowed: &[&str]) {
        for (k, _) in table.iter() {
            let name: &str = k.get_ref();
            if allowed.contains(&name) {
                continue;
            }
            let path = join(ctx, name);
            let hint = match (ctx.starts_with("[instance"), name) {
                (true, "password") => "inline secrets are refused; put the password in an environment variable and write \
                     password_env = \"VAR_NAME\", or in a file only syncdeck can read and write \
                     password_file = \"/path/to/file\"".to_string(),
                (true, "token") => "inline secrets are refused; put the personal access token in an environment variable \
                     and write token_env = \"VAR_NAME\", or in a file only syncdeck can read and write \
                     token_file = \"/path/to/file\"".to_string(),
                _ => match suggest(name, allowed) {
                    Some(s) => format!("unknown key; did you mean `{s}`?"),
                    None => format!("unknown key; expected one of: {}", allowed.join(", ")),
                },
            };
            self.err(k.span().start, path, hint);
        }
    }

    fn instance(&mut self, t: &Table<'_>, at: usize, index: usize) -> Option<InstanceSpec> {
        let name = self.name(t, at, &format!("[instance #{index}]"));
        let ctx = match &name {
            Some(n) => format!("[instance \"{n}\"]"),
            None => format!("[instance #{index}]"),
        };
        self.unknown_keys(t, &ctx, INSTANCE_KEYS);
        let url =
            self.required_str(t, at, &ctx, "url")
                .and_then(|(url, span)| match url::Url::parse(&url) {
                    // Before any other check, and never echoing the URL: it
                    // holds a password the database and `export` must not get.
                    _ if crate::text::has_user_info(&url) => {
                        self.err(span.start, join(&ctx, "url"), user_info_hint(&url));
                        None
                    }
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        Some(url)
                    }
                    Ok(u) => {
                        self.err(
                            span.start,
                            join(&ctx, "url"),
                            format!(
                                "must be an http:// or https:// URL with a host (got scheme {})",
                                u.scheme()
                            ),
                        );
                        None
                    }
                    Err(e) => {
                        self.err(
                            span.start,
                            join(&ctx, "url"),
                            format!(
                                "not a valid URL ({e}); write it like \"https://dhis2.example.org\""
                            ),
                        );
                        None
                    }
                });
        let username = self.opt_str(t, &ctx, "username").map(|(u, span)| {
            if u.is_empty() || u.chars().any(char::is_control) || u.contains(':') {
                self.err(
                    span.start,
                    join(&ctx, "username"),
                    "must be non-empty, without ':' or control characters",
                );
            }
            u
        });
        let mut secrets = Vec::new();
        for key in SECRET_KEYS {
            if let Some((v, span)) = self.opt_str(t, &ctx, key) {
                if v.trim().is_empty() || v.chars().any(char::is_control) {
                    self.err(
                        span.start,
                        join(&ctx, key),
                        "must be a non-empty name or path without control characters",
                    );
                } else if key.ends_with("_env") && v.contains('=') {
                    self.err(
                        span.start,
                        join(&ctx, key),
                        "an environment variable name cannot contain '='",
                    );
                }
                secrets.push((*key, v, span));
            }
        }
        let secret = match secrets.as_slice() {
            [] if t.get("password").is_some() || t.get("token").is_some() => None,
            [] => {
                self.err(at, &ctx, "no secret reference: add one of password_env, password_file (with username) or token_env, token_file (a personal access token)");
                None
            }
            [(key, v, _)] => Some(match *key {
                "password_env" => SecretRef::PasswordEnv(v.clone()),
                "password_file" => SecretRef::PasswordFile(self.resolve_path(v)),
                "token_env" => SecretRef::TokenEnv(v.clone()),
                _ => SecretRef::TokenFile(self.resolve_path(v)),
            }),
            [_, (key, _, span), ..] => {
                self.err(
                    span.start,
                    join(&ctx, key),
                    format!(
                        "only one secret reference per instance; keep one of {}",
                        secrets.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
                    ),
                );
                None
            }
        };
        match (&secret, &username) {
            (Some(s), Some(_)) if s.is_token() => {
                let span = t.get("username").map_or(at, |v| v.span().start);
                self.err(span, join(&ctx, "username"), "a personal access token identifies the user: remove username, or use password_env / password_file");
            }
            (Some(s), None) if !s.is_token() => {
                self.err(
                    at,
                    &ctx,
                    "a password needs a username: add username = \"...\"",
                );
            }
            _ => {}
        }
        let timeouts = self.timeouts(t, &ctx);
        Some(InstanceSpec {
            name: name?,
            url: url?,
            username,
            secret: secret?,
            timeouts,
        })
    }

    /// `connect_timeout` … `idle_timeout`, each optional, whole seconds within
    /// [`InstanceTimeouts::MIN`]..=[`InstanceTimeouts::MAX`].
    fn timeouts(&mut self, t: &Table<'_>, ctx: &str) -> InstanceTimeouts {
        let values = InstanceTimeouts::KEYS.map(|key| {
            let d = self.duration(t, ctx, key)?;
            if (InstanceTimeouts::MIN..=InstanceTimeouts::MAX).contains(&d) {
                return Some(d);
            }
            let at = t.get(key).map_or(0, |v| v.span().start);
            self.err(
                at,
                join(ctx, key),
                format!(
                    "must be between 1s and 24h (got {}); omit it for the default",
                    super::spec::format_duration(d)
                ),
            );
            None
        });
        InstanceTimeouts::from_values(values)
    }

    /// Relative secret files are read from the configuration file's directory,
    /// not from wherever the daemon happens to run.
    fn resolve_path(&self, v: &str) -> PathBuf {
        let p = Path::new(v);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let joined = self.base_dir.join(p);
        std::path::absolute(&joined).unwrap_or(joined)
    }

    fn name(&mut self, t: &Table<'_>, at: usize, ctx: &str) -> Option<String> {
        let (name, span) = self.required_str(t, at, ctx, "name")?;
        if name.trim().is_empty() || name.chars().any(char::is_control) || name.trim() != name {
            self.err(
                span.start,
                join(ctx, "name"),
                "must be non-empty, without control characters or surrounding spaces",
            );
            return None;
        }
        Some(name)
    }

    fn sync(
        &mut self,
        t: &Table<'_>,
        at: usize,
        index: usize,
        instances: &BTreeSet<&str>,
    ) -> Option<SyncSpec> {
        let name = self.name(t, at, &format!("[sync #{index}]"));
        let ctx = match &name {
            Some(n) => format!("[sync \"{n}\"]"),
            None => format!("[sync #{index}]"),
        };
        if let Some(n) = &name
            && n.chars().all(|c| c.is_ascii_digit())
        {
            let span = t.get("name").map_or(at, |v| v.span().start);
            self.err(
                span,
                join(&ctx, "name"),
                "a name of digits only would be read as an id on the command line; add a letter",
            );
        }
        self.unknown_keys(t, &ctx, SYNC_KEYS);
        let kind = match self.opt_str(t, &ctx, "kind") {
            None => Some(SyncKind::Dhis2),
            Some((k, span)) => SyncKind::parse(&k).or_else(|| {
                self.err(
                    span.start,
                    join(&ctx, "kind"),
                    format!("unknown kind \"{k}\"; expected \"dhis2\" or \"http_pull\""),
                );
                None
            }),
        };
        let mode = self
            .required_str(t, at, &ctx, "mode")
            .and_then(|(m, span)| {
                ExecMode::parse(&m).or_else(|| {
                    self.err(
                        span.start,
                        join(&ctx, "mode"),
                        format!("unknown mode \"{m}\"; expected \"automatic\" or \"manual\""),
                    );
                    None
                })
            });
        let reference = |p: &mut Self, key: &str, v: Option<(String, Range<usize>)>| {
            v.and_then(|(name, span)| {
                if instances.contains(name.as_str()) || p.known(&name) {
                    Some(name)
                } else {
                    p.err(span.start, join(&ctx, key), format!(
                        "no instance named \"{name}\" in this file or in the database; declare it in an [[instance]] section"
                    ));
                    None
                }
            })
        };
        let source_v = self.required_str(t, at, &ctx, "source");
        let source = reference(self, "source", source_v);
        let dest_v = self.opt_str(t, &ctx, "destination");
        let dest_given = dest_v.is_some();
        let destination = reference(self, "destination", dest_v);
        if kind == Some(SyncKind::HttpPull) {
            for key in pull::DHIS2_ONLY_KEYS {
                if let Some(v) = t.get(*key) {
                    self.err(
                        v.span().start,
                        join(&ctx, key),
                        "an http_pull sync has no such key: it pulls one document from its source into [sync.pull] target",
                    );
                }
            }
        }
        if kind == Some(SyncKind::Dhis2) && !dest_given {
            self.err(
                at,
                &ctx,
                "a dhis2 sync needs a destination: add destination = \"INSTANCE\"",
            );
        }
        if let (Some(s), Some(d)) = (&source, &destination)
            && s == d
        {
            let span = t.get("destination").map_or(at, |v| v.span().start);
            self.err(span, join(&ctx, "destination"), "must differ from source");
        }
        let defaults = Selection::default();
        let selection = Selection {
            metadata: self
                .list(t, &ctx, "metadata", true)
                .unwrap_or(defaults.metadata),
            data_sets: self
                .list(t, &ctx, "data_sets", true)
                .unwrap_or(defaults.data_sets),
            programs: self
                .list(t, &ctx, "programs", true)
                .unwrap_or(defaults.programs),
            org_units: self
                .list(t, &ctx, "org_units", false)
                .unwrap_or(defaults.org_units),
            exclude: self
                .list(t, &ctx, "exclude", false)
                .unwrap_or(defaults.exclude),
            skip_sharing: self
                .bool(t, &ctx, "skip_sharing")
                .unwrap_or(defaults.skip_sharing),
        };
        let auto = match t.get("auto") {
            None => None,
            Some(v) => match v.get_ref() {
                DeValue::Table(a) => self.auto(a, &join(&ctx, "auto")),
                _ => {
                    self.err(
                        v.span().start,
                        join(&ctx, "auto"),
                        "must be a [sync.auto] table",
                    );
                    None
                }
            },
        };
        let pull = match (kind, t.get("pull")) {
            (Some(SyncKind::HttpPull), None) => {
                self.err(
                    at,
                    &ctx,
                    "an http_pull sync needs a [sync.pull] table with at least target = \"/path/to/file.json\"",
                );
                None
            }
            (Some(SyncKind::HttpPull), Some(v)) => match v.get_ref() {
                DeValue::Table(p) => self.pull(p, v.span().start, &join(&ctx, "pull")),
                _ => {
                    self.err(
                        v.span().start,
                        join(&ctx, "pull"),
                        "must be a [sync.pull] table",
                    );
                    None
                }
            },
            (_, Some(v)) => {
                self.err(
                    v.span().start,
                    join(&ctx, "pull"),
                    "only an http_pull sync takes [sync.pull]; add kind = \"http_pull\" or remove it",
                );
                None
            }
            (_, None) => None,
        };
        let pull_ok = kind != Some(SyncKind::HttpPull) || pull.is_some();
        if !pull_ok {
            return None;
        }
        Some(SyncSpec {
            pull,
            name: name?,
            kind: kind?,
            source: source?,
            destination: if dest_given { Some(destination?) } else { None },
            mode: mode?,
            selection,
            auto,
        })
    }

    fn known(&self, name: &str) -> bool {
        self.known_instances.contains(name)
    }

    fn auto(&mut self, t: &Table<'_>, ctx: &str) -> Option<AutoSettings> {
        self.unknown_keys(t, ctx, AUTO_KEYS);
        let d = AutoSettings::default();
        let check_interval = self
            .duration(t, ctx, "check_interval")
            .unwrap_or(d.check_interval);
        let max_sync_per_hour = match t.get("max_sync_per_hour") {
            None => d.max_sync_per_hour,
            Some(v) => match v
                .get_ref()
                .as_integer()
                .and_then(|i| u32::from_str_radix(i.as_str(), i.radix()).ok())
            {
                Some(n) => n,
                None => {
                    self.err(
                        v.span().start,
                        join(ctx, "max_sync_per_hour"),
                        "must be a whole number ≥ 0 (0 = no limit)",
                    );
                    d.max_sync_per_hour
                }
            },
        };
        let auto = AutoSettings {
            enabled: self.bool(t, ctx, "enabled").unwrap_or(d.enabled),
            check_interval,
            delay_before_sync: self
                .duration(t, ctx, "delay_before_sync")
                .unwrap_or(d.delay_before_sync),
            immediate_sync: self
                .bool(t, ctx, "immediate_sync")
                .unwrap_or(d.immediate_sync),
            monitor_metadata: self
                .bool(t, ctx, "monitor_metadata")
                .unwrap_or(d.monitor_metadata),
            monitor_data_values: self
                .bool(t, ctx, "monitor_data_values")
                .unwrap_or(d.monitor_data_values),
            metadata_resources: self
                .list(t, ctx, "metadata_resources", false)
                .unwrap_or(d.metadata_resources),
            exclude_resources: self
                .list(t, ctx, "exclude_resources", false)
                .unwrap_or(d.exclude_resources),
            max_sync_per_hour,
            cooldown_after_error: self
                .duration(t, ctx, "cooldown_after_error")
                .unwrap_or(d.cooldown_after_error),
            notify_on_change: self
                .bool(t, ctx, "notify_on_change")
                .unwrap_or(d.notify_on_change),
            notify_on_sync_complete: self
                .bool(t, ctx, "notify_on_sync_complete")
                .unwrap_or(d.notify_on_sync_complete),
        };
        if let Err(problems) = auto.validate() {
            for p in problems {
                // A broken rule is about a value given here (defaults keep them).
                if let Some(v) = t.get(p.key) {
                    self.err(v.span().start, join(ctx, p.key), p.message);
                }
            }
        }
        Some(auto)
    }
}

/// The error for `url = "http://user:password@host"`: what to write instead,
/// with the URL shown without its user info (which may be a password or a
/// token) and the keys that reference a secret.
fn user_info_hint(url: &str) -> String {
    let instead = format!(
        "url = \"{}\"",
        crate::text::inert(&crate::text::without_user_info(url))
    );
    format!(
        "must not contain a username or password (it would be stored and shown in clear); write {instead} \
         and reference the secret: username = \"...\" with password_env = \"VAR_NAME\" or password_file = \"/path/to/file\", \
         or token_env / token_file for a personal access token"
    )
}

#[cfg(test)]
mod tests;
