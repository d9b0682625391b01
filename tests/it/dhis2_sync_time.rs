//! `Dhis2Sync` between simulators where real DHIS2 differs from a kind one:
//! a source west of UTC (the `lastUpdated` filter is compared as UTC with
//! local times) and sources with two root org units (events take one org unit
//! per query). Issue 15, points 4 and 5.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use syncdeck::config::model::Selection;
use syncdeck::connectors::dhis2::{
    DataValueQuery, Dhis2Sync, NoProgress, ResourceOutcome, RetryPolicy, SyncOptions,
};
use tokio_util::sync::CancellationToken;

use crate::common;
use crate::common::edits::digest_differences;
use crate::common::{PASSWORD, SimProcess, USER, client, digest, http};

fn options() -> SyncOptions {
    SyncOptions {
        metadata_page_size: 200,
        data_value_batch_size: 2000,
        tracker_page_size: 100,
        retry: RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        },
        ..Default::default()
    }
}

/// Every planned resource, each required clean; the data value outcomes summed.
async fn sync_all(sync: &Dhis2Sync, since: Option<NaiveDateTime>) -> ResourceOutcome {
    let cancel = CancellationToken::new();
    let mut values = ResourceOutcome::default();
    for res in sync.plan().await.unwrap() {
        let out = sync
            .sync_resource(&res, since, &NoProgress, &cancel)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", res.key));
        assert!(out.is_clean(), "{}: {out:?}", res.key);
        if res.key.starts_with("dataValues:") {
            values.processed += out.processed;
            values.synced += out.synced;
        }
    }
    values
}

