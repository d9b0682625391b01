//! Our DHIS2 client copying a whole simulated DHIS2 into an empty one (in three
//! versions, and through flaky servers with retries), then keeping it in sync
//! from a watermark: the destination's digest must equal the source's.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};
use syncdeck::connectors::dhis2::{
    AtomicMode, DataValueImportParams, DataValueQuery, Dhis2Client, ImportStatus, ImportStrategy,
    MetadataImportParams, MetadataQuery, Page, Pager, Result, TrackerImportParams, TrackerKind,
    TrackerQuery, TrackerType,
};

use crate::common::edits::{digest_differences, edit_source, root_of};
use crate::common::{SimProcess, client, digest, id};

/// Retries made by [`retry`] and [`next`] in this module.
static RETRIES: AtomicUsize = AtomicUsize::new(0);

/// Calls again while the error is retryable (a flaky server), up to 40 times.
async fn retry<T>(what: &str, mut call: impl AsyncFnMut() -> Result<T>) -> T {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return v,
            Err(e) if e.is_retryable() && attempt < 40 => {
                RETRIES.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// The next page; a failed page is asked for again.
async fn next<T: serde::de::DeserializeOwned>(pager: &mut Pager<T>) -> Option<Page<T>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match pager.next_page().await? {
            Ok(page) => return Some(page),
            Err(e) if e.is_retryable() && attempt < 40 => {
                RETRIES.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => panic!("{pager:?}: {e}"),
        }
    }
}

/// Every object of a type (`fields` default `:owner`).
async fn all_objects(c: &Dhis2Client, plural: &str, fields: Option<&str>) -> Vec<Value> {
    let query = MetadataQuery {
        fields: fields.map(str::to_string),
        page_size: 40,
        ..Default::default()
    };
    let mut pager = c.metadata_pages(plural, query).unwrap();
    let mut out = Vec::new();
    while let Some(page) = next(&mut pager).await {
        out.extend(page.items);
    }
    out
}

/// Mutually referencing types that must travel in one payload.
const PAIRS: [[&str; 2]; 2] = [["options", "optionSets"], ["programStages", "programs"]];

/// Import chunks in the source's order: mutually referencing pairs together, the
/// rest one type at a time.
fn metadata_groups<'a>(order: impl Iterator<Item = &'a str>) -> Vec<Vec<&'a str>> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut groups = Vec::new();
    for plural in order {
        if done.contains(plural) {
            continue;
        }
        let group: Vec<&str> = PAIRS
            .iter()
            .find(|p| p.contains(&plural))
            .map(|p| p.to_vec())
            .unwrap_or_else(|| vec![plural]);
        done.extend(group.iter().copied());
        groups.push(group);
    }
    groups
}

/// Every object of a type changed since `since` (all when `None`), as `:owner`.
async fn changed_objects(
    src: &Dhis2Client,
    plural: &str,
    since: Option<NaiveDateTime>,
) -> Vec<Value> {
    let query = MetadataQuery {
        since,
        page_size: 40,
        ..Default::default()
    };
    let mut pager = src.metadata_pages(plural, query).unwrap();
    let mut out = Vec::new();
    while let Some(page) = next(&mut pager).await {
        out.extend(page.items);
    }
    out
}

