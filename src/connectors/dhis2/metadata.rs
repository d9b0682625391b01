//! Metadata: change counts, paged export, `/api/metadata` export, deletions, import.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::accounting;
use super::client::{Dhis2Client, json_body};
use super::error::{Dhis2Error, Result};
use super::pager::{Envelope, Pager, page_from};
use super::params::{AtomicMode, ImportMode, ImportStrategy, Query, ReportMode, push, push_bool};
use super::report_parsing::metadata_import_from;
use super::reports::{ImportReport, ImportStatus, short_klass};
use super::response::{ResponseMeta, parse_checked};
use super::time::format_timestamp;

/// What `metadata_pages` fetches for one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataQuery {
    /// Only objects with `lastUpdated >= since` (server-local time).
    pub since: Option<NaiveDateTime>,
    /// `fields`; `None` means `:owner` (the importable form).
    pub fields: Option<String>,
    pub page_size: u32,
    /// Extra `filter=` values (`prop:op:value`), ANDed.
    pub filters: Vec<String>,
}

impl Default for MetadataQuery {
    fn default() -> Self {
        MetadataQuery {
            since: None,
            fields: None,
            page_size: 1000,
            filters: Vec::new(),
        }
    }
}

/// `GET /api/metadata` for several (small) types at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataExportQuery {
    /// Plurals, e.g. `["categoryOptions", "categories"]`.
    pub types: Vec<String>,
    /// `fields`; `None` means DHIS2's default `:owner`.
    pub fields: Option<String>,
    /// `filter=` values applied to every type.
    pub filters: Vec<String>,
    /// `defaults=EXCLUDE`: drop the auto-generated "default" category objects.
    pub exclude_defaults: bool,
    pub skip_sharing: bool,
}

impl Default for MetadataExportQuery {
    fn default() -> Self {
        MetadataExportQuery {
            types: Vec::new(),
            fields: None,
            filters: Vec::new(),
            exclude_defaults: true,
            skip_sharing: false,
        }
    }
}

/// `POST /api/metadata` parameters. Defaults suit a sync: best effort, errors only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetadataImportParams {
    pub strategy: ImportStrategy,
    pub atomic_mode: AtomicMode,
    pub import_mode: ImportMode,
    pub report_mode: ReportMode,
    pub skip_sharing: bool,
}

impl MetadataImportParams {
    pub(crate) fn to_query(self) -> Query {
        let mut q = Query::new();
        push(&mut q, "importStrategy", self.strategy.as_str());
        push(&mut q, "atomicMode", self.atomic_mode.as_str());
        push(&mut q, "importMode", self.import_mode.as_str());
        push(&mut q, "importReportMode", self.report_mode.metadata_str());
        push_bool(&mut q, "skipSharing", self.skip_sharing);
        q
    }
}

/// One `/api/deletedObjects` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeletedObject {
    /// Short class name, e.g. `OrganisationUnit`.
    pub klass: String,
    pub uid: String,
    pub code: Option<String>,
    pub deleted_at: Option<String>,
    pub deleted_by: Option<String>,
}

/// API path segments are plurals like `dataElements`: letters and digits only.
pub(crate) fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Dhis2Error::Config(format!(
            "invalid {kind} {name:?}: expected letters and digits (e.g. dataElements)"
        )));
    }
    Ok(())
}

/// Refuses a report that does not account for every object of `payload`.
/// Only a committed best-effort import counts each object once; with
/// `atomicMode=ALL` or `VALIDATE` DHIS2 counts less, so there only a failure
/// without a reason is refused.
pub(crate) fn accounted_metadata(
    report: &ImportReport,
    payload: &Value,
    params: &MetadataImportParams,
    url: &str,
) -> Result<()> {
    let problem =
        if params.import_mode == ImportMode::Commit && params.atomic_mode == AtomicMode::None {
            let sent = metadata_payload_counts(payload).values().sum::<usize>() as u64;
            accounting::metadata(report, sent, accounting::default_objects(payload))
        } else {
            (report.status == ImportStatus::Error && report.error_count() == 0)
                .then(|| "status ERROR without a single error report".to_string())
        };
    match problem {
        Some(reason) => Err(Dhis2Error::inconsistent(
            url,
            format!("the metadata import report: {reason}"),
        )),
        None => Ok(()),
    }
}