/// Changes one value of the source now; returns it as written.
async fn change_one_value(source: &SimProcess) -> Value {
    let c = client(source);
    let ds = common::all_objects(&c, "dataSets", Some("id")).await;
    let root = common::edits::root_of(&c).await;
    let path = format!(
        "/api/dataValueSets.json?dataSet={}&orgUnit={root}&children=true&startDate=1900-01-01&endDate=2100-12-31&limit=1",
        common::id(&ds[0])
    );
    let body: Value = http()
        .get(source.api(&path))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut v = body["dataValues"][0].clone();
    v["value"] = json!("424242");
    let resp = http()
        .post(source.api("/api/dataValueSets"))
        .basic_auth(USER, Some(PASSWORD))
        .json(&json!({ "dataValues": [v.clone()] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    v
}

// DHIS2 writes the `lastUpdated` bound into SQL as UTC and compares it with a
// local `timestamp without time zone` (2.41.3
// dxf2/datavalueset/SpringDataValueSetStore.java getDataValueSql,
// DateUtils.toLongGmtDate); `lastUpdatedDuration` is subtracted from the local
// clock (DateUtils.nowMinusDuration). Five hours west of UTC, a window sent as
// `lastUpdated` starts five hours late; the sync's duration does not.
#[tokio::test]
async fn west_of_utc_an_incremental_sync_picks_up_a_value_changed_30_s_before_the_watermark() {
    let source = SimProcess::start(&["--seed", "8", "--time-zone", "America/Bogota"]);
    let dest = SimProcess::start(&["--empty"]);
    let sync = Dhis2Sync::new(
        client(&source),
        client(&dest),
        Selection::default(),
        options(),
    );
    sync_all(&sync, None).await;
    let changed = change_one_value(&source).await;
    // The next run starts 30 s after the change: its watermark is the
    // source's clock then, the change lies 30 s before it (inside the 60 s overlap).
    // The source's clock is put forward instead of waiting for it.
    let advanced = http()
        .post(source.api("/api/_sim/clock?advance=30s"))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 200);
    let watermark = sync.server_time().await.unwrap();

    // What a `lastUpdated` window would have read: nothing (the control).
    let c = client(&source);
    let as_last_updated = DataValueQuery {
        data_sets: common::all_objects(&c, "dataSets", Some("id"))
            .await
            .iter()
            .map(common::id)
            .collect(),
        org_units: vec![common::edits::root_of(&c).await],
        children: true,
        last_updated: Some(watermark - chrono::Duration::seconds(60)),
        ..Default::default()
    };
    let missed = c
        .count_data_value_changes(&as_last_updated, 1000)
        .await
        .unwrap();
    assert_eq!(
        missed.count, 0,
        "west of UTC a lastUpdated window starts 5 h late"
    );

    let values = sync_all(&sync, Some(watermark)).await;
    assert!(
        values.synced >= 1 && values.processed >= 1,
        "{values:?} (changed {changed})"
    );
    let differing = digest_differences(&digest(&source).await, &digest(&dest).await);
    assert!(differing.is_empty(), "{differing:#?}");
}

// Events take one org unit (2.39.6/2.40.5
// webapi/controller/tracker/export/TrackerEventCriteria.java `String orgUnit`;
// 2.41.3 export/event/EventRequestParams.java `UID orgUnit`): with two roots
// the sync asks once per root.
#[tokio::test]
async fn sources_with_two_root_org_units_give_complete_events_on_2_39_2_40_and_2_41() {
    for version in ["2.39", "2.40", "2.41"] {
        let args = [
            "--seed",
            "9",
            "--dhis2-version",
            version,
            "--root-org-units",
            "2",
        ];
        let source = SimProcess::start(&args);
        let dest = SimProcess::start(&["--empty", "--dhis2-version", version]);
        let sync = Dhis2Sync::new(
            client(&source),
            client(&dest),
            Selection::default(),
            options(),
        );
        sync_all(&sync, None).await;
        let (src, dst) = (digest(&source).await, digest(&dest).await);
        assert!(
            src["events"]["count"].as_u64().unwrap_or(0) > 0,
            "{version}: {src}"
        );
        let differing = digest_differences(&src, &dst);
        assert!(differing.is_empty(), "{version}: {differing:#?}");
        println!("{version}: {} events complete", dst["events"]["count"]);
    }
}

/// Events are read once per selected root with DESCENDANTS: a selected org
/// unit inside another selected one is dropped, so no event is read (or
/// counted) twice; an org unit the source lacks is a configuration error.
#[tokio::test]
async fn nested_selected_org_units_read_each_event_once() {
    let source = SimProcess::start(&["--seed", "9"]);
    let dest = SimProcess::start(&["--empty"]);
    let c = client(&source);
    let root = common::edits::root_of(&c).await;
    let units = common::all_objects(&c, "organisationUnits", Some("id,level")).await;
    let child = units
        .iter()
        .find(|o| o["level"] == 2)
        .map(common::id)
        .expect("a level-2 org unit");
    let selection = Selection {
        org_units: vec![child.clone(), root.clone()],
        ..Selection::default()
    };
    let sync = Dhis2Sync::new(client(&source), client(&dest), selection.clone(), options());
    let cancel = CancellationToken::new();
    let mut events_read = 0;
    for res in sync.plan().await.unwrap() {
        let out = sync
            .sync_resource(&res, None, &NoProgress, &cancel)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", res.key));
        assert!(out.is_clean(), "{}: {out:?}", res.key);
        if res.key.starts_with("events:") {
            events_read += out.processed;
        }
    }
    let src = digest(&source).await;
    let events = src["events"]["count"].as_u64().unwrap();
    assert!(events > 0);
    assert_eq!(events_read, events, "each event read once");
    assert!(digest_differences(&src, &digest(&dest).await).is_empty());

    let unknown = Selection {
        org_units: vec![root, "NoSuchUnit1".into()],
        ..selection
    };
    let sync = Dhis2Sync::new(client(&source), client(&dest), unknown, options());
    let plan = sync.plan().await.unwrap();
    let events = plan.iter().find(|r| r.key.starts_with("events:")).unwrap();
    let e = sync
        .sync_resource(events, None, &NoProgress, &cancel)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("org unit NoSuchUnit1 of this sync's org_units is not an organisation unit of the source"), "{e}");
}
