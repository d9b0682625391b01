//! `Dhis2Sync` (the connector's sync side, as the engine drives it) between two
//! simulators: plan, then sync_resource for every resource, full and
//! incremental; progress, conflicts, selections, cancellation, flaky servers.

use std::sync::Mutex;
use std::time::Duration;

use chrono::NaiveDateTime;
use syncdeck::config::model::Selection;
use syncdeck::connectors::dhis2::{
    ClientOptions, ConflictClass, Credentials, Dhis2Client, Dhis2Error, Dhis2Sync, ProgressSink,
    ResourceOutcome, ResourceSpec, RetryPolicy, SyncOptions, Timeouts,
};
use tokio_util::sync::CancellationToken;

use crate::common;
use crate::common::edits::{digest_differences, edit_source};
use crate::common::{PASSWORD, SimProcess, USER, all_objects, client, digest, id, sim_counter};

/// Records what a sync reports; optionally cancels after the first page.
#[derive(Default)]
struct Recorder {
    totals: Mutex<Vec<u64>>,
    adds: Mutex<(u64, u64, u64, usize)>,
    cancel_on_add: Option<CancellationToken>,
}

impl ProgressSink for Recorder {
    fn set_total(&self, total: u64) {
        self.totals.lock().unwrap().push(total);
    }
    fn add(&self, processed: u64, synced: u64, errors: u64) {
        let mut a = self.adds.lock().unwrap();
        *a = (a.0 + processed, a.1 + synced, a.2 + errors, a.3 + 1);
        if let Some(c) = &self.cancel_on_add {
            c.cancel();
        }
    }
    fn step(&self, _: &str) {}
    fn unchanged(&self, _: u64) {}
}

fn options() -> SyncOptions {
    SyncOptions {
        // Small pages so every resource spans several of them.
        metadata_page_size: 40,
        data_value_batch_size: 1500,
        tracker_page_size: 60,
        retry: RetryPolicy {
            max_retries: 8,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
        },
        ..Default::default()
    }
}

fn syncer(
    src: &SimProcess,
    dst: &SimProcess,
    selection: Selection,
    options: SyncOptions,
) -> Dhis2Sync {
    Dhis2Sync::new(client(src), client(dst), selection, options)
}

/// Plans and syncs every resource, checking that progress adds up to each
/// outcome and that the last total matches what was processed (static source).
async fn sync_all(
    sync: &Dhis2Sync,
    since: Option<NaiveDateTime>,
) -> Vec<(ResourceSpec, ResourceOutcome)> {
    let mut out = Vec::new();
    let cancel = CancellationToken::new();
    for res in sync.plan().await.unwrap() {
        let rec = Recorder::default();
        let outcome = sync
            .sync_resource(&res, since, &rec, &cancel)
            .await
            .unwrap();
        assert!(outcome.is_clean(), "{}: {outcome:?}", res.key);
        let (p, s, e, _) = *rec.adds.lock().unwrap();
        assert_eq!(
            (p, s, e),
            (outcome.processed, outcome.synced, outcome.errors),
            "{}",
            res.key
        );
        let totals = rec.totals.lock().unwrap();
        assert_eq!(
            totals.last().copied(),
            Some(outcome.processed),
            "{}: {totals:?}",
            res.key
        );
        out.push((res, outcome));
    }
    out
}

fn total(
    outcomes: &[(ResourceSpec, ResourceOutcome)],
    prefix: &str,
    f: fn(&ResourceOutcome) -> u64,
) -> u64 {
    outcomes
        .iter()
        .filter(|(r, _)| r.key.starts_with(prefix))
        .map(|(_, o)| f(o))
        .sum()
}

async fn assert_same(source: &SimProcess, dest: &SimProcess) {
    let differing = digest_differences(&digest(source).await, &digest(dest).await);
    assert!(differing.is_empty(), "{differing:#?}");
}

#[tokio::test]
async fn full_then_incremental_sync_makes_equal_digests() {
    let source = SimProcess::start(&["--seed", "7", "--size", "small"]);
    let dest = SimProcess::start(&["--empty"]);
    let sync = syncer(&source, &dest, Selection::default(), options());

    let run_start = sync.server_time().await.unwrap();
    let full = sync_all(&sync, None).await;
    assert_same(&source, &dest).await;
    assert_eq!(total(&full, "dataValues:", |o| o.synced), 10_000);
    assert!(
        full.iter()
            .any(|(r, _)| r.key == "metadata:options+optionSets")
    );
    assert!(
        full.last()
            .is_some_and(|(r, _)| r.key == "metadataDeletions")
    );
    let full_fetched = sim_counter(&source, "objectsReturned").await;

    edit_source(&client(&source)).await;
    let before = sim_counter(&source, "objectsReturned").await;
    let incr = sync_all(&sync, Some(run_start)).await;
    assert_same(&source, &dest).await;
    let incr_fetched = sim_counter(&source, "objectsReturned").await - before;
    assert!(
        incr_fetched * 20 < full_fetched,
        "incremental fetched {incr_fetched} objects, full {full_fetched}"
    );
    assert_eq!(total(&incr, "dataValues:", |o| o.processed), 5);
    assert_eq!(total(&incr, "metadataDeletions", |o| o.deleted), 2);
    assert!(total(&incr, "trackerDeletions:", |o| o.deleted) >= 2);
}

