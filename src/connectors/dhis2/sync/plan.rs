//! Which resources a selection means, in dependency order, with stable keys.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Dhis2Sync, tracker_kinds};
use crate::connectors::dhis2::error::{Dhis2Error, Result};
use crate::connectors::dhis2::metadata::MetadataQuery;
use crate::connectors::dhis2::syncable;
use crate::connectors::dhis2::system::ImportOrder;
use crate::connectors::dhis2::tracker::TrackerKind;
use crate::connectors::dhis2::version::{self, VersionSupport};

/// `metadata` or `data`, as the store's `job_resources.type` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceType {
    Metadata,
    Data,
}

/// One unit of sync with its own watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Stable across runs (see the module docs for the formats).
    pub key: String,
    /// For humans: "Data elements", "Data values: ANC monthly".
    pub label: String,
    pub rtype: ResourceType,
    /// What to move; the engine need not look inside.
    pub target: Target,
}

impl ResourceSpec {
    pub fn is_metadata(&self) -> bool {
        self.rtype == ResourceType::Metadata
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Metadata types imported together (plurals; two for mutually referencing pairs).
    Metadata {
        types: Vec<String>,
    },
    /// `deletedObjects` of these types (plural, class), dependants first.
    MetadataDeletions {
        types: Vec<(String, String)>,
    },
    DataValues {
        data_set: String,
    },
    Tracker {
        kind: TrackerKind,
        program: String,
    },
    /// Deleted tracker items of a program, children first.
    TrackerDeletions {
        program: String,
        kinds: Vec<TrackerKind>,
    },
}

/// Mutually referencing types that must travel in one payload.
const PAIRS: [[&str; 2]; 2] = [["options", "optionSets"], ["programStages", "programs"]];

pub(crate) async fn plan(sync: &Dhis2Sync) -> Result<Vec<ResourceSpec>> {
    let sel = &sync.selection;
    let mut out = Vec::new();
    let order = {
        let mut retry = sync.retry();
        loop {
            match sync.source.import_order().await {
                Ok(o) => break o,
                Err(e) => retry.wait(e).await?,
            }
        }
    };
    let types = selected_types(&order, &sel.metadata, &sel.exclude)?;
    for t in types.iter().filter(|t| !syncable::is_syncable(t)) {
        tracing::warn!(target: "sync_jobs", metadata_type = %t,
            "syncing {t}: named in this sync's metadata list, so it is moved although `*` leaves it out (users, credentials or server-local state); the destination's own {t} are created or overwritten");
    }
    for group in groups(&types) {
        out.push(ResourceSpec {
            key: format!("metadata:{}", group.join("+")),
            label: group.join(" + "),
            rtype: ResourceType::Metadata,
            target: Target::Metadata { types: group },
        });
    }

    for ds in selected(sync, "dataSets", "id,name", &sel.data_sets).await? {
        let id = str_field(&ds, "id");
        out.push(ResourceSpec {
            key: format!("dataValues:{id}"),
            label: format!("Data values: {}", name_of(&ds)),
            rtype: ResourceType::Data,
            target: Target::DataValues { data_set: id },
        });
    }

    let programs = selected(sync, "programs", "id,name,programType", &sel.programs).await?;
    check_versions(sync, !programs.is_empty()).await?;
    let mut deletions = Vec::new();
    for p in &programs {
        let id = str_field(p, "id");
        let kinds = tracker_kinds(p["programType"] == "WITH_REGISTRATION");
        for kind in &kinds {
            out.push(ResourceSpec {
                key: format!("{}:{id}", kind.plural()),
                label: format!("{}: {}", kind_label(*kind), name_of(p)),
                rtype: ResourceType::Data,
                target: Target::Tracker {
                    kind: *kind,
                    program: id.clone(),
                },
            });
        }
        deletions.push(ResourceSpec {
            key: format!("trackerDeletions:{id}"),
            label: format!("Tracker deletions: {}", name_of(p)),
            rtype: ResourceType::Data,
            target: Target::TrackerDeletions {
                program: id,
                kinds: kinds.into_iter().rev().collect(),
            },
        });
    }
    out.extend(deletions);

    if !types.is_empty() && reads_deletions(sync).await? {
        let klasses = types
            .iter()
            .rev()
            .filter_map(|t| {
                let s = order.schemas.iter().find(|s| &s.plural == t)?;
                Some((s.plural.clone(), s.klass.clone()))
            })
            .collect();
        out.push(ResourceSpec {
            key: "metadataDeletions".into(),
            label: "Metadata deletions".into(),
            rtype: ResourceType::Metadata,
            target: Target::MetadataDeletions { types: klasses },
        });
    }
    Ok(out)
}

/// Warns (every run, in `sync_jobs.log`) about a source or destination version
/// whose dhis2-core was not read, and refuses tracker resources where the
/// server is older than that: their request shapes are unknown there.
async fn check_versions(sync: &Dhis2Sync, has_tracker: bool) -> Result<()> {
    for (role, client) in [("source", &sync.source), ("destination", &sync.destination)] {
        let version = {
            let mut retry = sync.retry();
            loop {
                match client.version().await {
                    Ok(v) => break v,
                    Err(e) => retry.wait(e).await?,
                }
            }
        };
        let (oldest, newest) = (version::OLDEST_KNOWN, version::NEWEST_KNOWN);
        match version.support() {
            VersionSupport::Known => {}
            VersionSupport::Newer => {
                tracing::warn!(target: "sync_jobs", %role, %version,
                    "the {role} runs DHIS2 {version}, newer than the newest version syncdeck was checked against ({}.{}): requests use {}.{}'s shapes; check the first run's counts against the server",
                    newest.0, newest.1, newest.0, newest.1);
            }
            VersionSupport::Older if has_tracker => {
                return Err(Dhis2Error::Config(format!(
                    "the {role} runs DHIS2 {version}, older than {}.{}: its tracker API takes other parameters, so programs cannot be synced; remove `programs` from this sync or upgrade the server",
                    oldest.0, oldest.1
                )));
            }
            VersionSupport::Older => {
                tracing::warn!(target: "sync_jobs", %role, %version,
                    "the {role} runs DHIS2 {version}, older than the oldest version syncdeck was checked against ({}.{}): metadata and data values are tried with {}.{}'s requests",
                    oldest.0, oldest.1, oldest.0, oldest.1);
            }
        }
    }
    Ok(())
}

/// Whether the source account may read `/api/deletedObjects`, which needs the
/// ALL authority (webapi/controller/DeletedObjectController.java, 2.39.6–2.42.1).
/// Without it the deletion pass is left out of the plan, with a warning every
/// run, rather than failing every run; its watermark stays, so the deletions
/// since then are read once the account is granted ALL.
async fn reads_deletions(sync: &Dhis2Sync) -> Result<bool> {
    let me = {
        let mut retry = sync.retry();
        loop {
            match sync.source.me().await {
                Ok(me) => break me,
                Err(e) => retry.wait(e).await?,
            }
        }
    };
    if !me.is_superuser() {
        tracing::warn!(target: "sync_jobs", user = %me.username,
            "metadata deletions are not synced: the source account {} lacks the ALL authority that /api/deletedObjects needs, so objects deleted on the source stay on the destination; sync with a superuser account to carry deletions",
            me.username);
    }
    Ok(me.is_superuser())
}

/// Selected metadata plurals in schema order: `*` means every *syncable*
/// metadata type of the source (see `syncable`); a type `*` leaves out moves
/// only when named. Excludes always win. An unknown name is a configuration error.
fn selected_types(
    order: &ImportOrder,
    wanted: &[String],
    exclude: &[String],
) -> Result<Vec<String>> {
    let all = wanted.iter().any(|w| w == "*");
    let known: BTreeSet<&str> = order.plurals().collect();
    if let Some(bad) = wanted
        .iter()
        .find(|w| *w != "*" && !known.contains(w.as_str()))
    {
        return Err(Dhis2Error::Config(format!(
            "metadata type {bad:?} is not a metadata type of the source (expected a plural such as dataElements)"
        )));
    }
    Ok(order
        .plurals()
        .filter(|p| wanted.iter().any(|w| w == p) || (all && syncable::is_syncable(p)))
        .filter(|p| !exclude.iter().any(|e| e == p))
        .map(str::to_string)
        .collect())
}

/// Import groups: a pair travels together when both are selected, at the
/// position of its first member.
fn groups(types: &[String]) -> Vec<Vec<String>> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for t in types {
        if done.contains(t) {
            continue;
        }
        let group: Vec<String> = PAIRS
            .iter()
            .find(|p| p.contains(&t.as_str()) && p.iter().all(|m| types.iter().any(|x| x == m)))
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| vec![t.clone()]);
        done.extend(group.iter().cloned());
        out.push(group);
    }
    out
}

