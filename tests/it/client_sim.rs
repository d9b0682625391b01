//! Our DHIS2 client against the real simulator on loopback: discovery, paging
//! and streaming in every emulated version, and change detection.
//! Copying and import reports: `client_sim_copy.rs`; failures: `client_sim_faults.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use serde_json::Value;
use syncdeck::connectors::dhis2::{
    DataValueQuery, Dhis2Client, MetadataExportQuery, MetadataQuery, OrgUnitMode, TrackerKind,
    TrackerQuery, metadata_payload_counts, parse_timestamp,
};

use crate::common::{self, SimProcess, client, digest};

/// The types the simulator holds objects of, in dhis2-core's schema order
/// (attributes and userRoles share order 100, so they are not compared).
const IMPORT_ORDER: [&str; 18] = [
    "users",
    "userGroups",
    "options",
    "optionSets",
    "organisationUnits",
    "organisationUnitLevels",
    "organisationUnitGroups",
    "categoryOptions",
    "categories",
    "categoryCombos",
    "categoryOptionCombos",
    "dataElements",
    "dataElementGroups",
    "dataSets",
    "trackedEntityAttributes",
    "trackedEntityTypes",
    "programStages",
    "programs",
];

/// Every object of a type, walking pages of `page_size`; also returns the page count.
async fn all_objects(
    c: &Dhis2Client,
    plural: &str,
    fields: &str,
    page_size: u32,
) -> (Vec<Value>, u32) {
    let mut pager = c
        .metadata_pages(
            plural,
            MetadataQuery {
                fields: Some(fields.into()),
                page_size,
                ..Default::default()
            },
        )
        .unwrap();
    let (mut out, mut pages) = (Vec::new(), 0);
    while let Some(page) = pager.next_page().await {
        let page = page.unwrap();
        assert!(page.items.len() <= page_size as usize, "{plural}");
        out.extend(page.items);
        pages += 1;
        assert!(pages < 1000, "{plural}: pager does not end");
    }
    (out, pages)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// Ids of every tracker object of a kind, walking pages of `page_size`.
async fn tracker_ids(
    c: &Dhis2Client,
    kind: TrackerKind,
    query: TrackerQuery,
) -> (Vec<String>, u32) {
    let size = query.page_size as usize;
    let mut pager = c.tracker_pages(kind, query).await.unwrap();
    let (mut ids, mut pages) = (Vec::new(), 0);
    while let Some(page) = pager.next_page().await {
        let page = page.unwrap();
        assert!(page.items.len() <= size);
        ids.extend(
            page.items
                .iter()
                .map(|i| i[kind.id_field()].as_str().unwrap().to_string()),
        );
        pages += 1;
        assert!(pages < 1000, "{kind:?}: pager does not end");
    }
    (ids, pages)
}

struct Programs {
    tracker: String,
    events: String,
}

async fn programs(c: &Dhis2Client) -> Programs {
    let (list, _) = all_objects(c, "programs", "id,programType", 50).await;
    let find = |t: &str| {
        list.iter()
            .find(|p| p["programType"] == t)
            .map(id)
            .unwrap_or_else(|| panic!("no {t} program"))
    };
    Programs {
        tracker: find("WITH_REGISTRATION"),
        events: find("WITHOUT_REGISTRATION"),
    }
}

async fn root_org_unit(c: &Dhis2Client) -> String {
    let mut pager = c
        .metadata_pages(
            "organisationUnits",
            MetadataQuery {
                fields: Some("id".into()),
                filters: vec!["level:eq:1".into()],
                ..Default::default()
            },
        )
        .unwrap();
    let page = pager.next_page().await.unwrap().unwrap();
    assert_eq!(page.items.len(), 1, "one root");
    id(&page.items[0])
}

/// The median of some timestamps, and how many are at or after it.
fn median_and_count_since<'a>(
    times: impl Iterator<Item = &'a Value>,
) -> (chrono::NaiveDateTime, u64) {
    let mut times: Vec<_> = times
        .map(|t| parse_timestamp(t.as_str().expect("a timestamp")).expect("parsable"))
        .collect();
    times.sort();
    let mid = times[times.len() / 2];
    (mid, times.iter().filter(|t| **t >= mid).count() as u64)
}