#[tokio::test]
async fn data_before_metadata_gives_classified_conflicts_not_errors() {
    let source = SimProcess::start(&["--seed", "2"]);
    let dest = SimProcess::start(&["--empty"]);
    let sync = syncer(&source, &dest, Selection::default(), options());
    let plan = sync.plan().await.unwrap();
    let res = plan
        .iter()
        .find(|r| r.key.starts_with("dataValues:"))
        .unwrap();
    let rec = Recorder::default();
    let out = sync
        .sync_resource(res, None, &rec, &CancellationToken::new())
        .await
        .unwrap();
    assert!(out.errors > 0 && out.synced == 0, "{out:?}");
    assert!(!out.is_clean());
    assert!(!out.conflicts.is_empty());
    assert!(
        out.conflicts
            .iter()
            .all(|c| c.class == ConflictClass::MissingReference),
        "{:?}",
        &out.conflicts[..3]
    );
    assert_eq!(rec.adds.lock().unwrap().2, out.errors);
}

#[tokio::test]
async fn restricted_selection_plans_only_what_it_names() {
    let source = SimProcess::start(&["--seed", "2"]);
    let dest = SimProcess::start(&["--empty"]);
    let programs = all_objects(&client(&source), "programs", Some("id,programType")).await;
    let program = programs
        .iter()
        .find(|p| p["programType"] == "WITH_REGISTRATION")
        .unwrap();
    let p = id(program);
    let selection = Selection {
        metadata: vec![
            "dataElements".into(),
            "categoryOptions".into(),
            "categories".into(),
        ],
        data_sets: vec![],
        programs: vec![p.clone()],
        org_units: vec![],
        exclude: vec!["categories".into()],
        skip_sharing: true,
    };
    let sync = syncer(&source, &dest, selection.clone(), options());
    let keys: Vec<String> = sync
        .plan()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(
        keys,
        [
            "metadata:categoryOptions".to_string(),
            "metadata:dataElements".into(),
            format!("trackedEntities:{p}"),
            format!("enrollments:{p}"),
            format!("events:{p}"),
            format!("trackerDeletions:{p}"),
            "metadataDeletions".into(),
        ]
    );
    let bad = Selection {
        metadata: vec!["dataElementz".into()],
        ..selection
    };
    let e = syncer(&source, &dest, bad, options())
        .plan()
        .await
        .unwrap_err();
    assert!(matches!(e, Dhis2Error::Config(_)), "{e}");
}

/// `/api/deletedObjects` needs ALL (webapi/controller/DeletedObjectController.java,
/// 2.39.6–2.42.1): a source account without it plans no deletion pass (it
/// would fail every run), and the metadata itself still syncs.
#[tokio::test]
async fn a_source_account_without_all_plans_no_metadata_deletions() {
    let source = SimProcess::start(&["--seed", "2", "--authorities", "F_METADATA_EXPORT"]);
    let dest = SimProcess::start(&["--empty"]);
    let keys: Vec<String> = syncer(&source, &dest, Selection::default(), options())
        .plan()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert!(
        keys.contains(&"metadata:dataElements".to_string()),
        "{keys:?}"
    );
    assert!(!keys.contains(&"metadataDeletions".to_string()), "{keys:?}");
    let superuser = SimProcess::start(&["--seed", "2"]);
    let keys: Vec<String> = syncer(&superuser, &dest, Selection::default(), options())
        .plan()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert!(keys.contains(&"metadataDeletions".to_string()), "{keys:?}");
}

#[tokio::test]
async fn cancel_stops_between_pages() {
    let source = SimProcess::start(&["--seed", "2"]);
    let dest = SimProcess::start(&["--empty"]);
    let opts = SyncOptions {
        metadata_page_size: 5,
        ..options()
    };
    let sync = syncer(&source, &dest, Selection::default(), opts);
    let res = sync
        .plan()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key == "metadata:dataElements")
        .unwrap();
    let count = sync.count_changes(&res, None).await.unwrap();
    assert!(count.exact && count.count > 10, "{count:?}");
    let cancel = CancellationToken::new();
    let rec = Recorder {
        cancel_on_add: Some(cancel.clone()),
        ..Default::default()
    };
    let out = sync.sync_resource(&res, None, &rec, &cancel).await.unwrap();
    assert!(out.cancelled && !out.is_clean());
    assert_eq!(out.processed, 5, "one page, then stop");
    assert_eq!(rec.totals.lock().unwrap().as_slice(), [count.count]);
}

