//! `syncdeck apply`: the difference between a validated file and the database,
//! written in one transaction.
//!
//! Rows are matched by name (renaming = a new row). `active` is the operator's
//! start/stop switch and is never touched for existing configs; new ones start
//! active. With `prune`, configs absent from the file are deleted (their
//! settings, jobs, watermarks and history cascade, so a running job of a pruned
//! config is lost), and so are instances absent from the file that no
//! remaining config uses; without it both are kept and reported.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::configs::{
    AutoColumns, SELECT_CONFIGS, SELECT_INSTANCES, UPSERT_AUTO, bind_auto, config_row,
    instance_row, instance_spec, sync_spec, timeout_columns,
};
use super::{Result, Sql, Store, StoreError};
use crate::config::model::{Instance, SyncConfig};
use crate::config::spec::{ConfigFile, InstanceSpec, SyncSpec};

/// What `apply` did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPlan {
    pub dry_run: bool,
    pub instances: Vec<Change>,
    pub syncs: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub name: String,
    pub action: Action,
    /// For `update`: the fields that differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Prune,
    /// In the database, not in the file, left alone.
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl ApplyPlan {
    pub fn count(&self, action: Action) -> usize {
        self.instances
            .iter()
            .chain(&self.syncs)
            .filter(|c| c.action == action)
            .count()
    }

    /// Whether applying it changes nothing.
    pub fn is_noop(&self) -> bool {
        self.instances
            .iter()
            .chain(&self.syncs)
            .all(|c| matches!(c.action, Action::Unchanged | Action::Keep))
    }
}

