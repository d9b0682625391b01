//! Metadata: pages of `:owner` objects changed since the watermark, imported
//! best effort (`atomicMode=NONE`) so one bad object does not sink its page.
//! Org units go level by level (a child needs its parent); a mutually
//! referencing pair travels in one payload. Deletions come from
//! `deletedObjects`, applied only for objects the source no longer has.

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::{Dhis2Sync, ResourceOutcome, Run, conflicts};
use crate::connectors::dhis2::aggregate::ChangeCount;
use crate::connectors::dhis2::error::Result;
use crate::connectors::dhis2::metadata::{MetadataImportParams, MetadataQuery};
use crate::connectors::dhis2::pager::Pager;
use crate::connectors::dhis2::params::{AtomicMode, ImportStrategy};
use crate::connectors::dhis2::reports::ImportReport;

/// Deep enough for any DHIS2 hierarchy (they rarely pass 8 levels).
const MAX_LEVELS: u32 = 20;
/// UIDs per `id:in:[…]` check and per delete payload (keeps URLs short).
const DELETE_CHUNK: u32 = 200;

pub(crate) async fn count(
    sync: &Dhis2Sync,
    types: &[String],
    since: Option<NaiveDateTime>,
) -> Result<ChangeCount> {
    let mut count = 0;
    for t in types {
        let mut retry = sync.retry();
        count += loop {
            match sync.source.count_metadata_changes(t, since).await {
                Ok(n) => break n,
                Err(e) => retry.wait(e).await?,
            }
        };
    }
    Ok(ChangeCount { count, exact: true })
}

pub(crate) async fn sync(
    sync: &Dhis2Sync,
    types: &[String],
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
) -> Result<ResourceOutcome> {
    let mut out = ResourceOutcome::default();
    let changed = count(sync, types, since).await?.count;
    run.progress.set_total(changed);
    if changed == 0 {
        // Most of the ~70 metadata types of a real server are empty: one count
        // request each, not a count and a page. Whatever changes after this
        // count is after the run's watermark, so the next run finds it.
        return Ok(out);
    }
    match types {
        [single] if single == "organisationUnits" => {
            for level in 1..=MAX_LEVELS {
                let filter = format!("level:eq:{level}");
                if total(sync, single, None, std::slice::from_ref(&filter)).await? == 0 {
                    break;
                }
                run.progress.step(&format!("level {level}"));
                let pager = pager(sync, single, since, vec![filter])?;
                if !pages(sync, single, pager, run, &mut out).await? {
                    break;
                }
            }
        }
        [single] => {
            let pager = pager(sync, single, since, Vec::new())?;
            pages(sync, single, pager, run, &mut out).await?;
        }
        _ => together(sync, types, since, run, &mut out).await?,
    }
    Ok(out)
}

fn pager(
    sync: &Dhis2Sync,
    plural: &str,
    since: Option<NaiveDateTime>,
    filters: Vec<String>,
) -> Result<Pager<Value>> {
    let query = MetadataQuery {
        since,
        page_size: sync.options.metadata_page_size,
        filters,
        ..Default::default()
    };
    sync.source.metadata_pages(plural, query)
}

/// `pager.total` of a filtered list.
async fn total(
    sync: &Dhis2Sync,
    plural: &str,
    since: Option<NaiveDateTime>,
    filters: &[String],
) -> Result<u64> {
    let query = MetadataQuery {
        since,
        fields: Some("id".into()),
        page_size: 1,
        filters: filters.to_vec(),
    };
    let mut retry = sync.retry();
    loop {
        let mut pager = sync.source.metadata_pages(plural, query.clone())?;
        match pager.next_page().await {
            None => return Ok(0),
            Some(Ok(p)) => return Ok(p.info.total.unwrap_or(p.items.len() as u64)),
            Some(Err(e)) => retry.wait(e).await?,
        }
    }
}

/// Imports page after page; `false` when cancelled.
async fn pages(
    sync: &Dhis2Sync,
    plural: &str,
    mut pager: Pager<Value>,
    run: &Run<'_>,
    out: &mut ResourceOutcome,
) -> Result<bool> {
    let mut retry = sync.retry();
    loop {
        if run.cancelled(out) {
            return Ok(false);
        }
        let Some(page) = retry.next_page(&mut pager).await? else {
            return Ok(true);
        };
        let items = page.items;
        if items.is_empty() {
            continue;
        }
        let n = items.len() as u64;
        let report = import(
            sync,
            &json!({ plural: items }),
            ImportStrategy::CreateAndUpdate,
        )
        .await?;
        let (errors, _) = conflicts::metadata(out, &report, false);
        out.page(run.progress, n, report.stats.synced(), errors);
    }
}