/// `lastUpdated:ge:<ts>`: `ge` so an object changed at the watermark instant is not lost.
pub fn last_updated_filter(since: NaiveDateTime) -> String {
    format!("lastUpdated:ge:{}", format_timestamp(since))
}

/// Query for one page of a metadata list.
pub(crate) fn list_query(q: &MetadataQuery) -> Query {
    let mut out = Query::new();
    push(
        &mut out,
        "fields",
        q.fields.clone().unwrap_or_else(|| ":owner".into()),
    );
    push(&mut out, "paging", "true");
    push(&mut out, "order", "id:asc");
    if let Some(since) = q.since {
        push(&mut out, "filter", last_updated_filter(since));
    }
    for f in &q.filters {
        push(&mut out, "filter", f.clone());
    }
    out
}

/// Objects per type in a metadata payload (a `/api/metadata` export or an
/// import body); the `system` header and non-list keys are skipped.
pub fn metadata_payload_counts(payload: &Value) -> BTreeMap<String, usize> {
    payload
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_array().map(|a| (k.clone(), a.len())))
        .collect()
}

impl Dhis2Client {
    /// Objects of one type changed since `since` (all objects when `None`), via
    /// `pager.total` of a one-item page.
    pub async fn count_metadata_changes(
        &self,
        plural: &str,
        since: Option<NaiveDateTime>,
    ) -> Result<u64> {
        check_name("metadata type", plural)?;
        let mut q = Query::new();
        push(&mut q, "fields", "id");
        push(&mut q, "pageSize", "1");
        push(&mut q, "paging", "true");
        if let Some(since) = since {
            push(&mut q, "filter", last_updated_filter(since));
        }
        let (meta, body) = self.request(Method::GET, &[plural], &q, None).await?;
        let page = page_from::<Value>(
            &meta,
            &body,
            &Envelope::metadata(plural),
            &format!("{plural} list"),
            (1, 1),
        )?;
        page.info.total.ok_or_else(|| {
            Dhis2Error::bad_payload(format!("{plural} list has no pager.total"), &body)
        })
    }

    /// Pages of one metadata type (`order=id:asc` for stable paging).
    pub fn metadata_pages(&self, plural: &str, query: MetadataQuery) -> Result<Pager<Value>> {
        check_name("metadata type", plural)?;
        Ok(Pager::new(
            self.clone(),
            vec![plural.to_string()],
            list_query(&query),
            Envelope::metadata(plural),
            query.page_size,
            format!("{plural} list"),
        ))
    }

    /// `GET /api/metadata` for a few types, unpaged: keep it for small sets.
    pub async fn metadata_export(&self, query: &MetadataExportQuery) -> Result<Value> {
        if query.types.is_empty() {
            return Err(Dhis2Error::Config(
                "metadata export needs at least one type".into(),
            ));
        }
        let mut q = Query::new();
        for t in &query.types {
            check_name("metadata type", t)?;
            push(&mut q, t, "true");
        }
        if let Some(f) = &query.fields {
            push(&mut q, "fields", f.clone());
        }
        for f in &query.filters {
            push(&mut q, "filter", f.clone());
        }
        if query.exclude_defaults {
            push(&mut q, "defaults", "EXCLUDE");
        }
        push_bool(&mut q, "skipSharing", query.skip_sharing);
        let (meta, body) = self.request(Method::GET, &["metadata"], &q, None).await?;
        let v: Value = parse_checked(&meta, &body, "metadata export")?;
        if !v.is_object() {
            return Err(Dhis2Error::bad_payload(
                "metadata export: expected a JSON object",
                &body,
            ));
        }
        Ok(v)
    }