#[tokio::test]
async fn flaky_slow_servers_sync_fully_thanks_to_retries() {
    let flaky = [
        "--fail-rate",
        "0.1",
        "--latency",
        "20ms",
        "--dhis2-version",
        "2.40",
    ];
    let source = SimProcess::start(&[&flaky[..], &["--seed", "4"]].concat());
    let dest = SimProcess::start(&[&flaky[..], &["--empty"]].concat());
    let opts = SyncOptions {
        metadata_page_size: 200,
        data_value_batch_size: 5000,
        tracker_page_size: 200,
        // Async imports poll jobs through the same flaky server.
        async_imports: true,
        ..options()
    };
    let sync = syncer(&source, &dest, Selection::default(), opts);
    sync_all(&sync, None).await;
    assert_same(&source, &dest).await;
}

#[tokio::test]
async fn deletions_the_destination_never_had_are_skipped_not_errors() {
    let source = SimProcess::start(&["--seed", "9"]);
    let dest = SimProcess::start(&["--empty"]);
    edit_source(&client(&source)).await;
    let sync = syncer(&source, &dest, Selection::default(), options());
    let cancel = CancellationToken::new();
    let mut skipped = 0;
    for res in sync.plan().await.unwrap() {
        if !res.key.contains("Deletions") {
            continue;
        }
        let out = sync
            .sync_resource(&res, None, &Recorder::default(), &cancel)
            .await
            .unwrap();
        assert!(out.is_clean() && out.deleted == 0, "{}: {out:?}", res.key);
        skipped += out.skipped;
    }
    assert!(
        skipped >= 3,
        "two metadata objects and tracker items ({skipped})"
    );
}

/// Steps a sync shows, in order.
#[derive(Default)]
struct Steps(Mutex<Vec<String>>);

impl ProgressSink for Steps {
    fn set_total(&self, _: u64) {}
    fn add(&self, _: u64, _: u64, _: u64) {}
    fn step(&self, step: &str) {
        self.0.lock().unwrap().push(step.to_string());
    }
    fn unchanged(&self, _: u64) {}
}

#[derive(Default)]
struct StepsAndCounts {
    steps: Mutex<Vec<String>>,
    added: Mutex<(u64, u64, u64)>,
}

impl ProgressSink for StepsAndCounts {
    fn set_total(&self, _: u64) {}
    fn add(&self, processed: u64, synced: u64, errors: u64) {
        let mut a = self.added.lock().unwrap();
        *a = (a.0 + processed, a.1 + synced, a.2 + errors);
    }
    fn step(&self, step: &str) {
        self.steps.lock().unwrap().push(step.to_string());
    }
    fn unchanged(&self, _: u64) {}
}

#[tokio::test]
async fn hung_and_stalled_requests_time_out_and_are_retried_with_a_note() {
    let source = SimProcess::start(&["--seed", "5", "--hang-rate", "0.05", "--stall-rate", "0.05"]);
    let dest = SimProcess::start(&["--empty"]);
    let second = Duration::from_secs(1);
    let deadlines = ClientOptions {
        timeouts: Timeouts {
            connect: second,
            first_byte: second,
            import: second,
            idle: second,
        },
        ..Default::default()
    };
    let source_client =
        Dhis2Client::new(&source.url, Credentials::basic(USER, PASSWORD), deadlines).unwrap();
    // Metadata and data values: enough requests for several faults, without
    // the long tracker passes.
    let selection = Selection {
        programs: vec![],
        ..Selection::default()
    };
    let opts = SyncOptions {
        metadata_page_size: 200,
        data_value_batch_size: 2000,
        ..options()
    };
    let sync = Dhis2Sync::new(source_client, client(&dest), selection, opts);
    let started = std::time::Instant::now();
    let cancel = CancellationToken::new();
    let mut steps = Vec::new();
    let plan = sync.plan().await.unwrap();
    for res in &plan {
        let rec = Steps::default();
        let outcome = sync
            .sync_resource(res, None, &rec, &cancel)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", res.key));
        assert!(outcome.is_clean(), "{}: {outcome:?}", res.key);
        steps.extend(rec.0.into_inner().unwrap());
    }
    let (hangs, stalls) = (
        faults(&source, "hang").await,
        faults(&source, "stall").await,
    );
    println!(
        "{} resources synced in {:.1} s through {hangs} hung and {stalls} stalled requests",
        plan.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        hangs > 0 && stalls > 0,
        "no fault was injected: the test proves nothing"
    );

    let differing: Vec<String> = digest_differences(&digest(&source).await, &digest(&dest).await)
        .into_iter()
        .filter(|d| {
            !["trackedEntities", "enrollments", "events"]
                .iter()
                .any(|t| d.starts_with(t))
        })
        .collect();
    assert!(differing.is_empty(), "{differing:#?}");

    // The step the console shows says what happened.
    let noted: Vec<&String> = steps
        .iter()
        .filter(|s| s.contains("timed out after 1 s, retrying"))
        .collect();
    println!("steps shown for retries: {noted:#?}");
    assert!(!noted.is_empty(), "no timeout shown as a step: {steps:#?}");
    assert!(
        noted
            .iter()
            .any(|s| s.contains("waiting for the response headers")),
        "{noted:#?}"
    );
    assert!(
        noted
            .iter()
            .any(|s| s.contains("no data while reading the response body")),
        "{noted:#?}"
    );
    // The sync_jobs log line is checked end to end, on `trigger --wait`'s
    // stderr (tests/engine_e2e.rs).
}

