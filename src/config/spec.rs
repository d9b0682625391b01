//! What a configuration file declares: the model types without database ids,
//! syncs naming their instances instead of pointing at rows.

use std::time::Duration;

use super::model::{
    AutoSettings, ExecMode, InstanceTimeouts, PullSettings, SecretRef, Selection, SyncKind,
};

/// One `[[instance]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    pub name: String,
    pub url: String,
    pub username: Option<String>,
    pub secret: SecretRef,
    pub timeouts: InstanceTimeouts,
}

/// One `[[sync]]` with its optional `[sync.auto]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSpec {
    pub name: String,
    pub kind: SyncKind,
    pub source: String,
    pub destination: Option<String>,
    pub mode: ExecMode,
    pub selection: Selection,
    pub auto: Option<AutoSettings>,
    /// `[sync.pull]`, exactly for `http_pull` syncs.
    pub pull: Option<PullSettings>,
}

/// A validated configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigFile {
    pub instances: Vec<InstanceSpec>,
    pub syncs: Vec<SyncSpec>,
}

impl SecretRef {
    /// `(auth_kind, secret_kind, secret_ref)` as stored: `basic|token`, `env|file`.
    pub fn to_columns(&self) -> (&'static str, &'static str, String) {
        match self {
            SecretRef::PasswordEnv(v) => ("basic", "env", v.clone()),
            SecretRef::PasswordFile(p) => ("basic", "file", p.display().to_string()),
            SecretRef::TokenEnv(v) => ("token", "env", v.clone()),
            SecretRef::TokenFile(p) => ("token", "file", p.display().to_string()),
        }
    }

    pub fn from_columns(auth: &str, kind: &str, reference: &str) -> Option<SecretRef> {
        let r = reference.to_string();
        Some(match (auth, kind) {
            ("basic", "env") => SecretRef::PasswordEnv(r),
            ("basic", "file") => SecretRef::PasswordFile(r.into()),
            ("token", "env") => SecretRef::TokenEnv(r),
            ("token", "file") => SecretRef::TokenFile(r.into()),
            _ => return None,
        })
    }

    /// The file key that declares it (`password_env`, …) and its value.
    pub fn key_and_value(&self) -> (&'static str, String) {
        match self {
            SecretRef::PasswordEnv(v) => ("password_env", v.clone()),
            SecretRef::PasswordFile(p) => ("password_file", p.display().to_string()),
            SecretRef::TokenEnv(v) => ("token_env", v.clone()),
            SecretRef::TokenFile(p) => ("token_file", p.display().to_string()),
        }
    }
}

/// `5m`, `1h 30m`: the form the file accepts and export writes.
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl InstanceSpec {
    /// `(field, shown value)` pairs compared by `apply`; never a secret, only
    /// its reference (a password stored in a URL before `apply` refused
    /// them shows as `***`).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let (key, value) = self.secret.key_and_value();
        let mut out = vec![
            ("url", crate::text::redact_user_info(&self.url)),
            ("username", self.username.clone().unwrap_or_default()),
            (key, value),
        ];
        // Unset keys are left out, so setting one shows as `- → 30s`.
        out.extend(
            self.timeouts
                .by_key()
                .into_iter()
                .filter_map(|(k, v)| v.map(|d| (k, format_duration(d)))),
        );
        out
    }
}

impl SyncSpec {
    /// `(field, shown value)` pairs compared by `apply`, named as in the file.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let list = |v: &[String]| format!("[{}]", v.join(", "));
        let s = &self.selection;
        let mut out = vec![
            ("kind", self.kind.as_str().to_string()),
            ("source", self.source.clone()),
            ("destination", self.destination.clone().unwrap_or_default()),
            ("mode", self.mode.as_str().to_string()),
            ("metadata", list(&s.metadata)),
            ("data_sets", list(&s.data_sets)),
            ("programs", list(&s.programs)),
            ("org_units", list(&s.org_units)),
            ("exclude", list(&s.exclude)),
            ("skip_sharing", s.skip_sharing.to_string()),
        ];
        if let Some(p) = &self.pull {
            out.extend([
                ("pull.target", p.target.display().to_string()),
                ("pull.interval", format_duration(p.interval)),
                ("pull.first_pull_after", format_duration(p.first_pull_after)),
                ("pull.verify_hash", p.verify_hash.to_string()),
                ("pull.hash_field", p.hash_field.clone()),
                ("pull.on_change", format!("{:?}", p.on_change)),
                (
                    "pull.on_change_timeout",
                    format_duration(p.on_change_timeout),
                ),
                ("pull.apply", p.apply.as_str().to_string()),
            ]);
        }
        match &self.auto {
            None => out.push(("auto", "none".into())),
            Some(a) => {
                let d = |d: Duration| format_duration(d);
                out.extend([
                    ("auto", "set".into()),
                    ("auto.enabled", a.enabled.to_string()),
                    ("auto.check_interval", d(a.check_interval)),
                    ("auto.delay_before_sync", d(a.delay_before_sync)),
                    ("auto.immediate_sync", a.immediate_sync.to_string()),
                    ("auto.monitor_metadata", a.monitor_metadata.to_string()),
                    (
                        "auto.monitor_data_values",
                        a.monitor_data_values.to_string(),
                    ),
                    ("auto.metadata_resources", list(&a.metadata_resources)),
                    ("auto.exclude_resources", list(&a.exclude_resources)),
                    ("auto.max_sync_per_hour", a.max_sync_per_hour.to_string()),
                    ("auto.cooldown_after_error", d(a.cooldown_after_error)),
                    ("auto.notify_on_change", a.notify_on_change.to_string()),
                    (
                        "auto.notify_on_sync_complete",
                        a.notify_on_sync_complete.to_string(),
                    ),
                ]);
            }
        }
        out
    }
}
