//! The DHIS2→DHIS2 sync side of the connector: what the engine calls. It knows
//! DHIS2; the engine knows only [`ResourceSpec`] keys, counts and outcomes.
//!
//! ```text
//! let sync = Dhis2Sync::new(source, destination, selection, SyncOptions::default());
//! let run_start = sync.server_time().await?;          // watermark for this run
//! for res in sync.plan().await? {                     // dependency order
//!     let changed = sync.count_changes(&res, watermark_of(&res.key)).await?;
//!     let outcome = sync.sync_resource(&res, watermark_of(&res.key), &sink, &cancel).await?;
//!     // advance res.key's watermark to run_start only if it is complete and
//!     // every error is permanent (outcome.errors == outcome.permanent)
//! }
//! ```
//!
//! Resource keys (stable across runs; the engine stores one watermark per key):
//! - `metadata:<plural>`; mutually referencing pairs travel in one payload and
//!   get one key, `metadata:options+optionSets`, `metadata:programStages+programs`;
//! - `dataValues:<dataSetUid>`;
//! - `trackedEntities:<programUid>`, `enrollments:<programUid>`, `events:<programUid>`;
//! - `trackerDeletions:<programUid>` (events, then enrollments, then tracked entities);
//! - `metadataDeletions` (deletedObjects of the selected types, dependants first).
//!
//! Order of [`Dhis2Sync::plan`]: metadata in the source's schema order, data
//! values per data set, tracker per program, then the deletion passes. Metadata
//! deletions come last so data that still pointed at a deleted object has been
//! removed (or soft-deleted) first.
//!
//! Errors: import conflicts are per-resource results ([`ResourceOutcome::errors`],
//! classified [`Conflict`]s) and the sync goes on with the next page. Only a
//! [`Dhis2Error`] aborts a resource, after in-process retries of retryable ones.

mod conflicts;
mod data_values;
mod metadata;
mod plan;
mod retry;
mod tracker;

use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::aggregate::ChangeCount;
use super::client::Dhis2Client;
use super::error::{Dhis2Error, Result};
use super::tracker::TrackerKind;
use crate::config::model::Selection;

pub use conflicts::{Conflict, ConflictClass};
pub use plan::{ResourceSpec, ResourceType, Target};

/// Tunables of a sync. `Default` suits a WAN link to a production DHIS2.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Metadata objects per page (and per import payload).
    pub metadata_page_size: u32,
    /// Data values per import batch (cut from the streamed export).
    pub data_value_batch_size: usize,
    /// Tracked entities / enrollments / events per page (and per import).
    pub tracker_page_size: u32,
    /// Subtracted from the watermark: clocks and long transactions straddle it,
    /// and re-importing a few objects is harmless (imports are upserts).
    pub overlap: Duration,
    /// Use async imports (job + polling): for big payloads that would hit
    /// gateway timeouts. Sync imports are simpler and faster otherwise.
    pub async_imports: bool,
    /// In-process retries of one request (page or import) on a retryable error.
    pub retry: RetryPolicy,
    /// Cap on a data value change count (DHIS2 has no count endpoint, so
    /// counting means streaming the values; the cap bounds that cost).
    pub data_value_count_cap: u64,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            metadata_page_size: 1000,
            data_value_batch_size: 5000,
            tracker_page_size: 500,
            overlap: Duration::from_secs(60),
            async_imports: false,
            retry: RetryPolicy::default(),
            data_value_count_cap: 100_000,
        }
    }
}

/// Exponential backoff for retryable errors inside one sync; a server's
/// `Retry-After` wins over the computed delay. Auth errors are never retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Where a sync reports its progress (the engine's progress hub).
pub trait ProgressSink: Send + Sync {
    /// Objects expected for the resource (0 = unknown; may be called again as it grows).
    fn set_total(&self, total: u64);
    /// After each imported page or batch.
    fn add(&self, processed: u64, synced: u64, errors: u64);
    /// What is happening now, for humans ("page 3", "deleting events").
    fn step(&self, step: &str);
    /// Of the objects just added, how many the destination already held
    /// unchanged (DHIS2 counts them as ignored). No default: a wrapper that
    /// forgot to pass it on would silently undercount resumed resources.
    fn unchanged(&self, objects: u64);
}

/// A sink that ignores everything.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn set_total(&self, _: u64) {}
    fn add(&self, _: u64, _: u64, _: u64) {}
    fn step(&self, _: &str) {}
    fn unchanged(&self, _: u64) {}
}