/// `faultsInjected` of the simulator's stats: `hang`, `stall`, `fail`.
async fn faults(sim: &SimProcess, kind: &str) -> u64 {
    let stats: serde_json::Value = common::http()
        .get(sim.api("/api/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["faultsInjected"][kind].as_u64().unwrap_or(0)
}

/// The streamed export honours the idle deadline too: a `dataValueSets`
/// answer that stops mid-body is abandoned after 1 s and the window queried
/// again. The export has no order (2.41.3
/// dxf2/datavalueset/SpringDataValueSetStore.java: no ORDER BY; the simulator
/// shuffles each answer), so the client re-sends the whole window instead of
/// skipping by position, and counts each value once: processed and the
/// progress sink's sums equal the source's count, synced too (an empty
/// destination), and the digests agree.
#[tokio::test]
async fn a_data_value_export_that_stalls_mid_body_is_reopened_and_counted_once() {
    let clean = SimProcess::start(&["--seed", "6"]);
    // Half the requests stall: the few export requests (one per data set,
    // and one per reopening) are sure to be among them.
    let stalling = SimProcess::start(&["--seed", "6", "--stall-rate", "0.5"]);
    let dest = SimProcess::start(&["--empty"]);
    // The metadata the values refer to, from a copy without faults.
    let metadata = Selection {
        data_sets: vec![],
        programs: vec![],
        ..Selection::default()
    };
    sync_all(&syncer(&clean, &dest, metadata, options()), None).await;

    let second = Duration::from_secs(1);
    let deadlines = ClientOptions {
        timeouts: Timeouts {
            connect: second,
            first_byte: second,
            import: second,
            idle: second,
        },
        ..Default::default()
    };
    let source =
        Dhis2Client::new(&stalling.url, Credentials::basic(USER, PASSWORD), deadlines).unwrap();
    let values = Selection {
        metadata: vec![],
        programs: vec![],
        ..Selection::default()
    };
    let patient = SyncOptions {
        retry: RetryPolicy {
            max_retries: 16,
            ..options().retry
        },
        ..options()
    };
    let sync = Dhis2Sync::new(source, client(&dest), values, patient);
    let cancel = CancellationToken::new();
    let (mut processed, mut synced, mut notes) = (0, 0, Vec::new());
    let mut added = (0, 0, 0);
    for res in sync.plan().await.unwrap() {
        let rec = StepsAndCounts::default();
        let out = sync
            .sync_resource(&res, None, &rec, &cancel)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", res.key));
        assert!(out.is_clean(), "{}: {out:?}", res.key);
        if res.key.starts_with("dataValues:") {
            processed += out.processed;
            synced += out.synced;
            let a = *rec.added.lock().unwrap();
            added = (added.0 + a.0, added.1 + a.1, added.2 + a.2);
        }
        notes.extend(rec.steps.into_inner().unwrap());
    }
    let want = digest(&clean).await["dataValues"]["count"]
        .as_u64()
        .unwrap();
    let mid_export: Vec<&String> = notes
        .iter()
        .filter(|n| {
            n.contains("/api/dataValueSets.json timed out after 1 s")
                && n.contains("no data while reading the response body")
        })
        .collect();
    println!(
        "{processed} of {want} values through {} stalled requests; stalled exports: {mid_export:#?}",
        faults(&stalling, "stall").await
    );
    assert!(!mid_export.is_empty(), "no export stalled: {notes:#?}");
    assert_eq!(processed, want, "each value counted once");
    assert_eq!(synced, want, "each value synced once");
    assert_eq!(added, (want, want, 0), "the progress sink's sums");
    assert_eq!(
        digest(&dest).await["dataValues"],
        digest(&clean).await["dataValues"]
    );
}
