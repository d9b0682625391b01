//! What syncdeck runs: DHIS2 instances, sync configurations and their
//! auto-sync settings, as stored and as the engine sees them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an instance's secret is found at run time; the secret itself is never
/// stored, logged or shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretRef {
    PasswordEnv(String),
    PasswordFile(PathBuf),
    TokenEnv(String),
    TokenFile(PathBuf),
}

impl SecretRef {
    pub fn is_token(&self) -> bool {
        matches!(self, SecretRef::TokenEnv(_) | SecretRef::TokenFile(_))
    }
}

/// A DHIS2 server (or an HTTP backend for `http_pull`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub username: Option<String>,
    pub secret: SecretRef,
    pub timeouts: InstanceTimeouts,
}

/// An instance's request deadlines as configured; `None` takes the client's
/// default (`connectors::dhis2::Timeouts`), so an instance that never chose
/// follows a better default in a later release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstanceTimeouts {
    /// TCP and TLS handshake.
    pub connect: Option<Duration>,
    /// From sending a read to the response headers.
    pub first_byte: Option<Duration>,
    /// From sending an import to its answer (DHIS2 answers when it is done).
    pub import: Option<Duration>,
    /// Longest silence while reading a body.
    pub idle: Option<Duration>,
}

impl InstanceTimeouts {
    /// The `[[instance]]` keys, in file order.
    pub const KEYS: [&'static str; 4] = [
        "connect_timeout",
        "first_byte_timeout",
        "import_timeout",
        "idle_timeout",
    ];
    /// Shorter cannot be meant; longer would be a typo.
    pub const MIN: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(24 * 3600);

    /// Each key of [`Self::KEYS`] with its value.
    pub fn by_key(&self) -> [(&'static str, Option<Duration>); 4] {
        let [c, f, i, d] = Self::KEYS;
        [
            (c, self.connect),
            (f, self.first_byte),
            (i, self.import),
            (d, self.idle),
        ]
    }

    /// The inverse of [`Self::by_key`] (values in the order of [`Self::KEYS`]).
    pub fn from_values([connect, first_byte, import, idle]: [Option<Duration>; 4]) -> Self {
        InstanceTimeouts {
            connect,
            first_byte,
            import,
            idle,
        }
    }
}

/// Names as stored and written in TOML: serde and strum agree (`snake_case`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SyncKind {
    Dhis2,
    HttpPull,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ExecMode {
    Manual,
    Automatic,
}

/// What an `http_pull` config does with a changed document.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PullApply {
    /// Write it to `target` for another program (the old agents' behaviour).
    #[default]
    File,
    /// It is a syncdeck configuration (the TOML file's schema as JSON):
    /// validate it as `apply -f` does and apply it, then write `target`.
    Syncdeck,
}

stored_names!(SyncKind, ExecMode, PullApply);

/// The `[sync.pull]` table of an `http_pull` config: where the pulled
/// document goes, how often, and what runs after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSettings {
    /// The local copy (absolute; the file reader resolves relative paths
    /// against the configuration file's directory).
    pub target: PathBuf,
    #[serde(with = "as_seconds")]
    pub interval: Duration,
    #[serde(with = "as_seconds")]
    pub first_pull_after: Duration,
    /// Refuse a document whose own hash field disagrees with its content.
    pub verify_hash: bool,
    /// The document's field holding the backend's hash.
    pub hash_field: String,
    /// argv run after a change (no shell); empty = nothing.
    pub on_change: Vec<String>,
    #[serde(with = "as_seconds")]
    pub on_change_timeout: Duration,
    pub apply: PullApply,
}

impl PullSettings {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
    pub const DEFAULT_FIRST_PULL_AFTER: Duration = Duration::from_secs(10);
    pub const DEFAULT_ON_CHANGE_TIMEOUT: Duration = Duration::from_secs(60);
    pub const DEFAULT_HASH_FIELD: &'static str = "config_hash";
    /// A backend is ours to poll as often as it can take; below a second is a typo.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

    /// Defaults for everything but the target.
    pub fn new(target: PathBuf) -> PullSettings {
        PullSettings {
            target,
            interval: Self::DEFAULT_INTERVAL,
            first_pull_after: Self::DEFAULT_FIRST_PULL_AFTER,
            verify_hash: true,
            hash_field: Self::DEFAULT_HASH_FIELD.into(),
            on_change: Vec::new(),
            on_change_timeout: Self::DEFAULT_ON_CHANGE_TIMEOUT,
            apply: PullApply::File,
        }
    }
}

/// Durations stored as whole seconds in the settings JSON.
mod as_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// What a sync moves. `["*"]` means all supported, in the source's schema order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Metadata types by plural name (`dataElements`), or `*`.
    #[serde(default)]
    pub metadata: Vec<String>,
    /// Data set UIDs, or `*`.
    #[serde(default)]
    pub data_sets: Vec<String>,
    /// Program UIDs, or `*`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Org unit roots for data (UIDs); empty = the source's level-1 roots.
    #[serde(default)]
    pub org_units: Vec<String>,
    /// Metadata types never synced (wins over `metadata`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Import metadata with `skipSharing=true`: the destination keeps its own
    /// sharing (new objects get its importing user as owner), and the users and
    /// groups the source's sharing names need not exist there. Default true,
    /// since instances rarely share their users (dhis2-core 2.41.3
    /// ReferencesCheck: otherwise each missing one is an E5002 on every run).
    #[serde(default = "yes")]
    pub skip_sharing: bool,
}

