//! Instances, sync configurations and their auto-sync settings.
//!
//! Every statement is written once (`$N` placeholders) for both dialects.
//! `apply` (in `apply.rs`) diffs a validated file against these rows and writes
//! the difference in one transaction.

use std::collections::HashMap;
use std::time::Duration;

use super::{Result, RowExt, Sql, Store, StoreError};
use crate::config::model::{
    AutoSettings, ExecMode, Instance, InstanceTimeouts, SecretRef, SyncConfig, SyncKind,
    describe_problems,
};
use crate::config::spec::{ConfigFile, InstanceSpec, SyncSpec};

pub(super) const SELECT_INSTANCES: &str = "SELECT id, name, url, username, auth_kind, secret_kind, \
     secret_ref, connect_timeout_s, first_byte_timeout_s, import_timeout_s, idle_timeout_s FROM instances";

/// The timeout columns, in the order of [`InstanceTimeouts::KEYS`] (NULL: the default).
pub(super) const TIMEOUT_COLUMNS: [&str; 4] = [
    "connect_timeout_s",
    "first_byte_timeout_s",
    "import_timeout_s",
    "idle_timeout_s",
];

/// [`InstanceTimeouts`] as column values, in the order of [`TIMEOUT_COLUMNS`].
pub(super) fn timeout_columns(t: &InstanceTimeouts) -> Result<[Option<i64>; 4]> {
    let mut out = [None; 4];
    for (slot, (key, d)) in out.iter_mut().zip(t.by_key()) {
        *slot = d
            .map(|d| {
                i64::try_from(d.as_secs())
                    .map_err(|_| StoreError::Invalid(format!("{key} {d:?} is too long")))
            })
            .transpose()?;
    }
    Ok(out)
}

pub(super) const SELECT_CONFIGS: &str = "SELECT c.id, c.name, c.kind, c.source_id, c.destination_id, c.mode, \
     c.selection, c.active, c.pull, a.is_enabled, a.check_interval_s, a.delay_before_sync_s, a.immediate_sync, \
     a.monitor_metadata, a.monitor_data_values, a.metadata_resources, a.exclude_resources, \
     a.max_sync_per_hour, a.cooldown_after_error_s, a.notify_on_change, a.notify_on_sync_complete \
     FROM sync_configs c LEFT JOIN auto_sync_settings a ON a.config_id = c.id";

pub(super) const UPSERT_AUTO: &str = "INSERT INTO auto_sync_settings (config_id, is_enabled, \
     check_interval_s, delay_before_sync_s, immediate_sync, monitor_metadata, monitor_data_values, \
     metadata_resources, exclude_resources, max_sync_per_hour, cooldown_after_error_s, \
     notify_on_change, notify_on_sync_complete) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (config_id) DO UPDATE SET is_enabled = excluded.is_enabled, \
     check_interval_s = excluded.check_interval_s, delay_before_sync_s = excluded.delay_before_sync_s, \
     immediate_sync = excluded.immediate_sync, monitor_metadata = excluded.monitor_metadata, \
     monitor_data_values = excluded.monitor_data_values, metadata_resources = excluded.metadata_resources, \
     exclude_resources = excluded.exclude_resources, max_sync_per_hour = excluded.max_sync_per_hour, \
     cooldown_after_error_s = excluded.cooldown_after_error_s, notify_on_change = excluded.notify_on_change, \
     notify_on_sync_complete = excluded.notify_on_sync_complete";

/// Binds the 13 parameters of [`UPSERT_AUTO`]; a macro because the query type
/// differs per dialect.
macro_rules! bind_auto {
    ($q:expr, $id:expr, $cols:expr) => {{
        let c: &AutoColumns = $cols;
        $q.bind($id)
            .bind(c.enabled)
            .bind(c.check_interval_s)
            .bind(c.delay_before_sync_s)
            .bind(c.immediate_sync)
            .bind(c.monitor_metadata)
            .bind(c.monitor_data_values)
            .bind(c.metadata_resources.clone())
            .bind(c.exclude_resources.clone())
            .bind(c.max_sync_per_hour)
            .bind(c.cooldown_after_error_s)
            .bind(c.notify_on_change)
            .bind(c.notify_on_sync_complete)
    }};
}
pub(super) use bind_auto;

/// [`AutoSettings`] as column values.
pub(super) struct AutoColumns {
    pub(super) enabled: i64,
    pub(super) check_interval_s: i64,
    pub(super) delay_before_sync_s: i64,
    pub(super) immediate_sync: i64,
    pub(super) monitor_metadata: i64,
    pub(super) monitor_data_values: i64,
    pub(super) metadata_resources: String,
    pub(super) exclude_resources: String,
    pub(super) max_sync_per_hour: i64,
    pub(super) cooldown_after_error_s: i64,
    pub(super) notify_on_change: i64,
    pub(super) notify_on_sync_complete: i64,
}