/// The source's objects of a type, all (`*`) or those whose UID is listed, in
/// the listed order.
async fn selected(
    sync: &Dhis2Sync,
    plural: &str,
    fields: &str,
    wanted: &[String],
) -> Result<Vec<Value>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let all = list_objects(sync, plural, fields, &[]).await?;
    if wanted.iter().any(|w| w == "*") {
        return Ok(all);
    }
    let mut out = Vec::new();
    for w in wanted {
        match all.iter().find(|o| o["id"] == w.as_str()) {
            Some(o) => out.push(o.clone()),
            None => tracing::warn!("{plural} {w} is selected but not found at the source; skipped"),
        }
    }
    Ok(out)
}

/// Every object of a (small) type: data sets, programs, org unit roots.
pub(crate) async fn list_objects(
    sync: &Dhis2Sync,
    plural: &str,
    fields: &str,
    filters: &[&str],
) -> Result<Vec<Value>> {
    let query = MetadataQuery {
        fields: Some(fields.into()),
        page_size: sync.options.metadata_page_size,
        filters: filters.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    };
    let mut pager = sync.source.metadata_pages(plural, query)?;
    let mut retry = sync.retry();
    let mut out = Vec::new();
    while let Some(page) = retry.next_page(&mut pager).await? {
        out.extend(page.items);
    }
    Ok(out)
}