    /// Pages of `/api/deletedObjects` for a class (long or short name) since a
    /// time. Needs the `ALL` authority.
    pub fn deleted_objects(
        &self,
        klass: &str,
        since: Option<NaiveDateTime>,
        page_size: u32,
    ) -> Result<Pager<DeletedObject>> {
        let short = short_klass(klass);
        check_name("class name", short)?;
        let mut q = Query::new();
        push(&mut q, "klass", short);
        push(&mut q, "paging", "true");
        if let Some(since) = since {
            push(&mut q, "deletedAt", format_timestamp(since));
        }
        Ok(Pager::new(
            self.clone(),
            vec!["deletedObjects".into()],
            q,
            Envelope::metadata("deletedObjects"),
            page_size,
            "deletedObjects list".into(),
        ))
    }

    /// Every `/api/deletedObjects` entry of a class since a time, in one
    /// request (`paging=false`, accepted in 2.39.6–2.42.1:
    /// deletedobject/DeletedObjectQuery.isSkipPaging). Offset pages are not
    /// safe here: the query has no ORDER BY (2.41.3
    /// deletedobject/hibernate/HibernateDeletedObjectStore.query), so page 2 of
    /// one request and page 1 of the next may overlap and skip entries.
    pub async fn deleted_objects_window(
        &self,
        klass: &str,
        since: Option<NaiveDateTime>,
    ) -> Result<Vec<DeletedObject>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Window {
            deleted_objects: Vec<DeletedObject>,
        }
        let short = short_klass(klass);
        check_name("class name", short)?;
        let mut q = Query::new();
        push(&mut q, "klass", short);
        push(&mut q, "paging", "false");
        if let Some(since) = since {
            push(&mut q, "deletedAt", format_timestamp(since));
        }
        let (meta, body) = self
            .request(Method::GET, &["deletedObjects"], &q, None)
            .await?;
        let window: Window = parse_checked(&meta, &body, "deletedObjects list")?;
        Ok(window.deleted_objects)
    }

    /// `POST /api/metadata` (synchronous). A 409 with a report is returned as
    /// `Ok`: check `report.status` and the error reports.
    pub async fn import_metadata(
        &self,
        payload: &Value,
        params: &MetadataImportParams,
    ) -> Result<ImportReport> {
        let (meta, body) = self.post_metadata(payload, params, false).await?;
        let report = metadata_import_from(&meta, &body)?;
        accounted_metadata(&report, payload, params, &meta.url)?;
        Ok(report)
    }

    /// `POST /api/metadata` with the import parameters; the sync and async
    /// imports differ only in `async` and in what they do with the answer.
    pub(crate) async fn post_metadata(
        &self,
        payload: &Value,
        params: &MetadataImportParams,
        async_mode: bool,
    ) -> Result<(ResponseMeta, Vec<u8>)> {
        let body = json_body(payload, "metadata payload")?;
        let mut q = params.to_query();
        push(&mut q, "async", if async_mode { "true" } else { "false" });
        self.request(Method::POST, &["metadata"], &q, Some(body))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dhis2::time::parse_timestamp;

    #[test]
    fn list_query_shape() {
        let q = list_query(&MetadataQuery {
            since: parse_timestamp("2024-05-01T10:00:00"),
            filters: vec!["code:!null".into()],
            ..Default::default()
        });
        let s: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            s,
            [
                "fields=:owner",
                "paging=true",
                "order=id:asc",
                "filter=lastUpdated:ge:2024-05-01T10:00:00.000",
                "filter=code:!null"
            ]
        );
        assert!(
            !list_query(&MetadataQuery::default())
                .iter()
                .any(|(k, _)| k == "filter")
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("t", "dataElements").is_ok());
        assert!(check_name("t", "../users").is_err());
        assert!(check_name("t", "").is_err());
    }

    #[test]
    fn import_params_query() {
        let q = MetadataImportParams::default().to_query();
        assert!(q.contains(&("atomicMode".into(), "NONE".into())));
        assert!(q.contains(&("importReportMode".into(), "ERRORS".into())));
        assert!(q.contains(&("importStrategy".into(), "CREATE_AND_UPDATE".into())));
    }
}