/// Metadata changed since `since` (everything when `None`) in the source's import
/// order, org units shallowest first, in chunks; then, for an incremental run,
/// the source's deletions. Returns the number of objects created, updated and deleted.
async fn sync_metadata(src: &Dhis2Client, dst: &Dhis2Client, since: Option<NaiveDateTime>) -> u64 {
    let (mut n, mut synced) = (0, 0);
    let order = retry("import order", async || src.import_order().await).await;
    // As a sync does: never users (each instance has its own), and without
    // the source's sharing, which names them (skipSharing).
    let syncable = order
        .plurals()
        .filter(|p| syncdeck::connectors::dhis2::syncable::is_syncable(p));
    for group in metadata_groups(syncable) {
        let mut objects: Vec<(&str, Vec<Value>)> = Vec::new();
        for ty in &group {
            let mut items = changed_objects(src, ty, since).await;
            if *ty == "organisationUnits" {
                items.sort_by_key(|o| o["level"].as_u64());
            }
            objects.push((ty, items));
        }
        let chunks: Vec<Map<String, Value>> = if group.len() > 1 {
            // One payload: each side needs the other.
            vec![
                objects
                    .iter()
                    .map(|(ty, items)| (ty.to_string(), Value::Array(items.clone())))
                    .collect(),
            ]
        } else {
            let (ty, items) = &objects[0];
            items
                .chunks(25)
                .map(|c| Map::from_iter([(ty.to_string(), Value::Array(c.to_vec()))]))
                .collect()
        };
        for chunk in chunks {
            let sent: usize = chunk
                .values()
                .map(|v| v.as_array().map_or(0, Vec::len))
                .sum();
            if sent == 0 {
                continue;
            }
            // Pairs all-or-nothing, the rest best effort: both must come out clean.
            let params = MetadataImportParams {
                atomic_mode: if group.len() > 1 {
                    AtomicMode::All
                } else {
                    AtomicMode::None
                },
                skip_sharing: true,
                ..Default::default()
            };
            n += 1;
            let payload = Value::Object(chunk);
            let report = retry("metadata import", async || {
                if n % 4 == 0 {
                    dst.import_metadata_async(&payload, &params).await
                } else {
                    dst.import_metadata(&payload, &params).await
                }
            })
            .await;
            assert_eq!(
                report.status,
                ImportStatus::Ok,
                "{group:?}: {:?}",
                report.errors_by_code()
            );
            assert_eq!(report.stats.synced() as usize, sent, "{group:?}");
            assert_eq!(report.stats.ignored, 0);
            synced += report.stats.synced();
        }
    }
    if since.is_none() {
        assert!(n >= 10, "sync and async imports on many chunks ({n})");
        return synced;
    }
    // Deletions, dependants first.
    for schema in order.schemas.iter().rev() {
        let mut pager = src.deleted_objects(&schema.klass, since, 50).unwrap();
        let mut gone = Vec::new();
        while let Some(page) = next(&mut pager).await {
            gone.extend(page.items.into_iter().map(|d| json!({"id": d.uid})));
        }
        if gone.is_empty() {
            continue;
        }
        let count = gone.len() as u64;
        let params = MetadataImportParams {
            strategy: ImportStrategy::Delete,
            ..Default::default()
        };
        let payload = json!({ schema.plural.clone(): gone });
        let report = retry("metadata delete", async || {
            dst.import_metadata(&payload, &params).await
        })
        .await;
        assert_eq!(
            report.status,
            ImportStatus::Ok,
            "{:?}",
            report.errors_by_code()
        );
        assert_eq!(report.stats.deleted, count, "{}", schema.plural);
        synced += count;
    }
    synced
}

/// Data values changed since `since` (all when `None`), deletions included,
/// per data set, in streamed batches; sync and async imports alternate.
async fn sync_data_values(
    src: &Dhis2Client,
    dst: &Dhis2Client,
    root: &str,
    since: Option<NaiveDateTime>,
) -> usize {
    let (mut copied, mut batches) = (0, 0);
    for ds in all_objects(src, "dataSets", Some("id")).await {
        let q = DataValueQuery {
            data_sets: vec![id(&ds)],
            org_units: vec![root.to_string()],
            children: true,
            start_date: since.map_or(NaiveDate::from_ymd_opt(1900, 1, 1), |_| None),
            end_date: since.map_or(NaiveDate::from_ymd_opt(2100, 12, 31), |_| None),
            last_updated: since,
            include_deleted: true,
            ..Default::default()
        };
        let mut stream = retry("data values", async || src.data_values(&q, 1500).await).await;
        while let Some(batch) = stream.next_batch().await {
            let batch = batch.unwrap();
            let params = DataValueImportParams::default();
            batches += 1;
            let summary = retry("data value import", async || {
                if batches % 3 == 1 {
                    dst.import_data_values_async(&batch, &params).await
                } else {
                    dst.import_data_values(&batch, &params).await
                }
            })
            .await;
            assert_eq!(summary.status, ImportStatus::Success, "{summary:?}");
            // A retried async import may find its values already there (ignored).
            let count = summary.import_count;
            assert_eq!((summary.synced() + count.ignored) as usize, batch.len());
            assert_eq!(summary.error_count(), 0);
            copied += batch.len();
        }
    }
    copied
}