enum Op<'a> {
    InsertInstance(&'a InstanceSpec),
    UpdateInstance(i64, &'a InstanceSpec),
    InsertSync(&'a SyncSpec),
    UpdateSync(i64, &'a SyncSpec),
    DeleteSync(i64),
    DeleteInstance(i64),
}

fn change(name: &str, action: Action) -> Change {
    Change {
        name: name.to_string(),
        action,
        fields: Vec::new(),
        note: None,
    }
}

fn field_changes(old: &[(&str, String)], new: &[(&str, String)]) -> Vec<FieldChange> {
    let get =
        |list: &[(&str, String)], k: &str| list.iter().find(|f| f.0 == k).map(|f| f.1.clone());
    // A key only on one side (password_env → token_env) shows as "-".
    let mut keys: Vec<&str> = new.iter().map(|f| f.0).collect();
    keys.extend(
        old.iter()
            .map(|f| f.0)
            .filter(|k| !new.iter().any(|f| f.0 == *k)),
    );
    keys.into_iter()
        .filter_map(|k| {
            let (from, to) = (get(old, k), get(new, k));
            (from != to).then(|| FieldChange {
                field: k.to_string(),
                from: from.unwrap_or_else(|| "-".into()),
                to: to.unwrap_or_else(|| "-".into()),
            })
        })
        .collect()
}

/// The plan and the writes that carry it out, in an order the foreign keys accept.
fn diff<'a>(
    file: &'a ConfigFile,
    instances: &[Instance],
    configs: &[SyncConfig],
    prune: bool,
) -> Result<(ApplyPlan, Vec<Op<'a>>)> {
    let names: HashMap<i64, String> = instances.iter().map(|i| (i.id, i.name.clone())).collect();
    let mut plan = ApplyPlan {
        dry_run: false,
        instances: Vec::new(),
        syncs: Vec::new(),
    };
    let mut ops = Vec::new();

    for spec in &file.instances {
        match instances.iter().find(|i| i.name == spec.name) {
            None => {
                plan.instances.push(change(&spec.name, Action::Create));
                ops.push(Op::InsertInstance(spec));
            }
            Some(old) => {
                let fields = field_changes(&instance_spec(old).fields(), &spec.fields());
                if fields.is_empty() {
                    plan.instances.push(change(&spec.name, Action::Unchanged));
                } else {
                    plan.instances.push(Change {
                        fields,
                        ..change(&spec.name, Action::Update)
                    });
                    ops.push(Op::UpdateInstance(old.id, spec));
                }
            }
        }
    }
    for spec in &file.syncs {
        match configs.iter().find(|c| c.name == spec.name) {
            None => {
                plan.syncs.push(change(&spec.name, Action::Create));
                ops.push(Op::InsertSync(spec));
            }
            Some(old) => {
                let fields = field_changes(&sync_spec(old, &names)?.fields(), &spec.fields());
                if fields.is_empty() {
                    plan.syncs.push(change(&spec.name, Action::Unchanged));
                } else {
                    plan.syncs.push(Change {
                        fields,
                        ..change(&spec.name, Action::Update)
                    });
                    ops.push(Op::UpdateSync(old.id, spec));
                }
            }
        }
    }
    let mut used: HashSet<&str> = HashSet::new();
    for old in configs
        .iter()
        .filter(|c| !file.syncs.iter().any(|s| s.name == c.name))
    {
        if prune {
            plan.syncs.push(change(&old.name, Action::Prune));
            ops.push(Op::DeleteSync(old.id));
        } else {
            plan.syncs.push(Change {
                note: Some("not in the file; --prune removes it".into()),
                ..change(&old.name, Action::Keep)
            });
            for id in std::iter::once(old.source_id).chain(old.destination_id) {
                used.extend(names.get(&id).map(String::as_str));
            }
        }
    }
    for s in &file.syncs {
        used.insert(&s.source);
        used.extend(s.destination.as_deref());
    }
    for old in instances
        .iter()
        .filter(|i| !file.instances.iter().any(|s| s.name == i.name))
    {
        if prune && !used.contains(old.name.as_str()) {
            plan.instances.push(change(&old.name, Action::Prune));
            ops.push(Op::DeleteInstance(old.id));
        } else {
            let note = if used.contains(old.name.as_str()) {
                "not in the file; kept because a sync uses it"
            } else {
                "not in the file; --prune removes it"
            };
            plan.instances.push(Change {
                note: Some(note.into()),
                ..change(&old.name, Action::Keep)
            });
        }
    }
    // Deletes last: configs before the instances they point at.
    ops.sort_by_key(|op| match op {
        Op::InsertInstance(_) | Op::UpdateInstance(..) => 0,
        Op::InsertSync(_) | Op::UpdateSync(..) => 1,
        Op::DeleteSync(_) => 2,
        Op::DeleteInstance(_) => 3,
    });
    Ok((plan, ops))
}

/// Values of a sync_configs row: (kind, source_id, destination_id, mode, selection JSON).
fn sync_columns(
    spec: &SyncSpec,
    ids: &HashMap<String, i64>,
) -> Result<(&'static str, i64, Option<i64>, &'static str, String)> {
    let id_of = |name: &str| {
        ids.get(name).copied().ok_or_else(|| {
            StoreError::Invalid(format!(
                "sync {}: instance {name} disappeared while applying; run apply again",
                spec.name
            ))
        })
    };
    let selection =
        serde_json::to_string(&spec.selection).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok((
        spec.kind.as_str(),
        id_of(&spec.source)?,
        spec.destination.as_deref().map(id_of).transpose()?,
        spec.mode.as_str(),
        selection,
    ))
}

impl Store {
    /// Makes the database match `file` (see the module comment), in one
    /// transaction; with `dry_run` only computes the plan.
    pub async fn apply(&self, file: &ConfigFile, prune: bool, dry_run: bool) -> Result<ApplyPlan> {
        // The file loader refuses these with file:line; this guards every
        // other way a ConfigFile is built (demo, bench, future callers).
        if let Some(i) = file
            .instances
            .iter()
            .find(|i| crate::text::has_user_info(&i.url))
        {
            return Err(StoreError::Invalid(format!(
                "instance {}: its url {} holds a username or password; give the URL without them and reference the secret (password_env, password_file, token_env or token_file)",
                i.name,
                crate::text::redact_user_info(&i.url)
            )));
        }
        let now = self.now_expr();
        let q_instances = Sql::new(self, SELECT_INSTANCES);
        let q_configs = Sql::new(self, SELECT_CONFIGS);
        let insert_instance = Sql::new(
            self,
            &format!(
                "INSERT INTO instances (name, url, username, auth_kind, secret_kind, secret_ref, \
             connect_timeout_s, first_byte_timeout_s, import_timeout_s, idle_timeout_s, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, {now}) RETURNING id"
            ),
        );
        let update_instance = Sql::new(
            self,
            &format!(
                "UPDATE instances SET url = $2, username = $3, auth_kind = $4, secret_kind = $5, \
             secret_ref = $6, connect_timeout_s = $7, first_byte_timeout_s = $8, \
             import_timeout_s = $9, idle_timeout_s = $10, updated_at = {now} WHERE id = $1"
            ),
        );
        let insert_sync = Sql::new(
            self,
            &format!(
                "INSERT INTO sync_configs (name, kind, source_id, destination_id, mode, selection, pull, active, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, {now}) RETURNING id"
            ),
        );
        // `active` is deliberately absent: it is operator state.
        let update_sync = Sql::new(
            self,
            &format!(
                "UPDATE sync_configs SET kind = $2, source_id = $3, destination_id = $4, mode = $5, \
             selection = $6, pull = $7, updated_at = {now} WHERE id = $1"
            ),
        );
        let upsert_auto = Sql::new(self, UPSERT_AUTO);
        let delete_auto = Sql::new(self, "DELETE FROM auto_sync_settings WHERE config_id = $1");
        let delete_sync = Sql::new(self, "DELETE FROM sync_configs WHERE id = $1");
        let delete_instance = Sql::new(self, "DELETE FROM instances WHERE id = $1");

        on_db!(self, write, |pool| {
            // Read inside the transaction so the plan matches what is written.
            let mut tx = pool.begin().await?;
            let instances = sqlx::query(q_instances.text())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(instance_row)
                .collect::<Result<Vec<_>>>()?;
            let configs = sqlx::query(q_configs.text())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(config_row)
                .collect::<Result<Vec<_>>>()?;
            let (mut plan, ops) = diff(file, &instances, &configs, prune)?;
            plan.dry_run = dry_run;
            if dry_run {
                // Dropping the transaction rolls back; nothing was written anyway.
                return Ok(plan);
            }
            let mut ids: HashMap<String, i64> =
                instances.iter().map(|i| (i.name.clone(), i.id)).collect();
            for op in ops {
                match op {
                    Op::InsertInstance(spec) => {
                        let (auth, kind, reference) = spec.secret.to_columns();
                        let [connect, first_byte, import, idle] = timeout_columns(&spec.timeouts)?;
                        let id: i64 = sqlx::query_scalar(insert_instance.text())
                            .bind(spec.name.clone())
                            .bind(spec.url.clone())
                            .bind(spec.username.clone())
                            .bind(auth)
                            .bind(kind)
                            .bind(reference)
                            .bind(connect)
                            .bind(first_byte)
                            .bind(import)
                            .bind(idle)
                            .fetch_one(&mut *tx)
                            .await?;
                        ids.insert(spec.name.clone(), id);
                    }
                    Op::UpdateInstance(id, spec) => {
                        let (auth, kind, reference) = spec.secret.to_columns();
                        let [connect, first_byte, import, idle] = timeout_columns(&spec.timeouts)?;
                        sqlx::query(update_instance.text())
                            .bind(id)
                            .bind(spec.url.clone())
                            .bind(spec.username.clone())
                            .bind(auth)
                            .bind(kind)
                            .bind(reference)
                            .bind(connect)
                            .bind(first_byte)
                            .bind(import)
                            .bind(idle)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Op::InsertSync(spec) | Op::UpdateSync(_, spec) => {
                        let (kind, source, destination, mode, selection) =
                            sync_columns(spec, &ids)?;
                        let pull = spec
                            .pull
                            .as_ref()
                            .map(serde_json::to_string)
                            .transpose()
                            .map_err(|e| StoreError::Invalid(e.to_string()))?;
                        let id = match op {
                            Op::UpdateSync(id, _) => {
                                sqlx::query(update_sync.text())
                                    .bind(id)
                                    .bind(kind)
                                    .bind(source)
                                    .bind(destination)
                                    .bind(mode)
                                    .bind(selection)
                                    .bind(pull)
                                    .execute(&mut *tx)
                                    .await?;
                                id
                            }
                            _ => {
                                sqlx::query_scalar::<_, i64>(insert_sync.text())
                                    .bind(spec.name.clone())
                                    .bind(kind)
                                    .bind(source)
                                    .bind(destination)
                                    .bind(mode)
                                    .bind(selection)
                                    .bind(pull)
                                    .fetch_one(&mut *tx)
                                    .await?
                            }
                        };
                        match &spec.auto {
                            Some(auto) => {
                                let cols = AutoColumns::new(auto)?;
                                bind_auto!(sqlx::query(upsert_auto.text()), id, &cols)
                                    .execute(&mut *tx)
                                    .await?;
                            }
                            None => {
                                sqlx::query(delete_auto.text())
                                    .bind(id)
                                    .execute(&mut *tx)
                                    .await?;
                            }
                        }
                    }
                    Op::DeleteSync(id) => {
                        sqlx::query(delete_sync.text())
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Op::DeleteInstance(id) => {
                        sqlx::query(delete_instance.text())
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(plan)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_changes_show_keys_on_one_side() {
        let old = [("url", "a".to_string()), ("password_env", "P".to_string())];
        let new = [("url", "a".to_string()), ("token_env", "T".to_string())];
        let got: Vec<(String, String, String)> = field_changes(&old, &new)
            .into_iter()
            .map(|f| (f.field, f.from, f.to))
            .collect();
        assert_eq!(
            got,
            [
                ("token_env".into(), "-".into(), "T".into()),
                ("password_env".into(), "P".into(), "-".into())
            ]
        );
    }
}
