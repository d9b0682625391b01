//! Our DHIS2 client copying a whole simulated DHIS2 into an empty one, then
//! keeping it in sync from a watermark: the destination's digest must equal the source's.

mod common;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use syncdeck::connectors::dhis2::{
    AtomicMode, DataValueImportParams, DataValueQuery, Dhis2Client, ImportStatus,
    MetadataImportParams, TrackerImportParams, TrackerKind, TrackerQuery, TrackerType,
};

use common::{SimProcess, all_objects, client, digest, id};

/// Mutually referencing types that must travel in one payload.
const PAIRS: [[&str; 2]; 2] = [["options", "optionSets"], ["programStages", "programs"]];

/// Metadata in the source's import order, mutually referencing pairs together,
/// org units shallowest first, in chunks.
async fn copy_metadata(src: &Dhis2Client, dst: &Dhis2Client) {
    let n = &mut 0;
    let order = src.import_order().await.unwrap();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for plural in order.plurals() {
        if done.contains(plural) {
            continue;
        }
        let group: Vec<&str> = PAIRS
            .iter()
            .find(|p| p.contains(&plural))
            .map(|p| p.to_vec())
            .unwrap_or_else(|| vec![plural]);
        let mut objects: Vec<(&str, Vec<Value>)> = Vec::new();
        for ty in &group {
            let mut items = all_objects(src, ty, None).await;
            if *ty == "organisationUnits" {
                items.sort_by_key(|o| o["level"].as_u64());
            }
            objects.push((ty, items));
            done.insert(ty.to_string());
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
            // Pairs all-or-nothing, the rest best effort: both must come out clean.
            let params = MetadataImportParams {
                atomic_mode: if group.len() > 1 {
                    AtomicMode::All
                } else {
                    AtomicMode::None
                },
                ..Default::default()
            };
            *n += 1;
            let payload = Value::Object(chunk);
            let report = if *n % 3 == 0 {
                dst.import_metadata_async(&payload, &params).await
            } else {
                dst.import_metadata(&payload, &params).await
            }
            .unwrap();
            assert_eq!(
                report.status,
                ImportStatus::Ok,
                "{group:?}: {:?}",
                report.errors_by_code()
            );
            assert_eq!(report.stats.synced() as usize, sent, "{group:?}");
            assert_eq!(report.stats.ignored, 0);
        }
    }
    assert!(*n >= 10, "sync and async imports on many chunks ({n})");
}

async fn copy_data_values(src: &Dhis2Client, dst: &Dhis2Client, root: &str) -> usize {
    let (mut copied, mut batches) = (0, 0);
    for ds in all_objects(src, "dataSets", Some("id")).await {
        let q = DataValueQuery {
            data_sets: vec![id(&ds)],
            org_units: vec![root.to_string()],
            children: true,
            start_date: NaiveDate::from_ymd_opt(1900, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2100, 12, 31),
            include_deleted: true,
            ..Default::default()
        };
        let mut stream = src.data_values(&q, 1500).await.unwrap();
        while let Some(batch) = stream.next_batch().await {
            let batch = batch.unwrap();
            let params = DataValueImportParams::default();
            batches += 1;
            let summary = if batches % 2 == 0 {
                dst.import_data_values(&batch, &params).await
            } else {
                dst.import_data_values_async(&batch, &params).await
            }
            .unwrap();
            assert_eq!(summary.status, ImportStatus::Success, "{summary:?}");
            assert_eq!(summary.import_count.imported as usize, batch.len());
            assert_eq!(summary.error_count(), 0);
            copied += batch.len();
        }
    }
    copied
}

/// Tracked entities → enrollments → events, page by page; `async_every`
/// alternates synchronous and asynchronous imports.
async fn copy_tracker(src: &Dhis2Client, dst: &Dhis2Client) -> usize {
    let programs = all_objects(src, "programs", Some("id,programType")).await;
    let mut copied = 0;
    let mut n = 0;
    for (kind, ty) in [
        (TrackerKind::TrackedEntities, TrackerType::TrackedEntity),
        (TrackerKind::Enrollments, TrackerType::Enrollment),
        (TrackerKind::Events, TrackerType::Event),
    ] {
        for program in &programs {
            if kind != TrackerKind::Events && program["programType"] != "WITH_REGISTRATION" {
                continue;
            }
            let query = TrackerQuery {
                program: Some(id(program)),
                page_size: 60,
                ..Default::default()
            };
            let mut pager = src.tracker_pages(kind, query).await.unwrap();
            while let Some(page) = pager.next_page().await {
                let items = page.unwrap().items;
                n += 1;
                let params = TrackerImportParams {
                    async_mode: n % 2 == 0,
                    ..Default::default()
                };
                let payload = json!({ kind.plural(): items });
                let report = dst.import_tracker(&payload, &params).await.unwrap();
                assert_eq!(
                    report.status,
                    ImportStatus::Ok,
                    "{kind:?}: {:?}",
                    report.errors_by_code()
                );
                assert_eq!(report.stats.created as usize, items.len(), "{kind:?}");
                assert_eq!(
                    report.type_stats(ty).map(|s| s.created as usize),
                    Some(items.len())
                );
                copied += items.len();
            }
        }
    }
    assert!(n >= 10, "both modes used on many pages ({n})");
    copied
}

async fn copy_everything(version: &str) {
    let source = SimProcess::start(&["--seed", "5", "--dhis2-version", version]);
    let dest = SimProcess::start(&["--empty", "--dhis2-version", version]);
    let (src, dst) = (client(&source), client(&dest));
    assert_eq!(
        src.system_info().await.unwrap().dhis_version(),
        dst.system_info().await.unwrap().dhis_version()
    );

    copy_metadata(&src, &dst).await;
    let roots: Vec<Value> = all_objects(&src, "organisationUnits", Some("id,level"))
        .await
        .into_iter()
        .filter(|o| o["level"] == 1)
        .collect();
    assert_eq!(roots.len(), 1);
    assert_eq!(copy_data_values(&src, &dst, &id(&roots[0])).await, 10_000);
    let tracker = copy_tracker(&src, &dst).await;

    let (want, got) = (digest(&source).await, digest(&dest).await);
    let want = want.as_object().unwrap();
    assert_eq!(
        want.len(),
        20,
        "16 metadata types, data values, 3 tracker kinds"
    );
    assert_eq!(
        tracker as u64,
        ["trackedEntities", "enrollments", "events"]
            .iter()
            .map(|k| want[*k]["count"].as_u64().unwrap())
            .sum::<u64>()
    );
    let differing: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(k.as_str()) != Some(v))
        .map(|(k, v)| format!("{k}: source {v}, destination {}", got[k.as_str()]))
        .collect();
    assert!(differing.is_empty(), "{version}: {differing:#?}");
    assert!(want["organisationUnits"]["count"] == 113 && want["dataValues"]["count"] == 10_000);
}

#[tokio::test]
async fn copy_2_40_source_into_empty_destination() {
    copy_everything("2.40").await;
}

#[tokio::test]
async fn copy_2_42_source_into_empty_destination() {
    copy_everything("2.42").await;
}
