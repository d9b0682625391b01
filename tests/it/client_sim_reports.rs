//! Import reports our DHIS2 client reads back from the simulator: reference
//! errors by atomic mode, data value conflicts, tracker validation errors.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use syncdeck::connectors::dhis2::{
    AtomicMode, DataValue, DataValueImportParams, DataValueQuery, DataValueSet, ImportStatus,
    MetadataImportParams, TrackerAtomicMode, TrackerImportParams, TrackerKind, TrackerQuery,
};

use crate::common::{SimProcess, all_objects, client, id};

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
    let ids: Vec<String> = all_objects(&c, "dataElements", Some("id"))
        .await
        .iter()
        .map(id)
        .collect();
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
    // A data set in the header does not make DHIS2 check that the org unit
    // is assigned to it (only `strictOrganisationUnits=true` does, E7636;
    // E7617 is "not in hierarchy of current user"): 2.41.3
    // dxf2/datavalueset/DataValueSetImportValidator.java.
    let summary = c
        .import_data_value_set(&set, &DataValueImportParams::default())
        .await
        .unwrap();
    assert_eq!(summary.status, ImportStatus::Warning, "{summary:?}");
    assert_eq!(summary.import_count.imported, 3);
    assert_eq!(summary.import_count.ignored, 1);
    assert_eq!(summary.error_count(), 1);
    assert_eq!(summary.rejected_indexes, [1]);
    let codes: BTreeSet<&str> = summary
        .conflicts
        .iter()
        .filter_map(|c| c.error_code.as_deref())
        .collect();
    assert_eq!(codes, BTreeSet::from(["E7610"]));

    // The three valid values are there; nothing else in that period.
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
        (outsider.clone(), "13".to_string()),
        (inside[1].clone(), "14".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);

    // The same values without the data set header: all unchanged but one.
    let summary = c
        .import_data_values(&set.data_values, &DataValueImportParams::default())
        .await
        .unwrap();
    assert_eq!(summary.import_count.imported, 0, "{summary:?}");
    assert_eq!(summary.import_count.ignored, 4, "three unchanged, one bad");
    assert_eq!(summary.rejected_indexes, [1]);

    // attributeOptionCombo narrows an export.
    let aoc = all_objects(&c, "categoryOptionCombos", Some("id"))
        .await
        .iter()
        .map(id)
        .find(|i| i != "HllvX50cXC0")
        .unwrap();
    let mut other = value(&de, inside[0], "15");
    other.attribute_option_combo = Some(aoc.clone());
    let summary = c
        .import_data_values(&[other], &DataValueImportParams::default())
        .await
        .unwrap();
    assert_eq!(summary.import_count.imported, 1);
    for (aocs, want) in [
        (vec![aoc], vec!["15"]),
        (vec!["HllvX50cXC0".to_string()], vec!["11", "13", "14"]),
        (vec![], vec!["11", "13", "14", "15"]),
    ] {
        let query = DataValueQuery {
            attribute_option_combos: aocs.clone(),
            ..q.clone()
        };
        let mut stream = c.data_values(&query, 100).await.unwrap();
        let mut got = Vec::new();
        while let Some(batch) = stream.next_batch().await {
            got.extend(batch.unwrap().into_iter().map(|v| v.value.unwrap()));
        }
        got.sort();
        assert_eq!(got, want, "{aocs:?}");
    }
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
        atomic_mode: TrackerAtomicMode::All,
        ..Default::default()
    };
    let payload = json!({"events": [event("evOrphanBBB", &anc), event("evSingleBBB", &single)]});
    let report = c.import_tracker(&payload, &all).await.unwrap();
    assert_eq!(report.status, ImportStatus::Error);
    assert_eq!((report.stats.created, report.stats.ignored), (0, 2));
}