/// A mutually referencing pair: each side may point at the other, so both go
/// in one payload (the one place a metadata resource is held whole; such
/// pairs are small: option sets, programs).
async fn together(
    sync: &Dhis2Sync,
    types: &[String],
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
    out: &mut ResourceOutcome,
) -> Result<()> {
    let mut payload = Map::new();
    let mut n = 0;
    for t in types {
        let mut pager = pager(sync, t, since, Vec::new())?;
        let mut retry = sync.retry();
        let mut items = Vec::new();
        while let Some(page) = retry.next_page(&mut pager).await? {
            if run.cancelled(out) {
                return Ok(());
            }
            items.extend(page.items);
        }
        n += items.len() as u64;
        payload.insert(t.clone(), Value::Array(items));
    }
    if n == 0 {
        return Ok(());
    }
    run.progress.step("importing");
    let report = import(
        sync,
        &Value::Object(payload),
        ImportStrategy::CreateAndUpdate,
    )
    .await?;
    let (errors, _) = conflicts::metadata(out, &report, false);
    out.page(run.progress, n, report.stats.synced(), errors);
    Ok(())
}

async fn import(
    sync: &Dhis2Sync,
    payload: &Value,
    strategy: ImportStrategy,
) -> Result<ImportReport> {
    let params = MetadataImportParams {
        strategy,
        atomic_mode: AtomicMode::None,
        skip_sharing: sync.selection.skip_sharing,
        ..Default::default()
    };
    let mut retry = sync.retry();
    loop {
        let res = if sync.options.async_imports {
            sync.destination
                .import_metadata_async(payload, &params)
                .await
        } else {
            sync.destination.import_metadata(payload, &params).await
        };
        match res {
            Ok(r) => return Ok(r),
            Err(e) => retry.wait(e).await?,
        }
    }
}

pub(crate) async fn count_deletions(
    sync: &Dhis2Sync,
    types: &[(String, String)],
    since: Option<NaiveDateTime>,
) -> Result<ChangeCount> {
    let mut count = 0;
    for (_, klass) in types {
        let mut retry = sync.retry();
        count += loop {
            let mut pager = sync.source.deleted_objects(klass, since, 1)?;
            match pager.next_page().await {
                None => break 0,
                Some(Ok(p)) => break p.info.total.unwrap_or(p.items.len() as u64),
                Some(Err(e)) => retry.wait(e).await?,
            }
        };
    }
    Ok(ChangeCount { count, exact: true })
}

/// Deletions since the watermark, dependants first (`types` is in reverse
/// import order). An object the source has again (re-created with the same
/// UID) is kept; one the destination never had is a skip, not an error.
pub(crate) async fn sync_deletions(
    sync: &Dhis2Sync,
    types: &[(String, String)],
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
) -> Result<ResourceOutcome> {
    let mut out = ResourceOutcome::default();
    run.progress
        .set_total(count_deletions(sync, types, since).await?.count);
    for (plural, klass) in types {
        run.progress.step(plural);
        // The whole window in one request, re-queried whole if it breaks:
        // offset pages of an unordered list are not a safe way to walk it
        // (see `deleted_objects_window`). Entries are handled in chunks only
        // after the read is complete, so nothing is counted twice; a second
        // delete of the same object is a skip at the destination anyway.
        let mut retry = sync.retry();
        let window = loop {
            match sync.source.deleted_objects_window(klass, since).await {
                Ok(w) => break w,
                Err(e) => retry.wait(e).await?,
            }
        };
        let mut uids: Vec<String> = window.into_iter().map(|d| d.uid).collect();
        uids.sort_unstable();
        uids.dedup();
        for chunk in uids.chunks(DELETE_CHUNK as usize) {
            if run.cancelled(&mut out) {
                return Ok(out);
            }
            let uids = chunk.to_vec();
            let n = uids.len() as u64;
            let gone = absent_at_source(sync, plural, uids).await?;
            let kept = n - gone.len() as u64;
            if gone.is_empty() {
                out.skipped += kept;
                out.page(run.progress, n, 0, 0);
                continue;
            }
            let ids: Vec<Value> = gone.iter().map(|id| json!({ "id": id })).collect();
            let report = import(
                sync,
                &json!({ plural.as_str(): ids }),
                ImportStrategy::Delete,
            )
            .await?;
            let (errors, skipped) = conflicts::metadata(&mut out, &report, true);
            out.deleted += report.stats.deleted;
            out.skipped += kept + skipped;
            out.page(run.progress, n, report.stats.deleted, errors);
        }
    }
    Ok(out)
}

/// The UIDs the source does not have (any more).
async fn absent_at_source(
    sync: &Dhis2Sync,
    plural: &str,
    uids: Vec<String>,
) -> Result<Vec<String>> {
    if uids.is_empty() {
        return Ok(uids);
    }
    let filter = format!("id:in:[{}]", uids.join(","));
    let query = MetadataQuery {
        fields: Some("id".into()),
        page_size: DELETE_CHUNK,
        filters: vec![filter],
        ..Default::default()
    };
    let mut pager = sync.source.metadata_pages(plural, query)?;
    let mut retry = sync.retry();
    let mut present = Vec::new();
    while let Some(page) = retry.next_page(&mut pager).await? {
        present.extend(
            page.items
                .iter()
                .filter_map(|o| o["id"].as_str().map(str::to_string)),
        );
    }
    Ok(uids.into_iter().filter(|u| !present.contains(u)).collect())
}