/// Tracked entities → enrollments → events changed since `since`, page by page,
/// sync and async imports alternating; deleted ones are deleted at the
/// destination afterwards, events first. Returns (upserted, deleted).
async fn sync_tracker(
    src: &Dhis2Client,
    dst: &Dhis2Client,
    since: Option<NaiveDateTime>,
) -> (usize, usize) {
    let programs = all_objects(src, "programs", Some("id,programType")).await;
    let mut upserted = 0;
    let mut n = 0;
    let mut deletions: Vec<(TrackerKind, TrackerType, Vec<Value>)> = Vec::new();
    for (kind, ty) in [
        (TrackerKind::TrackedEntities, TrackerType::TrackedEntity),
        (TrackerKind::Enrollments, TrackerType::Enrollment),
        (TrackerKind::Events, TrackerType::Event),
    ] {
        let mut deleted = Vec::new();
        for program in &programs {
            if kind != TrackerKind::Events && program["programType"] != "WITH_REGISTRATION" {
                continue;
            }
            let query = TrackerQuery {
                program: Some(id(program)),
                updated_after: since,
                page_size: 60,
                ..Default::default()
            };
            let mut pager = retry("tracker pages", async || {
                src.tracker_pages(kind, query.clone()).await
            })
            .await;
            while let Some(page) = next(&mut pager).await {
                let (gone, items): (Vec<Value>, Vec<Value>) =
                    page.items.into_iter().partition(|i| i["deleted"] == true);
                deleted.extend(gone);
                if items.is_empty() {
                    continue;
                }
                n += 1;
                let params = TrackerImportParams {
                    async_mode: n % 3 == 0,
                    ..Default::default()
                };
                let payload = json!({ kind.plural(): items });
                let report = retry("tracker import", async || {
                    dst.import_tracker(&payload, &params).await
                })
                .await;
                assert_eq!(
                    report.status,
                    ImportStatus::Ok,
                    "{kind:?}: {:?}",
                    report.errors_by_code()
                );
                let stats = report.type_stats(ty).copied().unwrap_or_default();
                assert_eq!(stats.synced() as usize, items.len(), "{kind:?}");
                assert_eq!(report.stats.synced() as usize, items.len(), "{kind:?}");
                upserted += items.len();
            }
        }
        deletions.push((kind, ty, deleted));
    }
    let mut removed = 0;
    for (kind, ty, gone) in deletions.into_iter().rev() {
        if gone.is_empty() {
            continue;
        }
        let ids: Vec<Value> = gone
            .iter()
            .map(|g| json!({ kind.id_field(): g[kind.id_field()] }))
            .collect();
        let params = TrackerImportParams {
            strategy: ImportStrategy::Delete,
            ..Default::default()
        };
        let payload = json!({ kind.plural(): ids });
        let report = retry("tracker delete", async || {
            dst.import_tracker(&payload, &params).await
        })
        .await;
        assert_eq!(
            report.status,
            ImportStatus::Ok,
            "{kind:?}: {:?}",
            report.errors_by_code()
        );
        assert_eq!(
            report.type_stats(ty).map(|s| s.deleted as usize),
            Some(ids.len())
        );
        removed += ids.len();
    }
    if since.is_none() {
        assert!(n >= 10, "both modes used on many pages ({n})");
    }
    (upserted, removed)
}

