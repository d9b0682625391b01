//! Tracker data of one program: tracked entities, enrollments and events
//! changed since the watermark, page by page, flat payloads (`atomicMode=OBJECT`,
//! no side effects at the destination). Deleted items are skipped here and
//! removed by the program's deletion pass, children first.

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::{Dhis2Sync, ResourceOutcome, Run, conflicts};
use crate::connectors::dhis2::aggregate::ChangeCount;
use crate::connectors::dhis2::error::Result;
use crate::connectors::dhis2::pager::Pager;
use crate::connectors::dhis2::params::ImportStrategy;
use crate::connectors::dhis2::tracker::{
    OrgUnitMode, TrackerImportParams, TrackerKind, TrackerQuery,
};
use crate::connectors::dhis2::tracker_report::{TrackerReport, TrackerType};

/// The export queries of one kind: events take a single org unit in every
/// version (`orgUnit` is one UID: 2.39.6/2.40.5
/// webapi/controller/tracker/export/TrackerEventCriteria.java, `a;b` is "Org
/// unit is specified but does not exist"; 2.41.3/2.42.1
/// export/event/EventRequestParams.java `UID orgUnit`), so events get one query
/// per root org unit; tracked entities and enrollments take all roots at once.
async fn queries(
    sync: &Dhis2Sync,
    kind: TrackerKind,
    program: &str,
    since: Option<NaiveDateTime>,
    fields: Option<String>,
) -> Result<Vec<TrackerQuery>> {
    let roots = sync.roots().await?.to_vec();
    let base = TrackerQuery {
        program: Some(program.to_string()),
        org_units: Vec::new(),
        org_unit_mode: Some(OrgUnitMode::Descendants),
        updated_after: since,
        include_deleted: true,
        page_size: sync.options.tracker_page_size,
        fields,
        ..Default::default()
    };
    Ok(if kind == TrackerKind::Events {
        roots
            .into_iter()
            .map(|root| TrackerQuery {
                org_units: vec![root],
                ..base.clone()
            })
            .collect()
    } else {
        vec![TrackerQuery {
            org_units: roots,
            ..base
        }]
    })
}

pub(crate) async fn count(
    sync: &Dhis2Sync,
    kind: TrackerKind,
    program: &str,
    since: Option<NaiveDateTime>,
) -> Result<ChangeCount> {
    let mut count = 0;
    for q in queries(sync, kind, program, since, None).await? {
        let mut retry = sync.retry();
        count += loop {
            match sync.source.count_tracker_changes(kind, &q).await {
                Ok(count) => break count,
                Err(e) => retry.wait(e).await?,
            }
        };
    }
    Ok(ChangeCount { count, exact: true })
}

async fn pager(sync: &Dhis2Sync, kind: TrackerKind, q: TrackerQuery) -> Result<Pager<Value>> {
    let mut retry = sync.retry();
    loop {
        match sync.source.tracker_pages(kind, q.clone()).await {
            Ok(p) => return Ok(p),
            Err(e) => retry.wait(e).await?,
        }
    }
}

fn tracker_type(kind: TrackerKind) -> TrackerType {
    match kind {
        TrackerKind::TrackedEntities => TrackerType::TrackedEntity,
        TrackerKind::Enrollments => TrackerType::Enrollment,
        TrackerKind::Events => TrackerType::Event,
    }
}

pub(crate) async fn sync(
    sync: &Dhis2Sync,
    kind: TrackerKind,
    program: &str,
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
) -> Result<ResourceOutcome> {
    let mut out = ResourceOutcome::default();
    run.progress
        .set_total(count(sync, kind, program, since).await?.count);
    for q in queries(sync, kind, program, since, None).await? {
        sync_query(sync, kind, q, run, &mut out).await?;
        if out.cancelled {
            break;
        }
    }
    Ok(out)
}

async fn sync_query(
    sync: &Dhis2Sync,
    kind: TrackerKind,
    q: TrackerQuery,
    run: &Run<'_>,
    out: &mut ResourceOutcome,
) -> Result<()> {
    let mut pager = pager(sync, kind, q).await?;
    let mut retry = sync.retry();
    loop {
        if run.cancelled(out) {
            return Ok(());
        }
        let Some(page) = retry.next_page(&mut pager).await? else {
            return Ok(());
        };
        let items = page.items;
        let n = items.len() as u64;
        let live: Vec<Value> = items.into_iter().filter(|i| i["deleted"] != true).collect();
        if live.is_empty() {
            out.page(run.progress, n, 0, 0);
            continue;
        }
        let payload = json!({ kind.plural(): live });
        let report = import(sync, &payload, ImportStrategy::CreateAndUpdate).await?;
        let (errors, _) = conflicts::tracker(out, &report, false);
        let synced = report
            .type_stats(tracker_type(kind))
            .map_or(report.stats.synced(), |s| s.synced());
        out.page(run.progress, n, synced, errors);
    }
}

/// Deletions of one program's items since the watermark, `kinds` children
/// first (events, enrollments, tracked entities), so a cascade at the
/// destination never removes something still to be looked at. Only UIDs and
/// the `deleted` flag are read.
pub(crate) async fn sync_deletions(
    sync: &Dhis2Sync,
    kinds: &[TrackerKind],
    program: &str,
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
) -> Result<ResourceOutcome> {
    let mut out = ResourceOutcome::default();
    let mut total = 0;
    for kind in kinds {
        total += count(sync, *kind, program, since).await?.count;
    }
    run.progress.set_total(total);
    for kind in kinds {
        run.progress.step(kind.plural());
        let id = kind.id_field();
        let fields = Some(format!("{id},deleted"));
        for q in queries(sync, *kind, program, since, fields).await? {
            let mut pager = pager(sync, *kind, q).await?;
            let mut retry = sync.retry();
            loop {
                if run.cancelled(&mut out) {
                    return Ok(out);
                }
                let Some(page) = retry.next_page(&mut pager).await? else {
                    break;
                };
                let items = page.items;
                let n = items.len() as u64;
                let gone: Vec<Value> = items
                    .iter()
                    .filter(|i| i["deleted"] == true)
                    .map(|i| json!({ id: i[id] }))
                    .collect();
                if gone.is_empty() {
                    out.page(run.progress, n, 0, 0);
                    continue;
                }
                let report = import(
                    sync,
                    &json!({ kind.plural(): gone }),
                    ImportStrategy::Delete,
                )
                .await?;
                let (errors, skipped) = conflicts::tracker(&mut out, &report, true);
                let deleted = report
                    .type_stats(tracker_type(*kind))
                    .map_or(report.stats.deleted, |s| s.deleted);
                out.deleted += deleted;
                out.skipped += skipped;
                out.page(run.progress, n, deleted, errors);
            }
        }
    }
    Ok(out)
}

async fn import(
    sync: &Dhis2Sync,
    payload: &Value,
    strategy: ImportStrategy,
) -> Result<TrackerReport> {
    let params = TrackerImportParams {
        async_mode: sync.options.async_imports,
        strategy,
        ..Default::default()
    };
    let mut retry = sync.retry();
    loop {
        match sync.destination.import_tracker(payload, &params).await {
            Ok(r) => return Ok(r),
            Err(e) => retry.wait(e).await?,
        }
    }
}