/// The result of syncing one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceOutcome {
    /// Objects read from the source and sent (or looked at, for deletions).
    pub processed: u64,
    /// Created + updated + deleted at the destination.
    pub synced: u64,
    /// Of `synced`, deletions.
    pub deleted: u64,
    /// Deletions of objects the destination never had (or already deleted).
    pub skipped: u64,
    /// Objects the destination rejected.
    pub errors: u64,
    /// Of `errors`, rejections the destination will repeat whatever is sent
    /// ([`ConflictClass::Permanent`]): they do not hold the watermark back.
    pub permanent: u64,
    /// The rejections, classified (one per error report).
    pub conflicts: Vec<Conflict>,
    /// Stopped at the cancellation token: not complete, keep the old watermark.
    pub cancelled: bool,
}

impl ResourceOutcome {
    /// Complete and without errors.
    pub fn is_clean(&self) -> bool {
        !self.cancelled && self.errors == 0
    }

    pub(crate) fn page(
        &mut self,
        progress: &dyn ProgressSink,
        processed: u64,
        synced: u64,
        errors: u64,
    ) {
        self.processed += processed;
        self.synced += synced;
        self.errors += errors;
        progress.add(processed, synced, errors);
    }
}

/// Syncs a selection of one DHIS2 (source) into another (destination).
pub struct Dhis2Sync {
    source: Dhis2Client,
    destination: Dhis2Client,
    selection: Selection,
    options: SyncOptions,
    /// Org unit roots of data exports, learned once.
    roots: OnceCell<Vec<String>>,
}

impl Dhis2Sync {
    pub fn new(
        source: Dhis2Client,
        destination: Dhis2Client,
        selection: Selection,
        options: SyncOptions,
    ) -> Self {
        Dhis2Sync {
            source,
            destination,
            selection,
            options,
            roots: OnceCell::new(),
        }
    }

    pub fn options(&self) -> &SyncOptions {
        &self.options
    }

    /// The source's `serverDate`: the watermark of a run that starts now (never
    /// the local clock; DHIS2 timestamps are server-local).
    pub async fn server_time(&self) -> Result<NaiveDateTime> {
        let mut retry = self.retry();
        loop {
            match self.source.system_info().await {
                Ok(info) => return Ok(info.server_date),
                Err(e) => retry.wait(e).await?,
            }
        }
    }

    /// Resources to sync, in dependency order (see the module docs).
    pub async fn plan(&self) -> Result<Vec<ResourceSpec>> {
        plan::plan(self).await
    }

    /// Objects changed since `since` (everything when `None`), cheaply.
    pub async fn count_changes(
        &self,
        res: &ResourceSpec,
        since: Option<NaiveDateTime>,
    ) -> Result<ChangeCount> {
        let since = self.window(since);
        match &res.target {
            Target::Metadata { types } => metadata::count(self, types, since).await,
            Target::MetadataDeletions { types } => {
                metadata::count_deletions(self, types, since).await
            }
            Target::DataValues { data_set } => data_values::count(self, data_set, since).await,
            Target::Tracker { kind, program } => tracker::count(self, *kind, program, since).await,
            Target::TrackerDeletions { program, kinds } => {
                let mut total = 0;
                for kind in kinds {
                    total += tracker::count(self, *kind, program, since).await?.count;
                }
                // Changed items, of which only some are deletions: an upper bound.
                Ok(ChangeCount {
                    count: total,
                    exact: false,
                })
            }
        }
    }