fn yes() -> bool {
    true
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            metadata: vec!["*".into()],
            data_sets: vec!["*".into()],
            programs: vec!["*".into()],
            org_units: Vec::new(),
            exclude: Vec::new(),
            skip_sharing: true,
        }
    }
}

/// Rules of the automatic scheduler of one config. (Serde: what crosses
/// the daemon's API, durations in seconds.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoSettings {
    pub enabled: bool,
    /// At least [`AutoSettings::MIN_CHECK_INTERVAL`].
    #[serde(with = "as_seconds")]
    pub check_interval: Duration,
    #[serde(with = "as_seconds")]
    pub delay_before_sync: Duration,
    pub immediate_sync: bool,
    pub monitor_metadata: bool,
    pub monitor_data_values: bool,
    /// Metadata types watched by the detector; empty = all selected.
    pub metadata_resources: Vec<String>,
    /// Resources the detector ignores.
    pub exclude_resources: Vec<String>,
    /// 0 = no limit.
    pub max_sync_per_hour: u32,
    #[serde(with = "as_seconds")]
    pub cooldown_after_error: Duration,
    pub notify_on_change: bool,
    pub notify_on_sync_complete: bool,
}

impl AutoSettings {
    pub const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(60);

    /// The rules every way of setting them applies (`apply`, `syncdeck setup`,
    /// the console's settings form, the store): every broken rule, by key.
    pub fn validate(&self) -> Result<(), Vec<SettingProblem>> {
        let mut problems = Vec::new();
        if self.check_interval < Self::MIN_CHECK_INTERVAL {
            problems.push(SettingProblem {
                key: "check_interval",
                message: format!(
                    "must be at least {}s (got {}); DHIS2 servers should not be polled more often",
                    Self::MIN_CHECK_INTERVAL.as_secs(),
                    humantime::format_duration(self.check_interval)
                ),
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// One auto-sync setting that breaks a rule of [`AutoSettings::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The `[sync.auto]` key.
    pub key: &'static str,
    /// What is wrong, without the key (`must be at least 60s (got 30s); …`).
    pub message: String,
}

impl std::fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.key, self.message)
    }
}

/// All problems of a validation, one sentence.
pub fn describe_problems(problems: &[SettingProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Default for AutoSettings {
    fn default() -> Self {
        AutoSettings {
            enabled: true,
            check_interval: Duration::from_secs(300),
            delay_before_sync: Duration::from_secs(30),
            immediate_sync: false,
            monitor_metadata: true,
            monitor_data_values: true,
            metadata_resources: Vec::new(),
            exclude_resources: Vec::new(),
            max_sync_per_hour: 10,
            cooldown_after_error: Duration::from_secs(30 * 60),
            notify_on_change: false,
            notify_on_sync_complete: false,
        }
    }
}

/// One sync configuration: source → destination, what and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncConfig {
    pub id: i64,
    pub name: String,
    pub kind: SyncKind,
    pub source_id: i64,
    pub destination_id: Option<i64>,
    pub mode: ExecMode,
    pub selection: Selection,
    /// The operator's start/stop switch for the scheduler (persisted).
    pub active: bool,
    /// `None` = auto-sync not configured.
    pub auto: Option<AutoSettings>,
    /// Set exactly for `http_pull` configs.
    pub pull: Option<PullSettings>,
}

impl SyncConfig {
    /// Whether a scheduler task should run for it: a DHIS2 sync's change
    /// detector, or an `http_pull` config's poller.
    pub fn wants_scheduler(&self) -> bool {
        if !self.active || self.mode != ExecMode::Automatic {
            return false;
        }
        match self.kind {
            SyncKind::Dhis2 => self.auto.as_ref().is_some_and(|a| a.enabled),
            SyncKind::HttpPull => self.pull.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        crate::assert_stored_names::<SyncKind>();
        crate::assert_stored_names::<ExecMode>();
        crate::assert_stored_names::<PullApply>();
        assert_eq!(SyncKind::HttpPull.as_str(), "http_pull");
        assert_eq!(SyncKind::parse("Dhis2"), None, "exact names only");
    }

    #[test]
    fn validate_names_every_broken_rule_by_key() {
        assert_eq!(AutoSettings::default().validate(), Ok(()));
        let fast = AutoSettings {
            check_interval: Duration::from_secs(30),
            ..AutoSettings::default()
        };
        let problems = fast.validate().unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "check_interval");
        assert_eq!(
            describe_problems(&problems),
            "check_interval must be at least 60s (got 30s); DHIS2 servers should not be polled more often"
        );
    }
}