impl AutoColumns {
    pub(super) fn new(a: &AutoSettings) -> Result<AutoColumns> {
        if let Err(problems) = a.validate() {
            return Err(StoreError::Invalid(describe_problems(&problems)));
        }
        let secs = |d: Duration| {
            i64::try_from(d.as_secs())
                .map_err(|_| StoreError::Invalid(format!("duration {d:?} is too long")))
        };
        let json =
            |v: &[String]| serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()));
        Ok(AutoColumns {
            enabled: a.enabled.into(),
            check_interval_s: secs(a.check_interval)?,
            delay_before_sync_s: secs(a.delay_before_sync)?,
            immediate_sync: a.immediate_sync.into(),
            monitor_metadata: a.monitor_metadata.into(),
            monitor_data_values: a.monitor_data_values.into(),
            metadata_resources: json(&a.metadata_resources)?,
            exclude_resources: json(&a.exclude_resources)?,
            max_sync_per_hour: a.max_sync_per_hour.into(),
            cooldown_after_error_s: secs(a.cooldown_after_error)?,
            notify_on_change: a.notify_on_change.into(),
            notify_on_sync_complete: a.notify_on_sync_complete.into(),
        })
    }
}

pub(super) fn instance_row<R: RowExt>(r: &R) -> Result<Instance> {
    let name = r.text("name")?;
    let (auth, kind) = (r.text("auth_kind")?, r.text("secret_kind")?);
    let secret =
        SecretRef::from_columns(&auth, &kind, &r.text("secret_ref")?).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "instance {name}: unknown secret kind {auth}/{kind}"
            ))
        })?;
    let mut timeouts = [None; 4];
    for (slot, col) in timeouts.iter_mut().zip(TIMEOUT_COLUMNS) {
        *slot = match r.opt_i64(col)? {
            None => None,
            Some(s) => Some(Duration::from_secs(u64::try_from(s).map_err(|_| {
                StoreError::Corrupt(format!("instance {name}: negative {col}"))
            })?)),
        };
    }
    Ok(Instance {
        id: r.i64("id")?,
        url: r.text("url")?,
        username: r.opt_text("username")?,
        secret,
        timeouts: InstanceTimeouts::from_values(timeouts),
        name,
    })
}

pub(super) fn config_row<R: RowExt>(r: &R) -> Result<SyncConfig> {
    let name = r.text("name")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("sync config {name}: {what}"));
    let kind = SyncKind::parse(&r.text("kind")?).ok_or_else(|| corrupt("unknown kind"))?;
    let mode = ExecMode::parse(&r.text("mode")?).ok_or_else(|| corrupt("unknown mode"))?;
    let auto = match r.opt_i64("is_enabled")? {
        None => None,
        Some(enabled) => {
            let secs = |col: &str| -> Result<Duration> {
                let v = r.i64(col)?;
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| corrupt(&format!("negative {col}")))
            };
            Some(AutoSettings {
                enabled: enabled != 0,
                check_interval: secs("check_interval_s")?,
                delay_before_sync: secs("delay_before_sync_s")?,
                immediate_sync: r.flag("immediate_sync")?,
                monitor_metadata: r.flag("monitor_metadata")?,
                monitor_data_values: r.flag("monitor_data_values")?,
                metadata_resources: r.json("metadata_resources")?,
                exclude_resources: r.json("exclude_resources")?,
                max_sync_per_hour: u32::try_from(r.i64("max_sync_per_hour")?)
                    .map_err(|_| corrupt("max_sync_per_hour out of range"))?,
                cooldown_after_error: secs("cooldown_after_error_s")?,
                notify_on_change: r.flag("notify_on_change")?,
                notify_on_sync_complete: r.flag("notify_on_sync_complete")?,
            })
        }
    };
    Ok(SyncConfig {
        id: r.i64("id")?,
        kind,
        source_id: r.i64("source_id")?,
        destination_id: r.opt_i64("destination_id")?,
        mode,
        selection: r.json("selection")?,
        active: r.flag("active")?,
        auto,
        pull: match r.opt_text("pull")? {
            None => None,
            Some(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| corrupt(&format!("unreadable pull settings: {e}")))?,
            ),
        },
        name,
    })
}

/// A stored instance as the file would declare it.
pub(super) fn instance_spec(i: &Instance) -> InstanceSpec {
    InstanceSpec {
        name: i.name.clone(),
        url: i.url.clone(),
        username: i.username.clone(),
        secret: i.secret.clone(),
        timeouts: i.timeouts,
    }
}

/// A stored config as the file would declare it (instances by name).
pub(super) fn sync_spec(c: &SyncConfig, names: &HashMap<i64, String>) -> Result<SyncSpec> {
    let name_of = |id: i64| {
        names.get(&id).cloned().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "sync config {} points at missing instance {id}",
                c.name
            ))
        })
    };
    Ok(SyncSpec {
        name: c.name.clone(),
        kind: c.kind,
        source: name_of(c.source_id)?,
        destination: c.destination_id.map(name_of).transpose()?,
        mode: c.mode,
        selection: c.selection.clone(),
        auto: c.auto.clone(),
        pull: c.pull.clone(),
    })
}