async fn discovery_paging_and_streaming(version: &str) {
    let sim = SimProcess::start(&["--dhis2-version", version]);
    let c = client(&sim);

    // system/info: version parsed, serverDate in the server's zone (UTC+3).
    let info = c.system_info().await.unwrap();
    assert_eq!(format!("{}.{}", info.major, info.minor), version);
    assert!(info.version.starts_with(&format!("{version}.")), "{info:?}");
    assert_eq!(c.cached_version(), Some(info.dhis_version()));
    assert_eq!(info.server_time_zone_id.as_deref(), Some("Africa/Nairobi"));
    let server_now = Utc::now().naive_utc() + chrono::Duration::hours(3);
    assert!(
        (info.server_date - server_now).num_seconds().abs() < 60,
        "serverDate {} is not server-local time",
        info.server_date
    );

    let me = c.me().await.unwrap();
    assert_eq!(me.username, "admin", "{version}");
    assert!(me.is_superuser() && me.has_authority("F_METADATA_IMPORT"));
    let root = root_org_unit(&c).await;
    assert_eq!(me.organisation_units, vec![root.clone()]);

    let order = c.import_order().await.unwrap();
    // Every metadata type of the version is listed (dhis2-core's descriptors),
    // those the simulator holds in this relative order.
    assert!(
        order.schemas.len() > 70,
        "{version}: {}",
        order.schemas.len()
    );
    let held: Vec<&str> = order
        .plurals()
        .filter(|p| IMPORT_ORDER.contains(p))
        .collect();
    assert_eq!(held, IMPORT_ORDER, "{version}");
    assert!(order.schemas.windows(2).all(|w| w[0].order <= w[1].order));
    assert_eq!(order.plural_for("DataElementOperand"), None, "not metadata");
    assert_eq!(
        order.plural_for("org.hisp.dhis.program.ProgramStage"),
        Some("programStages")
    );

    // A few small types in one `/api/metadata` document, defaults left out.
    let export = c
        .metadata_export(&MetadataExportQuery {
            types: vec!["categoryOptions".into(), "categories".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        metadata_payload_counts(&export),
        BTreeMap::from([("categories".into(), 2), ("categoryOptions".into(), 4)])
    );
    assert!(
        export["system"]["version"]
            .as_str()
            .unwrap()
            .starts_with(version)
    );
    assert!(
        export["categories"][0].get("categoryOptions").is_some(),
        ":owner"
    );

    // Change counts, with and without a watermark.
    assert_eq!(
        c.count_metadata_changes("organisationUnits", None)
            .await
            .unwrap(),
        113
    );
    assert_eq!(
        c.count_metadata_changes("dataElements", None)
            .await
            .unwrap(),
        28
    );
    assert_eq!(
        c.count_metadata_changes("dataElements", Some(info.server_date))
            .await
            .unwrap(),
        0,
        "nothing changed since now"
    );
    // A watermark equal to an object's lastUpdated includes that object.
    let (elements, _) = all_objects(&c, "dataElements", "id,lastUpdated", 50).await;
    let (mid, newer) = median_and_count_since(elements.iter().map(|e| &e["lastUpdated"]));
    assert!(0 < newer && newer < 28, "seeded times straddle {mid}");
    assert_eq!(
        c.count_metadata_changes("dataElements", Some(mid))
            .await
            .unwrap(),
        newer
    );

    // Metadata paging across many pages.
    let (units, pages) = all_objects(&c, "organisationUnits", "id,level", 7).await;
    assert_eq!(units.len(), 113, "{version}");
    assert_eq!(pages, 17, "113 / 7 rounded up");
    let ids: Vec<String> = units.iter().map(id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "unique and sorted");
    let mut per_level: BTreeMap<u64, usize> = BTreeMap::new();
    for u in &units {
        *per_level.entry(u["level"].as_u64().unwrap()).or_default() += 1;
    }
    assert_eq!(
        per_level,
        BTreeMap::from([(1, 1), (2, 4), (3, 12), (4, 96)])
    );

    // Tracker: every object of each program, in small pages.
    let p = programs(&c).await;
    let expected = digest(&sim).await;
    let all_events = expected["events"]["count"].as_u64().unwrap() as usize;
    let query = |program: &str, page_size: u32| TrackerQuery {
        program: Some(program.to_string()),
        org_units: vec![root.clone()],
        org_unit_mode: Some(OrgUnitMode::Descendants),
        page_size,
        ..Default::default()
    };
    let (tes, pages) = tracker_ids(&c, TrackerKind::TrackedEntities, query(&p.tracker, 7)).await;
    assert_eq!(tes.len(), 200, "{version}");
    assert!(pages >= 29, "{pages} pages");
    assert_eq!(tes.iter().collect::<BTreeSet<_>>().len(), 200, "unique");
    let (enrollments, _) = tracker_ids(&c, TrackerKind::Enrollments, query(&p.tracker, 9)).await;
    assert_eq!(enrollments.len(), 200, "{version}");
    let (tracker_events, _) = tracker_ids(&c, TrackerKind::Events, query(&p.tracker, 11)).await;
    let (single_events, _) = tracker_ids(&c, TrackerKind::Events, query(&p.events, 13)).await;
    assert_eq!(single_events.len(), 200, "{version}");
    assert!(
        (200..=600).contains(&tracker_events.len()),
        "1-3 events per enrollment"
    );
    assert_eq!(tracker_events.len() + single_events.len(), all_events);
    let unique: BTreeSet<_> = tracker_events.iter().chain(&single_events).collect();
    assert_eq!(unique.len(), all_events, "{version}: no event twice");
    // Totals via the count (flat `total` up to 2.40, `pager.total` after).
    for (kind, program, want) in [
        (TrackerKind::TrackedEntities, &p.tracker, 200),
        (TrackerKind::Enrollments, &p.tracker, 200),
        (TrackerKind::Events, &p.tracker, tracker_events.len()),
        (TrackerKind::Events, &p.events, 200),
    ] {
        let n = c
            .count_tracker_changes(kind, &query(program, 50))
            .await
            .unwrap();
        assert_eq!(n, want as u64, "{version} {kind:?}");
    }

    // updatedAfter is inclusive too.
    let mut pager = c
        .tracker_pages(
            TrackerKind::Events,
            TrackerQuery {
                fields: Some("event,updatedAt".into()),
                page_size: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(page) = pager.next_page().await {
        events.extend(page.unwrap().items);
    }
    assert_eq!(events.len(), all_events);
    let (mid, newer) = median_and_count_since(events.iter().map(|e| &e["updatedAt"]));
    let since = TrackerQuery {
        updated_after: Some(mid),
        ..Default::default()
    };
    assert_eq!(
        c.count_tracker_changes(TrackerKind::Events, &since)
            .await
            .unwrap(),
        newer,
        "{version}: events updated at or after {mid}"
    );

    // Aggregate data values, streamed in small batches, per data set.
    let (sets, _) = all_objects(&c, "dataSets", "id", 50).await;
    assert_eq!(sets.len(), 2);
    let mut keys = BTreeSet::new();
    let mut batches = 0;
    for ds in &sets {
        let q = DataValueQuery {
            data_sets: vec![id(ds)],
            org_units: vec![root.clone()],
            children: true,
            start_date: NaiveDate::from_ymd_opt(2024, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2025, 12, 31),
            ..Default::default()
        };
        let mut stream = c.data_values(&q, 333).await.unwrap();
        while let Some(batch) = stream.next_batch().await {
            let batch = batch.unwrap();
            assert!(!batch.is_empty() && batch.len() <= 333);
            batches += 1;
            for v in batch {
                assert!(v.value.is_some() && v.deleted.is_none());
                keys.insert((
                    v.data_element,
                    v.period,
                    v.org_unit,
                    v.category_option_combo,
                    v.attribute_option_combo,
                ));
            }
        }
    }
    assert_eq!(keys.len(), 10_000, "{version}: every value exactly once");
    assert!(batches >= 31, "{batches} batches");
    assert_eq!(expected["dataValues"]["count"], 10_000);
}

#[tokio::test]
async fn version_2_39_discovery_paging_and_streaming() {
    discovery_paging_and_streaming("2.39").await;
}

#[tokio::test]
async fn version_2_40_discovery_paging_and_streaming() {
    discovery_paging_and_streaming("2.40").await;
}

#[tokio::test]
async fn version_2_41_discovery_paging_and_streaming() {
    discovery_paging_and_streaming("2.41").await;
}

#[tokio::test]
async fn version_2_42_discovery_paging_and_streaming() {
    discovery_paging_and_streaming("2.42").await;
}

#[tokio::test]
async fn changes_since_the_server_watermark() {
    let sim = SimProcess::start(&["--mutate-every", "300ms", "--dhis2-version", "2.40"]);
    let c = client(&sim);
    let watermark = c.system_info().await.unwrap().server_date;
    let root = root_org_unit(&c).await;
    let (sets, _) = all_objects(&c, "dataSets", "id", 50).await;
    // Each tick edits data elements, groups, data values and events under one
    // lock; a group is deleted from the third tick on (src/sim/mutate.rs):
    // once that deletion is listed, every change asserted below has happened.
    common::eventually(
        "a group deleted by --mutate-every",
        Duration::from_secs(30),
        async || {
            let mut deleted = c
                .deleted_objects("DataElementGroup", Some(watermark), 50)
                .unwrap();
            match deleted.next_page().await {
                Some(Ok(page)) if !page.items.is_empty() => Some(()),
                _ => None,
            }
        },
    )
    .await;

    for plural in ["dataElements", "dataElementGroups"] {
        let n = c
            .count_metadata_changes(plural, Some(watermark))
            .await
            .unwrap();
        assert!(n > 0, "{plural} changed since {watermark}");
        assert!(n < c.count_metadata_changes(plural, None).await.unwrap() + 1);
    }
    let values = DataValueQuery {
        data_sets: sets.iter().map(id).collect(),
        org_units: vec![root],
        children: true,
        last_updated: Some(watermark),
        include_deleted: true,
        ..Default::default()
    };
    let changed = c.count_data_value_changes(&values, 100_000).await.unwrap();
    assert!(changed.exact && changed.count > 0, "{changed:?}");
    let capped = c.count_data_value_changes(&values, 2).await.unwrap();
    assert_eq!((capped.count, capped.exact), (2, false));

    let since = TrackerQuery {
        updated_after: Some(watermark),
        ..Default::default()
    };
    let events = c
        .count_tracker_changes(TrackerKind::Events, &since)
        .await
        .unwrap();
    assert!(events > 0, "events changed");

    let mut deleted = c
        .deleted_objects("DataElementGroup", Some(watermark), 50)
        .unwrap();
    let page = deleted.next_page().await.unwrap().unwrap();
    assert!(!page.items.is_empty(), "a group was deleted");
    for d in &page.items {
        assert_eq!(d.klass, "DataElementGroup");
        let at = parse_timestamp(d.deleted_at.as_deref().unwrap()).unwrap();
        assert!(at >= watermark, "{at} before {watermark}");
    }

    // A watermark in the future sees nothing: the filters really apply.
    let later = watermark + chrono::Duration::days(1);
    assert_eq!(
        c.count_metadata_changes("dataElements", Some(later))
            .await
            .unwrap(),
        0
    );
    let none = DataValueQuery {
        last_updated: Some(later),
        ..values
    };
    assert_eq!(
        c.count_data_value_changes(&none, 10).await.unwrap().count,
        0
    );
    let none = TrackerQuery {
        updated_after: Some(later),
        ..Default::default()
    };
    assert_eq!(
        c.count_tracker_changes(TrackerKind::Events, &none)
            .await
            .unwrap(),
        0
    );
}
