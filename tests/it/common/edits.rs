//! Shared by the sync tests: the digest comparison and the source edits an
//! incremental sync must carry over.

use serde_json::{Value, json};
use syncdeck::connectors::dhis2::{
    DataValue, DataValueImportParams, DataValueQuery, Dhis2Client, ImportStatus, ImportStrategy,
    MetadataImportParams, TrackerImportParams, TrackerKind, TrackerQuery,
};

use super::{all_objects, id};

/// The single level-1 org unit.
pub async fn root_of(c: &Dhis2Client) -> String {
    let roots: Vec<Value> = all_objects(c, "organisationUnits", Some("id,level"))
        .await
        .into_iter()
        .filter(|o| o["level"] == 1)
        .collect();
    assert_eq!(roots.len(), 1);
    id(&roots[0])
}

/// The simulator's types that a default sync never moves (`metadata = ["*"]`
/// leaves them out, see `syncable`): each instance keeps its own.
pub const INSTANCE_LOCAL: [&str; 3] = ["users", "userRoles", "userGroups"];

/// Resources whose digests differ, with both sides; the instance-local types
/// (users, roles, groups) are not compared.
pub fn digest_differences(want: &Value, got: &Value) -> Vec<String> {
    let want = want.as_object().unwrap();
    assert_eq!(
        want.len(),
        24,
        "20 metadata types, data values, 3 tracker kinds"
    );
    want.iter()
        .filter(|(k, _)| !INSTANCE_LOCAL.contains(&k.as_str()))
        .filter(|(k, v)| got.get(k.as_str()) != Some(v))
        .map(|(k, v)| format!("{k}: source {v}, destination {}", got[k.as_str()]))
        .collect()
}

/// Edits the source as its users would: metadata updated, created and deleted,
/// data values changed, added and deleted, tracker objects edited, created and
/// deleted (a deleted tracked entity takes its enrollment and events with it).
pub async fn edit_source(c: &Dhis2Client) {
    let metadata = |payload: Value, strategy: ImportStrategy| async move {
        let params = MetadataImportParams {
            strategy,
            ..Default::default()
        };
        let report = c.import_metadata(&payload, &params).await.unwrap();
        assert_eq!(report.status, ImportStatus::Ok, "{payload}: {report:?}");
    };
    let mut element = all_objects(c, "dataElements", None).await.remove(3);
    element["name"] = json!("Renamed at the source");
    let groups = all_objects(c, "dataElementGroups", None).await;
    let unit_groups = all_objects(c, "organisationUnitGroups", None).await;
    metadata(
        json!({"dataElements": [element],
               "dataElementGroups": [{"id": "degNewAAAAA", "name": "New group", "shortName": "New group",
                                      "dataElements": [{"id": element["id"]}]}]}),
        ImportStrategy::CreateAndUpdate,
    )
    .await;
    metadata(
        json!({"dataElementGroups": [{"id": groups[0]["id"]}],
               "organisationUnitGroups": [{"id": unit_groups[0]["id"]}]}),
        ImportStrategy::Delete,
    )
    .await;

    let root = root_of(c).await;
    let sets = all_objects(c, "dataSets", Some("id")).await;
    let q = DataValueQuery {
        data_sets: sets.iter().map(id).collect(),
        org_units: vec![root],
        children: true,
        periods: vec!["202406".into()],
        ..Default::default()
    };
    let mut stream = c.data_values(&q, 5).await.unwrap();
    let mut values: Vec<DataValue> = stream.next_batch().await.unwrap().unwrap();
    drop(stream);
    assert_eq!(values.len(), 5);
    values[0].value = Some("99999".into());
    values[1].comment = Some("checked".into());
    values[2].deleted = Some(true);
    values[3].value = None;
    values[4].period = "202607".into();
    let summary = c
        .import_data_values(&values, &DataValueImportParams::default())
        .await
        .unwrap();
    let count = summary.import_count;
    assert_eq!(
        (count.imported, count.updated, count.deleted),
        (1, 2, 2),
        "{summary:?}"
    );

    let programs = all_objects(c, "programs", Some("id,programType,programStages[id]")).await;
    let anc = programs
        .iter()
        .find(|p| p["programType"] == "WITH_REGISTRATION")
        .unwrap();
    let single = programs
        .iter()
        .find(|p| p["programType"] == "WITHOUT_REGISTRATION")
        .unwrap();
    let page = |kind, program: &Value| {
        let query = TrackerQuery {
            program: Some(id(program)),
            page_size: 3,
            ..Default::default()
        };
        async move {
            let mut pager = c.tracker_pages(kind, query).await.unwrap();
            pager.next_page().await.unwrap().unwrap().items
        }
    };
    let tracker = |payload: Value, strategy: ImportStrategy| async move {
        let params = TrackerImportParams {
            strategy,
            ..Default::default()
        };
        let report = c.import_tracker(&payload, &params).await.unwrap();
        assert_eq!(report.status, ImportStatus::Ok, "{payload}: {report:?}");
        report.stats
    };
    let mut events = page(TrackerKind::Events, single).await;
    events[0]["status"] = json!("ACTIVE");
    tracker(
        json!({"events": [events[0]]}),
        ImportStrategy::CreateAndUpdate,
    )
    .await;
    tracker(
        json!({"events": [{"event": events[1]["event"]}]}),
        ImportStrategy::Delete,
    )
    .await;
    let tes = page(TrackerKind::TrackedEntities, anc).await;
    let stats = tracker(
        json!({"trackedEntities": [{"trackedEntity": tes[0]["trackedEntity"]}]}),
        ImportStrategy::Delete,
    )
    .await;
    assert_eq!(stats.deleted, 1);
    let te = &tes[1];
    let nested = json!({"trackedEntities": [{
        "trackedEntity": "teNewAAAAAA", "trackedEntityType": te["trackedEntityType"], "orgUnit": te["orgUnit"],
        "attributes": te["attributes"],
        "enrollments": [{"enrollment": "enNewAAAAAA", "program": anc["id"], "orgUnit": te["orgUnit"],
            "status": "ACTIVE", "enrolledAt": "2025-06-01T00:00:00.000", "occurredAt": "2025-06-01T00:00:00.000",
            "events": [{"event": "evNewAAAAAA", "programStage": anc["programStages"][0]["id"],
                "orgUnit": te["orgUnit"], "status": "ACTIVE", "occurredAt": "2025-06-02T00:00:00.000",
                "dataValues": []}]}]}]});
    let stats = tracker(nested, ImportStrategy::CreateAndUpdate).await;
    assert_eq!(stats.created, 3);
}
