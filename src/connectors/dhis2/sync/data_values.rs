//! Aggregate data values of one data set: streamed from the source's export
//! (never held whole), imported in batches. `includeDeleted=true` carries
//! deletions as `deleted:true` values, which the destination soft-deletes.

use chrono::{NaiveDate, NaiveDateTime};

use super::{Dhis2Sync, ResourceOutcome, Run, conflicts};
use crate::connectors::dhis2::DataValue;
use crate::connectors::dhis2::aggregate::{ChangeCount, DataValueImportParams, DataValueQuery};
use crate::connectors::dhis2::error::Result;
use crate::connectors::dhis2::reports::ImportSummary;
use crate::connectors::dhis2::stream_json::DataValueStream;

async fn query(
    sync: &Dhis2Sync,
    data_set: &str,
    since: Option<NaiveDateTime>,
) -> Result<DataValueQuery> {
    Ok(DataValueQuery {
        data_sets: vec![data_set.to_string()],
        org_units: sync.roots().await?.to_vec(),
        children: true,
        // A full export needs a period range; the client adds this same catch-all
        // range itself to `lastUpdated` queries (DHIS2-21821).
        start_date: since.map_or(NaiveDate::from_ymd_opt(1900, 1, 1), |_| None),
        end_date: since.map_or(NaiveDate::from_ymd_opt(2100, 12, 31), |_| None),
        last_updated: since,
        include_deleted: true,
        ..Default::default()
    })
}

/// Values changed since `since`, up to `data_value_count_cap` (counting
/// streams the values: DHIS2 has no count endpoint for them).
pub(crate) async fn count(
    sync: &Dhis2Sync,
    data_set: &str,
    since: Option<NaiveDateTime>,
) -> Result<ChangeCount> {
    let q = query(sync, data_set, since).await?;
    let mut retry = sync.retry();
    loop {
        match sync
            .source
            .count_data_value_changes(&q, sync.options.data_value_count_cap)
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) => retry.wait(e).await?,
        }
    }
}

pub(crate) async fn sync(
    sync: &Dhis2Sync,
    data_set: &str,
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
) -> Result<ResourceOutcome> {
    let mut out = ResourceOutcome::default();
    let q = query(sync, data_set, since).await?;
    // An incremental change set is small enough to count first; a full export
    // would be read twice, so its total grows as batches arrive instead.
    let mut total = if since.is_some() {
        let c = count(sync, data_set, since).await?;
        if c.exact { c.count } else { 0 }
    } else {
        0
    };
    run.progress.set_total(total);
    let mut retry = sync.retry();
    // Values handled so far: a stream that breaks is reopened and this many
    // skipped (the export order is stable for one query).
    let mut done: u64 = 0;
    'reopen: loop {
        let mut stream = open(sync, &q, &mut retry).await?;
        let mut seen: u64 = 0;
        loop {
            if run.cancelled(&mut out) {
                return Ok(out);
            }
            let batch = match stream.next_batch().await {
                None => break 'reopen,
                Some(Ok(b)) => b,
                Some(Err(e)) => {
                    retry.wait(e).await?;
                    continue 'reopen;
                }
            };
            let start = seen;
            seen += batch.len() as u64;
            if seen <= done {
                continue;
            }
            let skip = usize::try_from(done.saturating_sub(start)).unwrap_or(usize::MAX);
            let batch = batch.get(skip..).unwrap_or_default();
            let n = batch.len() as u64;
            if total < done + n {
                total = done + n;
                run.progress.set_total(total);
            }
            let summary = import(sync, batch, &mut retry).await?;
            retry.reset();
            let (errors, permanent) = conflicts::data_values(&mut out, &summary, batch);
            out.permanent += permanent;
            out.deleted += summary.import_count.deleted;
            out.page(run.progress, n, summary.synced(), errors);
            // DHIS2 counts both refused and unchanged values as ignored
            // (2.41.3 DefaultDataValueSetService.saveDataValueUpdate).
            run.progress
                .unchanged(summary.import_count.ignored.saturating_sub(errors));
            done = seen;
        }
    }
    if total != out.processed {
        run.progress.set_total(out.processed);
    }
    Ok(out)
}

async fn open(
    sync: &Dhis2Sync,
    q: &DataValueQuery,
    retry: &mut super::retry::Retry,
) -> Result<DataValueStream> {
    loop {
        match sync
            .source
            .data_values(q, sync.options.data_value_batch_size)
            .await
        {
            Ok(s) => return Ok(s),
            Err(e) => retry.wait(e).await?,
        }
    }
}

async fn import(
    sync: &Dhis2Sync,
    batch: &[DataValue],
    retry: &mut super::retry::Retry,
) -> Result<ImportSummary> {
    let params = DataValueImportParams::default();
    loop {
        let res = if sync.options.async_imports {
            sync.destination
                .import_data_values_async(batch, &params)
                .await
        } else {
            sync.destination.import_data_values(batch, &params).await
        };
        match res {
            Ok(s) => return Ok(s),
            Err(e) => retry.wait(e).await?,
        }
    }
}
