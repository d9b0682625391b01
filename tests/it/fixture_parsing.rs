//! Real DHIS2 JSON (tests/fixtures, BSD-3-Clause, see SOURCES.md) through the
//! connector's parse functions: counts, statuses and errors read off the files.

use chrono::NaiveDate;
use serde_json::Value;
use syncdeck::connectors::dhis2::jobs::{is_completed, latest};
use syncdeck::connectors::dhis2::response::{ResponseMeta, check};
use syncdeck::connectors::dhis2::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
        .as_slice()
    };
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixture is JSON")
}

// ---- system ----------------------------------------------------------------

#[test]
fn system_info_241() {
    let info = parse_system_info(200, fixture!("system_info.json")).unwrap();
    assert_eq!(info.version, "2.41.0");
    assert_eq!((info.major, info.minor, info.patch), (2, 41, 0));
    assert_eq!(info.dhis_version(), DhisVersion::new(2, 41, 0));
    let want = NaiveDate::from_ymd_opt(2017, 11, 29)
        .unwrap()
        .and_hms_milli_opt(11, 27, 46, 935)
        .unwrap();
    assert_eq!(info.server_date, want);
    assert_eq!(
        format_timestamp(info.server_date),
        "2017-11-29T11:27:46.935"
    );
    assert_eq!(info.server_time_zone_id.as_deref(), Some("Etc/UTC"));
    assert_eq!(
        info.system_name.as_deref(),
        Some("DHIS 2 Demo - Sierra Leone")
    );
    assert_eq!(info.revision.as_deref(), Some("585e4bd"));
    assert_eq!(
        info.system_id.as_deref(),
        Some("eed3d451-4ff5-4193-b951-ffcc68954299")
    );
    assert_eq!(
        info.context_path.as_deref(),
        Some("https://play.dhis2.org/android-current")
    );
    assert_eq!(info.calendar.as_deref(), Some("iso8601"));
}

#[test]
fn system_info_status_matters() {
    let e = parse_system_info(404, fixture!("system_info.json")).unwrap_err();
    assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
    assert!(
        parse_system_info(401, fixture!("system_info.json"))
            .unwrap_err()
            .is_auth()
    );
    // JSON, but not system/info: no version.
    let e = parse_system_info(200, fixture!("user38.json")).unwrap_err();
    assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
}

#[test]
fn me_user38() {
    let me = parse_me(200, fixture!("user38.json")).unwrap();
    assert_eq!(me.username, "android");
    assert_eq!(me.id.as_deref(), Some("DXyJmlo9rge"));
    assert_eq!(me.display_name.as_deref(), Some("John Barnes"));
    assert_eq!(me.organisation_units, ["YuQRtpLP10I"]);
    assert_eq!(me.user_roles, ["Ufph3mGRmMo"]);
    // The role is *named* Superuser but lists no authorities: not ALL.
    assert!(me.authorities.is_empty());
    assert!(!me.is_superuser());
}

// ---- metadata lists and payloads -------------------------------------------

