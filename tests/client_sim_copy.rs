//! Our DHIS2 client copying a whole simulated DHIS2 into an empty one, and the
//! import reports it reads back: reference errors, conflicts, atomic modes.

mod common;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use syncdeck::connectors::dhis2::{
    AtomicMode, DataValue, DataValueImportParams, DataValueQuery, DataValueSet, Dhis2Client,
    ImportStatus, MetadataImportParams, MetadataQuery, TrackerImportParams, TrackerKind,
    TrackerQuery, TrackerType,
};

use common::{SimProcess, client, digest};

/// Mutually referencing types that must travel in one payload.
const PAIRS: [[&str; 2]; 2] = [["options", "optionSets"], ["programStages", "programs"]];

async fn all_objects(c: &Dhis2Client, plural: &str, fields: Option<&str>) -> Vec<Value> {
    let mut pager = c
        .metadata_pages(
            plural,
            MetadataQuery {
                fields: fields.map(str::to_string),
                page_size: 40,
                ..Default::default()
            },
        )
        .unwrap();
    let mut out = Vec::new();
    while let Some(page) = pager.next_page().await {
        out.extend(page.unwrap().items);
    }
    out
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

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

#[tokio::test]
async fn metadata_reference_errors_by_atomic_mode() {
    let sim = SimProcess::start(&["--empty"]);
    let c = client(&sim);
    let payload = json!({"dataElements": [
        {"id": "deGoodAAAAA", "name": "Good", "shortName": "Good", "valueType": "NUMBER",
         "domainType": "AGGREGATE", "aggregationType": "SUM", "categoryCombo": {"id": "bjDvmb4bfuf"}},
        {"id": "deBadBBBBBB", "name": "Bad", "shortName": "Bad", "valueType": "NUMBER",
         "domainType": "AGGREGATE", "aggregationType": "SUM", "categoryCombo": {"id": "missingCCCC"}}
    ]});
    let all = MetadataImportParams {
        atomic_mode: AtomicMode::All,
        ..Default::default()
    };
    let report = c.import_metadata(&payload, &all).await.unwrap();
    assert_eq!(report.status, ImportStatus::Error);
    assert_eq!((report.stats.created, report.stats.ignored), (0, 2));
    let by_code = report.errors_by_code();
    assert_eq!(by_code.keys().collect::<Vec<_>>(), ["E5002"]);
    let e = by_code["E5002"][0];
    assert_eq!(e.error_property.as_deref(), Some("categoryCombo"));
    assert_eq!(e.main_id.as_deref(), Some("deBadBBBBBB"));
    assert_eq!(report.stats_for("DataElement").map(|s| s.ignored), Some(2));
    assert!(
        report.message.is_some(),
        "the 409's WebMessage text is kept"
    );
    assert_eq!(
        c.count_metadata_changes("dataElements", None)
            .await
            .unwrap(),
        0,
        "ALL saves nothing"
    );

    let none = MetadataImportParams {
        atomic_mode: AtomicMode::None,
        ..Default::default()
    };
    let report = c.import_metadata(&payload, &none).await.unwrap();
    assert_eq!(report.status, ImportStatus::Warning);
    assert_eq!((report.stats.created, report.stats.ignored), (1, 1));
    assert_eq!(report.error_count(), 1);
    let (ids, _): (Vec<String>, ()) = (
        all_objects(&c, "dataElements", Some("id"))
            .await
            .iter()
            .map(id)
            .collect(),
        (),
    );
    assert_eq!(ids, ["deGoodAAAAA"]);
}

#[tokio::test]
async fn data_value_conflicts_are_counted_and_valid_values_kept() {
    let sim = SimProcess::start(&["--seed", "7"]);
    let c = client(&sim);
    let sets = all_objects(
        &c,
        "dataSets",
        Some("id,organisationUnits[id],dataSetElements[dataElement[id]]"),
    )
    .await;
    // The data set that leaves some facilities out.
    let ds = sets
        .iter()
        .min_by_key(|d| d["organisationUnits"].as_array().unwrap().len())
        .unwrap();
    let assigned: BTreeSet<String> = ds["organisationUnits"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    let facilities = all_objects(&c, "organisationUnits", Some("id,level")).await;
    let outsider = facilities
        .iter()
        .filter(|o| o["level"] == 4)
        .map(id)
        .find(|f| !assigned.contains(f))
        .expect("an unassigned facility");
    let inside: Vec<&String> = assigned.iter().take(2).collect();
    let de = ds["dataSetElements"][0]["dataElement"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let combo = all_objects(&c, "dataElements", Some("id,categoryCombo[id]"))
        .await
        .into_iter()
        .find(|d| id(d) == de)
        .unwrap()["categoryCombo"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let coc = all_objects(&c, "categoryOptionCombos", Some("id,categoryCombo[id]"))
        .await
        .into_iter()
        .find(|c| c["categoryCombo"]["id"] == combo.as_str())
        .map(|c| id(&c))
        .unwrap();
    let value = |de: &str, ou: &str, v: &str| DataValue {
        data_element: de.to_string(),
        period: "202601".into(),
        org_unit: ou.to_string(),
        category_option_combo: Some(coc.clone()),
        value: Some(v.into()),
        ..Default::default()
    };
    let set = DataValueSet {
        data_set: Some(id(ds)),
        data_values: vec![
            value(&de, inside[0], "11"),
            value("noSuchDE00A", inside[0], "12"),
            value(&de, &outsider, "13"),
            value(&de, inside[1], "14"),
        ],
        ..Default::default()
    };
    let summary = c
        .import_data_value_set(&set, &DataValueImportParams::default())
        .await
        .unwrap();
    assert_eq!(summary.status, ImportStatus::Warning, "{summary:?}");
    assert_eq!(summary.import_count.imported, 2);
    assert_eq!(summary.import_count.ignored, 2);
    assert_eq!(summary.error_count(), 2);
    assert_eq!(summary.rejected_indexes, [1, 2]);
    let codes: BTreeSet<&str> = summary
        .conflicts
        .iter()
        .filter_map(|c| c.error_code.as_deref())
        .collect();
    assert_eq!(codes, BTreeSet::from(["E7610", "E7617"]));

    // The two valid values are there; nothing else in that period.
    let q = DataValueQuery {
        data_sets: vec![id(ds)],
        org_units: facilities
            .iter()
            .filter(|o| o["level"] == 1)
            .map(id)
            .collect(),
        children: true,
        periods: vec!["202601".into()],
        ..Default::default()
    };
    let mut stream = c.data_values(&q, 100).await.unwrap();
    let mut stored = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        stored.extend(batch.unwrap());
    }
    let mut got: Vec<(String, String)> = stored
        .into_iter()
        .map(|v| (v.org_unit, v.value.unwrap()))
        .collect();
    got.sort();
    let mut want = vec![
        (inside[0].clone(), "11".to_string()),
        (inside[1].clone(), "14".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);

    // The same values without the data set header: the assignment is not checked.
    let summary = c
        .import_data_values(&set.data_values, &DataValueImportParams::default())
        .await
        .unwrap();
    assert_eq!(summary.import_count.imported, 1, "{summary:?}");
    assert_eq!(summary.import_count.ignored, 3, "two unchanged, one bad");
    assert_eq!(summary.rejected_indexes, [1]);
}

#[tokio::test]
async fn tracker_event_without_enrollment_is_rejected() {
    let sim = SimProcess::start(&["--dhis2-version", "2.42"]);
    let c = client(&sim);
    let programs = all_objects(&c, "programs", Some("id,programType,programStages[id]")).await;
    let program = |t: &str| {
        programs
            .iter()
            .find(|p| p["programType"] == t)
            .unwrap()
            .clone()
    };
    let (anc, single) = (
        program("WITH_REGISTRATION"),
        program("WITHOUT_REGISTRATION"),
    );
    let facility = all_objects(&c, "organisationUnits", Some("id,level"))
        .await
        .into_iter()
        .find(|o| o["level"] == 4)
        .map(|o| id(&o))
        .unwrap();
    let event = |uid: &str, p: &Value| {
        json!({"event": uid, "program": p["id"], "programStage": p["programStages"][0]["id"],
               "orgUnit": facility, "status": "COMPLETED", "occurredAt": "2025-03-01T00:00:00.000"})
    };
    let before = TrackerQuery {
        program: Some(id(&anc)),
        ..Default::default()
    };
    let anc_events = c
        .count_tracker_changes(TrackerKind::Events, &before)
        .await
        .unwrap();
    let payload = json!({"events": [event("evOrphanAAA", &anc), event("evSingleAAA", &single)]});
    let report = c
        .import_tracker(&payload, &TrackerImportParams::default())
        .await
        .unwrap();
    assert_eq!(report.status, ImportStatus::Error, "{report:?}");
    let by_code = report.errors_by_code();
    assert_eq!(by_code.keys().collect::<Vec<_>>(), ["E1033"]);
    assert_eq!(by_code["E1033"][0].uid.as_deref(), Some("evOrphanAAA"));
    assert_eq!((report.stats.created, report.stats.ignored), (1, 1));
    assert_eq!(
        c.count_tracker_changes(TrackerKind::Events, &before)
            .await
            .unwrap(),
        anc_events,
        "the orphan was not saved"
    );

    // atomicMode ALL: the valid event is not saved either.
    let all = TrackerImportParams {
        atomic_mode: syncdeck::connectors::dhis2::TrackerAtomicMode::All,
        ..Default::default()
    };
    let payload = json!({"events": [event("evOrphanBBB", &anc), event("evSingleBBB", &single)]});
    let report = c.import_tracker(&payload, &all).await.unwrap();
    assert_eq!(report.status, ImportStatus::Error);
    assert_eq!((report.stats.created, report.stats.ignored), (0, 2));
}