    /// Moves `res` changed since `since` (everything when `None`) into the
    /// destination page by page, deletions included. Returns early (with
    /// `cancelled`) when `cancel` fires; between pages, never mid-import.
    pub async fn sync_resource(
        &self,
        res: &ResourceSpec,
        since: Option<NaiveDateTime>,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<ResourceOutcome> {
        let since = self.window(since);
        let steps = retry::NoteOverStep::new(progress);
        let run = Run {
            progress: &steps,
            cancel,
        };
        retry::announcing(&res.key, &steps, async {
            match &res.target {
                Target::Metadata { types } => metadata::sync(self, types, since, &run).await,
                Target::MetadataDeletions { types } => {
                    metadata::sync_deletions(self, types, since, &run).await
                }
                Target::DataValues { data_set } => {
                    data_values::sync(self, data_set, since, &run).await
                }
                Target::Tracker { kind, program } => {
                    tracker::sync(self, *kind, program, since, &run).await
                }
                Target::TrackerDeletions { program, kinds } => {
                    tracker::sync_deletions(self, kinds, program, since, &run).await
                }
            }
        })
        .await
    }

    /// The watermark moved back by the overlap.
    fn window(&self, since: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
        let overlap = chrono::Duration::from_std(self.options.overlap).unwrap_or_default();
        since.map(|s| s - overlap)
    }

    fn retry(&self) -> retry::Retry {
        retry::Retry::new(&self.options.retry)
    }

    /// Org unit roots for data: the selection's, else the source's level-1 units.
    async fn roots(&self) -> Result<&[String]> {
        let roots = self
            .roots
            .get_or_try_init(|| async {
                if !self.selection.org_units.is_empty() {
                    return self.outermost_selected_org_units().await;
                }
                let found = plan::list_ids(self, "organisationUnits", &["level:eq:1"]).await?;
                let ids: Vec<String> = found.into_iter().map(|(id, _)| id).collect();
                if ids.is_empty() {
                    return Err(Dhis2Error::Config(
                        "the source has no level-1 organisation unit: set org_units in the selection".into(),
                    ));
                }
                Ok(ids)
            })
            .await?;
        Ok(roots)
    }
}

impl Dhis2Sync {
    /// The selection's org units that exist on the source, less those inside
    /// another selected one: events are read once per root with DESCENDANTS,
    /// so a nested root would read (and count) its events twice.
    async fn outermost_selected_org_units(&self) -> Result<Vec<String>> {
        let wanted = &self.selection.org_units;
        let filter = format!("id:in:[{}]", wanted.join(","));
        let found = plan::list_objects(self, "organisationUnits", "id,path", &[&filter]).await?;
        let paths: Vec<(String, String)> = found
            .iter()
            .filter_map(|o| {
                Some((
                    o["id"].as_str()?.to_string(),
                    o["path"].as_str()?.to_string(),
                ))
            })
            .collect();
        if let Some(missing) = wanted
            .iter()
            .find(|w| !paths.iter().any(|(id, _)| id == *w))
        {
            return Err(Dhis2Error::Config(format!(
                "org unit {missing} of this sync's org_units is not an organisation unit of the source (or the account cannot see it)"
            )));
        }
        Ok(wanted
            .iter()
            .filter(|w| {
                let Some((_, path)) = paths.iter().find(|(id, _)| id == *w) else {
                    return false;
                };
                // `/root/region/w`: an ancestor segment that is also selected.
                !path
                    .split('/')
                    .any(|segment| segment != w.as_str() && wanted.iter().any(|o| o == segment))
            })
            .cloned()
            .collect())
    }
}

/// Per-call context of a `sync_resource`.
pub(crate) struct Run<'a> {
    pub progress: &'a dyn ProgressSink,
    pub cancel: &'a CancellationToken,
}

impl Run<'_> {
    pub fn cancelled(&self, outcome: &mut ResourceOutcome) -> bool {
        if self.cancel.is_cancelled() {
            outcome.cancelled = true;
            self.progress.step("cancelled");
        }
        outcome.cancelled
    }
}

/// Kinds of a program's tracker data, parents first (the import order).
pub(crate) fn tracker_kinds(with_registration: bool) -> Vec<TrackerKind> {
    if with_registration {
        vec![
            TrackerKind::TrackedEntities,
            TrackerKind::Enrollments,
            TrackerKind::Events,
        ]
    } else {
        vec![TrackerKind::Events]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    /// The engine runs syncs on spawned tasks: the futures must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(s: &Dhis2Sync, r: &ResourceSpec, c: &CancellationToken) {
        assert_send(s.sync_resource(r, None, &NoProgress, c));
        assert_send(s.count_changes(r, None));
        assert_send(s.plan());
        assert_send(s.server_time());
    }

    #[test]
    fn overlap_moves_the_watermark_back() {
        let client = |u| {
            Dhis2Client::new(
                u,
                crate::connectors::dhis2::Credentials::basic("a", "b"),
                Default::default(),
            )
            .unwrap()
        };
        let s = Dhis2Sync::new(
            client("http://127.0.0.1:9"),
            client("http://127.0.0.1:9"),
            Selection::default(),
            SyncOptions::default(),
        );
        let t = crate::connectors::dhis2::parse_timestamp("2024-05-01T10:00:00").unwrap();
        let w = s.window(Some(t)).unwrap();
        assert_eq!((t - w).num_seconds(), 60);
        assert_eq!(s.window(None), None);
    }
}