#[test]
fn categories_page() {
    let page: Page<Value> = parse_page(
        fixture!("categories.json"),
        &Envelope::metadata("categories"),
        "categories",
    )
    .unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.info.page, 1);
    assert_eq!(page.info.page_count, Some(1));
    assert_eq!(page.info.total, Some(1));
    assert_eq!(page.info.page_size, Some(50));
    assert!(page.info.has_pager_object);
    assert!(page.info.is_last(1, 50, page.items.len()));
    // The Android SDK's mock says total 1 beside 4 categories: a real DHIS2
    // counts what it lists, so this page would be refused as inconsistent.
    let why = page.info.inconsistency(1, 50, page.items.len()).unwrap();
    assert!(why.contains("leaves 1"), "{why}");
    let ids: Vec<&str> = page.items.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["vGs6omsRekv", "KfdsGBcoiCa", "cX5k9anHEHd", "x3uo8LqiTBk"]
    );
    assert_eq!(
        page.items[1]["categoryOptions"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn identifier_metadata_export() {
    let v = json(fixture!("identifier_metadata.json"));
    let counts = metadata_payload_counts(&v);
    assert_eq!(counts.len(), 11);
    assert_eq!(counts.values().sum::<usize>(), 12);
    assert_eq!(counts["categoryOptions"], 2);
    assert_eq!(counts["organisationUnits"], 1);
    assert_eq!(counts["userRoles"], 1);
    assert!(!counts.contains_key("system"));
    let sys_version = v["system"]["version"].as_str().unwrap();
    assert_eq!(
        DhisVersion::parse(sys_version),
        Some(DhisVersion::new(2, 32, 0))
    );
    assert_eq!(
        parse_timestamp(v["system"]["date"].as_str().unwrap())
            .map(format_timestamp)
            .as_deref(),
        Some("2019-01-28T11:34:56.545")
    );
}

#[test]
fn ou_with_group_and_set_payload() {
    let counts = metadata_payload_counts(&json(fixture!("ou_with_group_and_set.json")));
    assert_eq!(counts.len(), 3);
    assert_eq!(counts["organisationUnits"], 2);
    assert_eq!(counts["organisationUnitGroups"], 1);
    assert_eq!(counts["organisationUnitGroupSets"], 1);
}

// ---- metadata import reports -----------------------------------------------

#[test]
fn objects_response_wrapped_ok() {
    let r = parse_metadata_import(200, fixture!("objects-response.json")).unwrap();
    assert_eq!(r.status, ImportStatus::Ok);
    assert_eq!(
        r.stats,
        Stats {
            created: 2,
            updated: 0,
            deleted: 0,
            ignored: 0,
            total: 2
        }
    );
    assert_eq!(r.type_reports.len(), 2);
    assert_eq!(
        r.type_reports[0].klass,
        "org.hisp.dhis.program.ProgramStage"
    );
    assert_eq!(r.stats_for("ProgramStage").map(|s| s.created), Some(1));
    assert_eq!(
        r.stats_for("org.hisp.dhis.program.Program")
            .map(|s| s.created),
        Some(1)
    );
    assert_eq!(r.stats_for("Program").map(|s| s.total), Some(1));
    assert_eq!(r.error_count(), 0);
    assert!(r.errors_by_code().is_empty());
}

#[test]
fn objects_response_as_409_is_still_a_report() {
    let r = parse_metadata_import(409, fixture!("objects-response.json")).unwrap();
    assert_eq!(r.stats.created, 2);
    // Through the generic classifier, the 409 carries the parsed report.
    let e = check(&ResponseMeta::json(409), fixture!("objects-response.json")).unwrap_err();
    match e.into_report() {
        Ok(ConflictReport::Metadata(r)) => assert_eq!(r.type_reports.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn metadata_import_summary_plain() {
    let r = parse_metadata_import(200, fixture!("metadataImportSummaries.json")).unwrap();
    assert_eq!(r.status, ImportStatus::Ok);
    assert_eq!(r.stats, Stats::default());
    assert!(r.type_reports.is_empty());
    assert_eq!(r.message, None);
}

#[test]
fn metadata_async_upload_ack() {
    let job = parse_job_started(200, fixture!("metadataImportUpload.json")).unwrap();
    assert_eq!(job.id, "LsJVYK4DwaO");
    assert_eq!(job.job_type.as_deref(), Some("METADATA_IMPORT"));
    assert_eq!(
        job.relative_notifier_endpoint.as_deref(),
        Some("/api/system/tasks/METADATA_IMPORT/LsJVYK4DwaO")
    );
    assert_eq!(job.message.as_deref(), Some("Initiated metadataImport"));
    assert_eq!(job.location, None);
}

// ---- aggregate ---------------------------------------------------------------

#[test]
fn data_value_set_success() {
    let s = parse_data_value_import(200, fixture!("data_value_set_success.json")).unwrap();
    assert_eq!(s.status, ImportStatus::Success);
    assert!(s.status.is_ok());
    assert_eq!(
        s.import_count,
        ImportCount {
            imported: 0,
            updated: 3,
            ignored: 0,
            deleted: 0
        }
    );
    assert_eq!(s.synced(), 3);
    assert_eq!(s.error_count(), 0);
    assert_eq!(s.message.as_deref(), Some("Import was successful."));
    assert_eq!(
        s.description.as_deref(),
        Some("Import process completed successfully")
    );
}

#[test]
fn data_value_set_warning_409() {
    let s = parse_data_value_import(409, fixture!("data_value_set_warning.json")).unwrap();
    assert_eq!(s.status, ImportStatus::Warning);
    assert_eq!(s.import_count.ignored, 1);
    assert_eq!(s.synced(), 0);
    assert_eq!(s.error_count(), 1);
    assert_eq!(s.conflicts.len(), 1);
    assert_eq!(s.conflicts[0].object.as_deref(), Some("40L"));
    assert_eq!(
        s.conflicts[0].value.as_deref(),
        Some("Data value is not a positive integer, must match data element type: vANAXwtLwcT")
    );
    assert_eq!(
        s.message.as_deref(),
        Some("An error occurred, please check import summary.")
    );
    let e = check(
        &ResponseMeta::json(409),
        fixture!("data_value_set_warning.json"),
    )
    .unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("An error occurred"));
    match e.into_report() {
        Ok(ConflictReport::DataValues(s)) => assert_eq!(s.conflicts.len(), 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn data_import_summary_plain_and_tasks() {
    let s = parse_data_value_import(200, fixture!("dataImportSummaries.json")).unwrap();
    assert_eq!(s.status, ImportStatus::Success);
    assert_eq!(s.import_count, ImportCount::default());
    assert!(s.conflicts.is_empty());

    let ns = parse_notifications(200, fixture!("dataImportTasks.json")).unwrap();
    assert_eq!(ns.len(), 3);
    assert!(is_completed(&ns));
    assert_eq!(ns.iter().filter(|n| n.completed).count(), 1);
    let newest = latest(&ns).unwrap();
    assert_eq!(newest.message.as_deref(), Some("Import done"));
    assert_eq!(newest.uid.as_deref(), Some("IAcsMnK0HPc"));
    assert_eq!(newest.category.as_deref(), Some("DATAVALUE_IMPORT"));
    assert!(!is_completed(&ns[1..]));
}

#[test]
fn data_values_single_period_streamed() {
    let mut batches = Vec::new();
    let n = parse_data_values(
        fixture!("data_values_single_period.json"),
        1,
        "fixture",
        |b| {
            batches.push(b);
            true
        },
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(batches.len(), 2);
    let v = &batches[0][0];
    assert_eq!(v.data_element, "del1");
    assert_eq!(v.period, "2017");
    assert_eq!(v.org_unit, "DiszpKrYNg8");
    assert_eq!(v.category_option_combo.as_deref(), Some("Gmbgme7z9BF"));
    assert_eq!(v.attribute_option_combo.as_deref(), Some("bRowv6yZOF2"));
    assert_eq!(v.value.as_deref(), Some("12"));
    assert_eq!(v.stored_by.as_deref(), Some("bodata1"));
    assert_eq!(v.comment.as_deref(), Some(""));
    assert_eq!(v.followup, Some(false));
    assert_eq!(v.deleted, None);
    let created = parse_timestamp(v.created.as_deref().unwrap()).unwrap();
    assert_eq!(format_timestamp(created), "2011-01-11T00:00:00.000");
    assert_eq!(batches[1][0].data_element, "del2");
}

#[test]
fn data_values_single_dataset_payload() {
    let set = parse_data_value_set(fixture!("dataValues_single_dataset.json")).unwrap();
    assert_eq!(set.data_set.as_deref(), Some("VEM58nY22sO"));
    assert_eq!(set.period.as_deref(), Some("201911"));
    assert_eq!(set.data_values.len(), 2);
    let values: Vec<_> = set
        .data_values
        .iter()
        .map(|v| v.value.as_deref().unwrap())
        .collect();
    assert_eq!(values, ["1000", "2000"]);
    assert!(
        set.data_values
            .iter()
            .all(|v| v.attribute_option_combo.as_deref() == Some("HllvX50cXC0"))
    );
    // Re-serialised values skip absent optional fields.
    let out = serde_json::to_value(&set.data_values[0]).unwrap();
    assert_eq!(out.as_object().map(|o| o.len()), Some(7));
    assert!(out.get("storedBy").is_none());
}

// ---- tracker -----------------------------------------------------------------

#[test]
fn tracked_entities_lower_v41() {
    let v240 = Envelope::tracker(
        TrackerKind::TrackedEntities.plural(),
        DhisVersion::new(2, 40, 0),
    );
    let page: Page<Value> = parse_page(
        fixture!("new_tracker_importer_tracked_entities_lower_v41.json"),
        &v240,
        "te",
    )
    .unwrap();
    assert_eq!(page.info.inconsistency(1, 50, page.items.len()), None);
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.info.page, 1);
    assert_eq!(page.info.page_size, Some(50));
    assert_eq!((page.info.total, page.info.page_count), (None, None));
    assert!(!page.info.has_pager_object);
    assert!(page.info.is_last(1, 50, 2));
    assert!(
        !page.info.is_last(1, 2, 2),
        "a full page without totals goes on"
    );
    assert_eq!(page.items[0]["trackedEntity"], "nWrB0TfWlvh");
    assert_eq!(page.items[1]["trackedEntity"], "nWrB0TfWlvD");
}

#[test]
fn tracked_entities_greater_equal_v41() {
    let v241 = Envelope::tracker(
        TrackerKind::TrackedEntities.plural(),
        DhisVersion::new(2, 41, 0),
    );
    let page: Page<Value> = parse_page(
        fixture!("new_tracker_importer_tracked_entities_greater_equal_v41.json"),
        &v241,
        "te",
    )
    .unwrap();
    assert_eq!(page.info.inconsistency(1, 50, page.items.len()), None);
    // Each version's page is refused under the other version's envelope.
    let v240 = Envelope::tracker(
        TrackerKind::TrackedEntities.plural(),
        DhisVersion::new(2, 40, 0),
    );
    let e = parse_page::<Value>(
        fixture!("new_tracker_importer_tracked_entities_greater_equal_v41.json"),
        &v240,
        "te",
    )
    .unwrap_err();
    assert!(e.to_string().contains("lists `trackedEntities`"), "{e}");
    let e = parse_page::<Value>(
        fixture!("new_tracker_importer_tracked_entities_lower_v41.json"),
        &v241,
        "te",
    )
    .unwrap_err();
    assert!(e.to_string().contains("no `pager` object"), "{e}");
    assert_eq!(page.items.len(), 2);
    assert!(page.info.has_pager_object);
    assert_eq!(page.info.page, 1);
    assert_eq!(page.info.page_size, Some(50));
    assert_eq!(page.info.total, None);
    assert_eq!(page.info.next_page, None);
    assert_eq!(page.info.prev_page, None);
    assert!(page.info.is_last(1, 50, 2));
    // Had the page been full, no links on page 1 prove nothing: ask again.
    assert!(!page.info.is_last(1, 2, 2));
    assert_eq!(page.items[1]["attributes"][0]["value"], "654321");
}

#[test]
fn jobreport_success() {
    let r = parse_tracker_import(200, fixture!("jobreport-success.json")).unwrap();
    assert_eq!(r.status, ImportStatus::Ok);
    assert_eq!(
        r.stats,
        Stats {
            created: 1,
            updated: 2,
            deleted: 3,
            ignored: 4,
            total: 10
        }
    );
    assert!(r.errors().is_empty());
    let b = r.bundle_report.as_ref().unwrap();
    assert_eq!(b.type_report_map.len(), 4);
    assert_eq!(b.status, None, "2.40+ has no bundleReport.status");
    assert_eq!(b.stats, None);
    assert_eq!(
        r.type_stats(TrackerType::TrackedEntity).map(|s| s.created),
        Some(3)
    );
    assert_eq!(r.type_stats(TrackerType::Event).map(|s| s.total), Some(8));
    assert_eq!(
        r.type_stats(TrackerType::Relationship).map(|s| s.total),
        Some(4)
    );
    assert_eq!(
        r.type_stats(TrackerType::Enrollment).map(|s| s.total),
        Some(0)
    );
    let ev = &b.type_report_map["EVENT"];
    assert_eq!(ev.object_reports.len(), 1);
    assert_eq!(ev.object_reports[0].uid.as_deref(), Some("UavzrupW3lZ"));
    assert_eq!(r.error_count(), 0);
}

#[test]
fn jobreport_error_e1033() {
    let r = parse_tracker_import(409, fixture!("jobreport-error.json")).unwrap();
    assert_eq!(r.status, ImportStatus::Error);
    assert_eq!(r.stats.ignored, 1);
    assert_eq!(r.stats.total, 1);
    assert!(r.bundle_report.is_none());
    assert_eq!(r.error_count(), 1);
    let e = &r.errors()[0];
    assert_eq!(e.error_code.as_deref(), Some("E1033"));
    assert_eq!(e.tracker_type.as_deref(), Some("EVENT"));
    assert_eq!(e.uid.as_deref(), Some("PXi7gfVIk1p"));
    assert_eq!(
        e.message.as_deref(),
        Some("Event: `PXi7gfVIk1p`, Enrollment value is NULL.")
    );
    assert_eq!(r.errors_by_code()["E1033"].len(), 1);
    match check(&ResponseMeta::json(409), fixture!("jobreport-error.json"))
        .unwrap_err()
        .into_report()
    {
        Ok(ConflictReport::Tracker(t)) => assert_eq!(t.errors().len(), 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tei_new_238_239_bundle_report() {
    let r = parse_tracker_import(200, fixture!("tei-new.json")).unwrap();
    assert_eq!(r.status, ImportStatus::Ok);
    assert_eq!(r.stats.created, 1);
    let b = r.bundle_report.as_ref().unwrap();
    assert_eq!(b.status, Some(ImportStatus::Ok));
    assert_eq!(
        b.stats,
        Some(Stats {
            created: 1,
            updated: 0,
            deleted: 0,
            ignored: 0,
            total: 1
        })
    );
    assert_eq!(
        r.type_stats(TrackerType::TrackedEntity).map(|s| s.created),
        Some(1)
    );
    assert_eq!(r.type_stats(TrackerType::Event).map(|s| s.total), Some(0));
    let te = &b.type_report_map["TRACKED_ENTITY"];
    assert_eq!(te.object_reports[0].uid.as_deref(), Some("e34WObjXCwl"));
    assert_eq!(te.object_reports[0].index, Some(0));
}

#[test]
fn tracker_async_job_and_notifications() {
    let job = parse_job_started(200, fixture!("job_response.json")).unwrap();
    assert_eq!(job.id, "LkXBUdIgbe3");
    assert_eq!(
        job.location.as_deref(),
        Some("https://play.dhis2.org/dev/api/tracker/jobs/LkXBUdIgbe3")
    );
    assert_eq!(job.job_type, None);
    assert_eq!(job.message.as_deref(), Some("Tracker job added"));

    let ns = parse_notifications(200, fixture!("job_response_completed.json")).unwrap();
    assert_eq!(ns.len(), 12);
    assert!(is_completed(&ns));
    assert_eq!(ns.iter().filter(|n| n.completed).count(), 1);
    let newest = latest(&ns).unwrap();
    assert!(newest.completed);
    assert_eq!(
        newest.message.as_deref(),
        Some("Import complete with status OK, 0 created, 1 updated, 0 deleted, 0 ignored")
    );
    let first = ns.last().unwrap();
    assert_eq!(first.message.as_deref(), Some("Tracker import started"));
    assert_eq!(first.data_type.as_deref(), Some("PARAMETERS"));
    assert_eq!(first.data.as_ref().unwrap()["atomicMode"], "OBJECT");
    // An acknowledgement is not a report.
    let e = parse_tracker_import(200, fixture!("job_response.json")).unwrap_err();
    assert!(matches!(e, Dhis2Error::BadPayload { .. }), "{e}");
}

#[test]
fn tracker_payloads() {
    let counts = tracker_payload_counts(&json(fixture!("events.json")));
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[&TrackerType::Event], 4);
    let events = json(fixture!("events.json"));
    let dv: usize = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["dataValues"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(dv, 21);

    let counts = tracker_payload_counts(&json(fixture!(
        "trackedEntitiesWithEnrollmentsAndEvents.json"
    )));
    assert_eq!(counts[&TrackerType::TrackedEntity], 2);
    assert_eq!(counts[&TrackerType::Enrollment], 2);
    assert_eq!(counts[&TrackerType::Event], 2);
    assert_eq!(
        counts.get(&TrackerType::Relationship).copied().unwrap_or(0),
        0
    );
}

// ---- import reports against what was sent -----------------------------------

/// Real reports account for what their imports were sent, by the rules the
/// sync applies (connectors::dhis2::accounting); one object more or less is
/// caught.
#[test]
fn real_reports_account_for_what_was_sent() {
    use std::collections::BTreeMap;
    use syncdeck::connectors::dhis2::accounting;

    let ok = parse_data_value_import(200, fixture!("data_value_set_success.json")).unwrap();
    assert_eq!(accounting::data_values(&ok, 3), None);
    assert!(accounting::data_values(&ok, 4).is_some());
    // One value rejected with its conflict: counted ignored, an error, not a mismatch.
    let warned = parse_data_value_import(409, fixture!("data_value_set_warning.json")).unwrap();
    assert_eq!(accounting::data_values(&warned, 1), None);

    let md = parse_metadata_import(200, fixture!("objects-response.json")).unwrap();
    assert_eq!(accounting::metadata(&md, 2, 0), None);
    assert!(accounting::metadata(&md, 3, 0).is_some());

    let te = parse_tracker_import(200, fixture!("tei-new.json")).unwrap();
    let one_te = BTreeMap::from([(TrackerType::TrackedEntity, 1)]);
    assert_eq!(accounting::tracker(&te, &one_te), None);
    let two_te = BTreeMap::from([(TrackerType::TrackedEntity, 2)]);
    assert!(accounting::tracker(&te, &two_te).is_some());
    // Every object invalid: no bundle report, the top stats ignore it, with its error.
    let invalid = parse_tracker_import(409, fixture!("jobreport-error.json")).unwrap();
    let one_event = BTreeMap::from([(TrackerType::Event, 1)]);
    assert_eq!(accounting::tracker(&invalid, &one_event), None);
}