/// UIDs and names of a type's objects matching `filters`.
pub(crate) async fn list_ids(
    sync: &Dhis2Sync,
    plural: &str,
    filters: &[&str],
) -> Result<Vec<(String, String)>> {
    Ok(list_objects(sync, plural, "id,name", filters)
        .await?
        .iter()
        .map(|o| (str_field(o, "id"), name_of(o)))
        .filter(|(id, _)| !id.is_empty())
        .collect())
}

fn str_field(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn name_of(v: &Value) -> String {
    v["name"]
        .as_str()
        .or(v["id"].as_str())
        .unwrap_or("?")
        .to_string()
}

fn kind_label(kind: TrackerKind) -> &'static str {
    match kind {
        TrackerKind::TrackedEntities => "Tracked entities",
        TrackerKind::Enrollments => "Enrollments",
        TrackerKind::Events => "Events",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn order(plurals: &[&str]) -> ImportOrder {
        ImportOrder {
            schemas: plurals
                .iter()
                .enumerate()
                .map(|(i, p)| crate::connectors::dhis2::system::Schema {
                    klass: format!("org.hisp.dhis.x.{p}"),
                    plural: p.to_string(),
                    metadata: true,
                    order: i as i64,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn star_leaves_users_out_and_naming_them_opts_in() {
        let o = order(&[
            "attributes",
            "userRoles",
            "users",
            "userGroups",
            "jobConfigurations",
            "dataElements",
        ]);
        let star = selected_types(&o, &s(&["*"]), &[]).unwrap();
        assert_eq!(star, s(&["attributes", "dataElements"]));
        let opted = selected_types(&o, &s(&["*", "users"]), &[]).unwrap();
        assert_eq!(opted, s(&["attributes", "users", "dataElements"]));
        let excluded = selected_types(&o, &s(&["*", "users"]), &s(&["users"])).unwrap();
        assert_eq!(excluded, s(&["attributes", "dataElements"]));
        assert!(
            selected_types(&o, &s(&["apiToken"]), &[]).is_err(),
            "unknown at the source"
        );
    }

    #[test]
    fn pairs_travel_together_only_when_both_selected() {
        let g = groups(&s(&[
            "categories",
            "options",
            "optionSets",
            "programStages",
            "programs",
            "maps",
        ]));
        assert_eq!(
            g,
            vec![
                s(&["categories"]),
                s(&["options", "optionSets"]),
                s(&["programStages", "programs"]),
                s(&["maps"])
            ]
        );
        assert_eq!(
            groups(&s(&["options", "maps"])),
            vec![s(&["options"]), s(&["maps"])]
        );
    }
}