impl Store {
    pub async fn list_instances(&self) -> Result<Vec<Instance>> {
        let sql = Sql::new(self, &format!("{SELECT_INSTANCES} ORDER BY id"));
        on_db!(self, read, |pool| sqlx::query(sql.text())
            .fetch_all(pool)
            .await?
            .iter()
            .map(instance_row)
            .collect())
    }

    pub async fn instance(&self, id: i64) -> Result<Option<Instance>> {
        let sql = Sql::new(self, &format!("{SELECT_INSTANCES} WHERE id = $1"));
        on_db!(self, read, |pool| sqlx::query(sql.text())
            .bind(id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(instance_row)
            .transpose())
    }

    pub async fn instance_by_name(&self, name: &str) -> Result<Option<Instance>> {
        let sql = Sql::new(self, &format!("{SELECT_INSTANCES} WHERE name = $1"));
        on_db!(self, read, |pool| sqlx::query(sql.text())
            .bind(name)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(instance_row)
            .transpose())
    }

    /// All sync configs with their auto settings, oldest first.
    pub async fn list_configs(&self) -> Result<Vec<SyncConfig>> {
        let sql = Sql::new(self, &format!("{SELECT_CONFIGS} ORDER BY c.id"));
        on_db!(self, read, |pool| sqlx::query(sql.text())
            .fetch_all(pool)
            .await?
            .iter()
            .map(config_row)
            .collect())
    }

    pub async fn config(&self, id: i64) -> Result<Option<SyncConfig>> {
        let sql = Sql::new(self, &format!("{SELECT_CONFIGS} WHERE c.id = $1"));
        on_db!(self, read, |pool| sqlx::query(sql.text())
            .bind(id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(config_row)
            .transpose())
    }

    pub async fn config_by_name(&self, name: &str) -> Result<Option<SyncConfig>> {
        let sql = Sql::new(self, &format!("{SELECT_CONFIGS} WHERE c.name = $1"));
        on_db!(self, read, |pool| sqlx::query(sql.text())
            .bind(name)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(config_row)
            .transpose())
    }

    /// "CONFIG is a name or an id": digits are an id (names of digits only are
    /// refused by the file validation), anything else a name.
    pub async fn config_by_ref(&self, reference: &str) -> Result<SyncConfig> {
        let found = match reference.parse::<i64>() {
            Ok(id) => self.config(id).await?,
            Err(_) => self.config_by_name(reference).await?,
        };
        found.ok_or_else(|| {
            StoreError::NotFound(format!(
                "no sync config named or numbered \"{reference}\"; `syncdeck export` lists them"
            ))
        })
    }

    /// The operator's start/stop switch.
    pub async fn set_active(&self, id: i64, active: bool) -> Result<()> {
        let sql = Sql::new(
            self,
            &format!(
                "UPDATE sync_configs SET active = $1, updated_at = {} WHERE id = $2",
                self.now_expr()
            ),
        );
        let n = on_db!(self, write, |pool| sqlx::query(sql.text())
            .bind(i64::from(active))
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        found(n, id)
    }

    /// Creates or replaces the auto settings of config `id`.
    pub async fn update_auto_settings(&self, id: i64, auto: &AutoSettings) -> Result<()> {
        let cols = AutoColumns::new(auto)?;
        if self.config(id).await?.is_none() {
            return found(0, id);
        }
        let sql = Sql::new(self, UPSERT_AUTO);
        on_db!(self, write, |pool| {
            bind_auto!(sqlx::query(sql.text()), id, &cols)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Deletes a config; its settings, jobs, watermarks, lifecycle state and
    /// detections go with it (foreign keys cascade).
    pub async fn delete_config(&self, id: i64) -> Result<()> {
        let sql = Sql::new(self, "DELETE FROM sync_configs WHERE id = $1");
        let n = on_db!(self, write, |pool| sqlx::query(sql.text())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        found(n, id)
    }

    /// Everything stored, as the file `apply` reads.
    pub async fn export(&self) -> Result<ConfigFile> {
        let instances = self.list_instances().await?;
        let names: HashMap<i64, String> =
            instances.iter().map(|i| (i.id, i.name.clone())).collect();
        let syncs = self
            .list_configs()
            .await?
            .iter()
            .map(|c| sync_spec(c, &names))
            .collect::<Result<_>>()?;
        Ok(ConfigFile {
            instances: instances.iter().map(instance_spec).collect(),
            syncs,
        })
    }
}

fn found(rows: u64, id: i64) -> Result<()> {
    if rows == 0 {
        Err(StoreError::NotFound(format!("no sync config with id {id}")))
    } else {
        Ok(())
    }
}
