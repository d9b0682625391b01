//! `syncdeck export`: the stored configuration as the TOML `apply` reads, so
//! export → apply reports everything unchanged.

use serde::Serialize;

use super::spec::{ConfigFile, InstanceSpec, SyncSpec, format_duration};

#[derive(Serialize)]
struct FileOut<'a> {
    instance: Vec<InstanceOut<'a>>,
    sync: Vec<SyncOut<'a>>,
}

#[derive(Serialize)]
struct InstanceOut<'a> {
    name: &'a str,
    /// A password stored in the URL (before `apply` refused them) is
    /// written as `***`: `apply` then refuses the file until it is moved to
    /// a secret reference.
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connect_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_byte_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    import_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_timeout: Option<String>,
}

#[derive(Serialize)]
struct SyncOut<'a> {
    name: &'a str,
    kind: &'static str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<&'a str>,
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_sets: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    programs: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_units: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclude: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_sharing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto: Option<AutoOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull: Option<PullOut<'a>>,
}

#[derive(Serialize)]
struct PullOut<'a> {
    target: String,
    interval: String,
    first_pull_after: String,
    verify_hash: bool,
    hash_field: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    on_change: &'a [String],
    on_change_timeout: String,
    apply: &'static str,
}

#[derive(Serialize)]
struct AutoOut<'a> {
    enabled: bool,
    check_interval: String,
    delay_before_sync: String,
    immediate_sync: bool,
    monitor_metadata: bool,
    monitor_data_values: bool,
    metadata_resources: &'a [String],
    exclude_resources: &'a [String],
    max_sync_per_hour: u32,
    cooldown_after_error: String,
    notify_on_change: bool,
    notify_on_sync_complete: bool,
}

fn instance(i: &InstanceSpec) -> InstanceOut<'_> {
    let (key, value) = i.secret.key_and_value();
    let pick = |k: &str| (k == key).then(|| value.clone());
    let t = &i.timeouts;
    let d = |v: Option<std::time::Duration>| v.map(format_duration);
    InstanceOut {
        name: &i.name,
        url: crate::text::redact_user_info(&i.url),
        username: i.username.as_deref(),
        password_env: pick("password_env"),
        password_file: pick("password_file"),
        token_env: pick("token_env"),
        token_file: pick("token_file"),
        connect_timeout: d(t.connect),
        first_byte_timeout: d(t.first_byte),
        import_timeout: d(t.import),
        idle_timeout: d(t.idle),
    }
}

fn sync(s: &SyncSpec) -> SyncOut<'_> {
    // An http_pull sync has no selection: writing one would make `apply`
    // refuse the exported file.
    if let Some(p) = &s.pull {
        return SyncOut {
            name: &s.name,
            kind: s.kind.as_str(),
            source: &s.source,
            destination: None,
            mode: s.mode.as_str(),
            metadata: None,
            data_sets: None,
            programs: None,
            org_units: None,
            exclude: None,
            skip_sharing: None,
            auto: None,
            pull: Some(PullOut {
                target: p.target.display().to_string(),
                interval: format_duration(p.interval),
                first_pull_after: format_duration(p.first_pull_after),
                verify_hash: p.verify_hash,
                hash_field: &p.hash_field,
                on_change: &p.on_change,
                on_change_timeout: format_duration(p.on_change_timeout),
                apply: p.apply.as_str(),
            }),
        };
    }
    SyncOut {
        name: &s.name,
        kind: s.kind.as_str(),
        source: &s.source,
        destination: s.destination.as_deref(),
        mode: s.mode.as_str(),
        metadata: Some(&s.selection.metadata),
        data_sets: Some(&s.selection.data_sets),
        programs: Some(&s.selection.programs),
        org_units: Some(&s.selection.org_units),
        exclude: Some(&s.selection.exclude),
        skip_sharing: Some(s.selection.skip_sharing),
        auto: s.auto.as_ref().map(|a| AutoOut {
            enabled: a.enabled,
            check_interval: format_duration(a.check_interval),
            delay_before_sync: format_duration(a.delay_before_sync),
            immediate_sync: a.immediate_sync,
            monitor_metadata: a.monitor_metadata,
            monitor_data_values: a.monitor_data_values,
            metadata_resources: &a.metadata_resources,
            exclude_resources: &a.exclude_resources,
            max_sync_per_hour: a.max_sync_per_hour,
            cooldown_after_error: format_duration(a.cooldown_after_error),
            notify_on_change: a.notify_on_change,
            notify_on_sync_complete: a.notify_on_sync_complete,
        }),
        pull: None,
    }
}

fn out(file: &ConfigFile) -> FileOut<'_> {
    FileOut {
        instance: file.instances.iter().map(instance).collect(),
        sync: file.syncs.iter().map(sync).collect(),
    }
}

/// The configuration as TOML, with a header saying where it came from.
pub fn to_toml(file: &ConfigFile, source: &str) -> Result<String, toml::ser::Error> {
    let body = toml::to_string(&out(file))?;
    Ok(format!(
        "# syncdeck configuration exported from {source}.\n\
         # Apply with: syncdeck apply -f FILE.toml (secrets stay in their env vars / files).\n\n{body}"
    ))
}

/// The same document as JSON (keys as in the TOML file).
pub fn to_json(file: &ConfigFile) -> serde_json::Value {
    serde_json::to_value(out(file)).unwrap_or(serde_json::Value::Null)
}
