//! `apply = "syncdeck"`: the pulled document is a syncdeck configuration (the
//! TOML file's schema, as JSON), validated by the same reader as `apply -f`
//! and applied in one transaction, or not at all.
//!
//! A backend is trusted with the syncs, not with this host: a pulled
//! document may not declare `[[instance]]` sections (an instance names a
//! secret file or variable here and a URL it is sent to) nor `http_pull`
//! syncs (which write files here and run commands). Its syncs reference
//! instances configured on this host.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::model::SyncKind;
use crate::config::spec::ConfigFile;
use crate::store::Store;
use crate::store::apply::ApplyPlan;

/// The document as a validated configuration; `Err` lists every problem, by key.
pub fn parse(
    bytes: &[u8],
    hash_field: &str,
    puller: &str,
    known_instances: &BTreeSet<String>,
) -> Result<ConfigFile, String> {
    let (text, removed) = crate::config::file::json_as_toml(bytes, &[hash_field, "instance"])
        .map_err(|e| format!("the document is {e}"))?;
    let mut problems = Vec::new();
    if removed.contains(&"instance") {
        problems.push(
            "instance: a pulled configuration may not declare instances; configure them on this host and reference them by name".to_string(),
        );
    }
    let name = format!("the document pulled by {puller}");
    match crate::config::file::parse(Path::new(&name), &text, known_instances) {
        Err(errors) => problems.extend(errors.0.into_iter().map(|mut e| {
            // Lines of our TOML rendering mean nothing to the backend's author.
            e.line = 0;
            e.file = name.clone();
            e.to_string()
        })),
        Ok(file) => {
            for sync in &file.syncs {
                if sync.kind == SyncKind::HttpPull {
                    problems.push(format!(
                        "{name}: [sync \"{}\"]: a pulled configuration may not declare http_pull syncs",
                        sync.name
                    ));
                }
                if sync.name == puller {
                    problems.push(format!(
                        "{name}: [sync \"{}\"]: has the name of the config that pulls it; choose another",
                        sync.name
                    ));
                }
            }
            if problems.is_empty() {
                return Ok(file);
            }
        }
    }
    Err(problems.join("\n"))
}

/// Validates and applies the document (configs it does not name are kept).
pub async fn apply(
    store: &Store,
    bytes: &[u8],
    hash_field: &str,
    puller: &str,
) -> Result<ApplyPlan, String> {
    let known: BTreeSet<String> = store
        .list_instances()
        .await
        .map_err(|e| format!("cannot read the instances: {e}"))?
        .into_iter()
        .map(|i| i.name)
        .collect();
    let file = parse(bytes, hash_field, puller, &known)?;
    store
        .apply(&file, false, false)
        .await
        .map_err(|e| format!("cannot apply the pulled configuration: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        ["national".to_string(), "regional".to_string()].into()
    }

    #[test]
    fn a_pulled_configuration_is_read_as_apply_reads_the_file() {
        let doc = br#"{"config_hash": "x", "sync": [{"name": "nightly", "source": "national",
            "destination": "regional", "mode": "automatic", "auto": {"check_interval": "10m"}}]}"#;
        let file = parse(doc, "config_hash", "fleet", &known()).unwrap();
        assert_eq!(file.syncs.len(), 1);
        assert_eq!(file.syncs[0].name, "nightly");
    }

    #[test]
    fn every_problem_is_reported_by_its_field() {
        let doc =
            br#"{"instance": [{"name": "evil", "url": "https://x", "token_file": "/etc/shadow"}],
            "sync": [{"name": "fast", "source": "national", "destination": "regional",
            "mode": "automatic", "auto": {"check_interval": "5s"}},
            {"name": "fleet", "kind": "http_pull", "source": "national", "mode": "manual",
             "pull": {"target": "/etc/cron.d/x"}}]}"#;
        let err = parse(doc, "config_hash", "fleet", &known()).unwrap_err();
        assert!(err.contains("may not declare instances"), "{err}");
        assert!(
            err.contains("[sync \"fast\"].auto.check_interval: must be at least 60s"),
            "{err}"
        );
        let doc = br#"{"sync": [{"name": "fleet", "kind": "http_pull", "source": "national",
            "mode": "manual", "pull": {"target": "/etc/cron.d/x"}}]}"#;
        let err = parse(doc, "config_hash", "fleet", &known()).unwrap_err();
        assert!(err.contains("may not declare http_pull syncs"), "{err}");
        assert!(
            err.contains("has the name of the config that pulls it"),
            "{err}"
        );
        assert!(
            parse(b"[1]", "config_hash", "fleet", &known())
                .unwrap_err()
                .contains("not a syncdeck configuration")
        );
    }
}