/// Copies everything from `src` to `dst`; returns the number of tracker objects.
async fn copy_all(src: &Dhis2Client, dst: &Dhis2Client) -> usize {
    sync_metadata(src, dst, None).await;
    let root = root_of(src).await;
    assert_eq!(sync_data_values(src, dst, &root, None).await, 10_000);
    let (tracker, deleted) = sync_tracker(src, dst, None).await;
    assert_eq!(deleted, 0);
    tracker
}

async fn copy_everything(version: &str) {
    let source = SimProcess::start(&["--seed", "5", "--dhis2-version", version]);
    let dest = SimProcess::start(&["--empty", "--dhis2-version", version]);
    let (src, dst) = (client(&source), client(&dest));
    assert_eq!(
        src.system_info().await.unwrap().dhis_version(),
        dst.system_info().await.unwrap().dhis_version()
    );
    let tracker = copy_all(&src, &dst).await;
    assert_digests_equal(&source, &dest, tracker, version).await;
}

async fn assert_digests_equal(
    source: &SimProcess,
    dest: &SimProcess,
    tracker: usize,
    version: &str,
) {
    let (want, got) = (digest(source).await, digest(dest).await);
    assert_eq!(
        tracker as u64,
        ["trackedEntities", "enrollments", "events"]
            .iter()
            .map(|k| want[*k]["count"].as_u64().unwrap())
            .sum::<u64>()
    );
    let differing = digest_differences(&want, &got);
    assert!(differing.is_empty(), "{version}: {differing:#?}");
    assert!(want["organisationUnits"]["count"] == 113 && want["dataValues"]["count"] == 10_000);
}

#[tokio::test]
async fn copy_2_39_source_into_empty_destination() {
    copy_everything("2.39").await;
}

#[tokio::test]
async fn copy_2_40_source_into_empty_destination() {
    copy_everything("2.40").await;
}

#[tokio::test]
async fn copy_2_42_source_into_empty_destination() {
    copy_everything("2.42").await;
}

#[tokio::test]
async fn incremental_sync_from_a_watermark_propagates_edits_and_deletions() {
    let source = SimProcess::start(&["--seed", "11", "--dhis2-version", "2.41"]);
    let dest = SimProcess::start(&["--empty", "--dhis2-version", "2.41"]);
    let (src, dst) = (client(&source), client(&dest));
    copy_all(&src, &dst).await;
    assert!(digest_differences(&digest(&source).await, &digest(&dest).await).is_empty());

    let watermark = src.system_info().await.unwrap().server_date;
    edit_source(&src).await;
    let before = digest_differences(&digest(&source).await, &digest(&dest).await);
    assert_eq!(before.len(), 7, "edits reach 7 resources: {before:#?}");

    let metadata = sync_metadata(&src, &dst, Some(watermark)).await;
    assert_eq!(metadata, 4, "a rename, a new group, two deletions");
    let root = root_of(&src).await;
    assert_eq!(
        sync_data_values(&src, &dst, &root, Some(watermark)).await,
        5
    );
    let (upserted, deleted) = sync_tracker(&src, &dst, Some(watermark)).await;
    assert_eq!(
        upserted, 4,
        "one edited event, a new TE, enrollment and event"
    );
    assert!(
        deleted >= 4,
        "an event, a TE, its enrollment and events ({deleted})"
    );

    let after = digest_differences(&digest(&source).await, &digest(&dest).await);
    assert!(after.is_empty(), "{after:#?}");
}

#[tokio::test]
async fn copy_through_flaky_servers_with_retries() {
    let flaky = ["--fail-rate", "0.2", "--dhis2-version", "2.41"];
    let source = SimProcess::start(&[&flaky[..], &["--seed", "3"]].concat());
    let dest = SimProcess::start(&[&flaky[..], &["--empty"]].concat());
    let (src, dst) = (client(&source), client(&dest));
    let tracker = copy_all(&src, &dst).await;
    assert_digests_equal(&source, &dest, tracker, "flaky 2.41").await;
    // Only this test meets failures; one in five of its requests failed.
    let retries = RETRIES.load(Ordering::Relaxed);
    assert!(retries > 10, "{retries} retries");
}
