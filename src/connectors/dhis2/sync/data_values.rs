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

/// Time between reading the source's clock and the export's SQL running,
/// allowed for by widening the window (re-sending a few values is harmless).
const CLOCK_READ_SLACK: std::time::Duration = std::time::Duration::from_secs(10);

/// The export of one data set's window. `since` (server-local: the watermark
/// minus the overlap) is sent as `lastUpdatedDuration`, measured on the
/// source's clock just now, never as `lastUpdated`: DHIS2 writes a
/// `lastUpdated` bound into SQL as UTC (`toLongGmtDate`) and compares it with
/// `dv.lastupdated`, a timestamp without time zone in server-local time, so on
/// a server west of UTC the window would start |offset| hours late and the
/// values changed in those hours would be missed for ever. The duration is
/// subtracted from the server's local wall clock (`DateUtils.nowMinusDuration`
/// takes local time as if UTC, which `toLongGmtDate` prints back unchanged):
/// the bound is right whatever the offset, in 2.39.6, 2.40.5, 2.41.3 and
/// 2.42.1 (dxf2/datavalueset/SpringDataValueSetStore.java getDataValueSql;
/// dhis-api util/DateUtils.java).
async fn query(
    sync: &Dhis2Sync,
    data_set: &str,
    since: Option<NaiveDateTime>,
) -> Result<DataValueQuery> {
    let last_updated_duration = match since {
        None => None,
        Some(since) => {
            let server_now = sync.server_time().await?;
            // A watermark ahead of the source's clock (its clock stepped back)
            // reads from now on: never a negative duration.
            let behind = (server_now - since).to_std().unwrap_or_default();
            Some(behind + CLOCK_READ_SLACK)
        }
    };
    Ok(DataValueQuery {
        data_sets: vec![data_set.to_string()],
        org_units: sync.roots().await?.to_vec(),
        children: true,
        // A full export needs a period range; the client adds this same catch-all
        // range itself to `lastUpdated` queries (DHIS2-21821).
        start_date: since.map_or(NaiveDate::from_ymd_opt(1900, 1, 1), |_| None),
        end_date: since.map_or(NaiveDate::from_ymd_opt(2100, 12, 31), |_| None),
        last_updated_duration,
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
    let mut retry = sync.retry();
    loop {
        let q = query(sync, data_set, since).await?;
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

/// What one reading of the window has reached, and the most any reading has.
#[derive(Default, Clone, Copy)]
struct Tally {
    processed: u64,
    errors: u64,
}

pub(crate) async fn sync(
    sync: &Dhis2Sync,
    data_set: &str,
    since: Option<NaiveDateTime>,
    run: &Run<'_>,
) -> Result<ResourceOutcome> {
    let mut out = ResourceOutcome::default();
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
    // A stream that breaks is not resumed by position: the export has no order
    // (no ORDER BY in 2.41.3 dxf2/datavalueset/SpringDataValueSetStore.java),
    // so "skip the first N" of a new request would skip values never sent and
    // send others twice. The window is queried again from its start and every
    // value re-sent; imports are idempotent (a value already there comes back
    // as ignored, so `synced` counts real changes only).
    //
    // Counting: every reading covers the same window, so the resource's
    // `processed` and `errors` are the most that any one reading has reached
    // (`best`); a reading only adds what goes beyond it. A value read again
    // after a reconnect is thus counted once, and the complete, last reading's
    // counts become the resource's (a value the destination refuses, it
    // refuses again). Its conflicts are collected afresh for the same reason.
    let mut best = Tally::default();
    'reopen: loop {
        let mut stream = open(sync, data_set, since, &mut retry).await?;
        let mut reading = Tally::default();
        out.conflicts.clear();
        out.permanent = 0;
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
            let n = batch.len() as u64;
            let summary = import(sync, &batch, &mut retry).await?;
            retry.reset();
            let (errors, permanent) = conflicts::data_values(&mut out, &summary, &batch);
            // Like the conflicts, the permanent refusals are the reading's own.
            out.permanent += permanent;
            reading.processed += n;
            reading.errors += errors;
            let new_processed = reading.processed.saturating_sub(best.processed);
            let new_errors = reading.errors.saturating_sub(best.errors);
            best.processed = best.processed.max(reading.processed);
            best.errors = best.errors.max(reading.errors);
            if total < best.processed {
                total = best.processed;
                run.progress.set_total(total);
            }
            out.deleted += summary.import_count.deleted;
            out.page(run.progress, new_processed, summary.synced(), new_errors);
            // DHIS2 counts both refused and unchanged values as ignored
            // (2.41.3 DefaultDataValueSetService.saveDataValueUpdate); only
            // the values new to the count may be reported unchanged.
            let unchanged = summary.import_count.ignored.saturating_sub(errors);
            run.progress.unchanged(unchanged.min(new_processed));
        }
    }
    if total != out.processed {
        run.progress.set_total(out.processed);
    }
    Ok(out)
}

/// Opens the window's export; the duration is measured again for each
/// request, so a retry after a pause still starts the window at `since`.
async fn open(
    sync: &Dhis2Sync,
    data_set: &str,
    since: Option<NaiveDateTime>,
    retry: &mut super::retry::Retry,
) -> Result<DataValueStream> {
    loop {
        let q = query(sync, data_set, since).await?;
        match sync
            .source
            .data_values(&q, sync.options.data_value_batch_size)
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
