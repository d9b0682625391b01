//! The simulator at the HTTP level: behaviours a sync can observe, checked
//! without our client in between.

use std::time::Duration;

use crate::common::{self, PASSWORD, SimProcess, USER, http};
use crate::common::{get_json as get, post_json as post};
use serde_json::{Value, json};

#[tokio::test]
async fn bad_credentials_in_each_mode() {
    let json_sim = SimProcess::start(&["--empty"]);
    let resp = http()
        .get(json_sim.api("/api/me"))
        .basic_auth(USER, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["httpStatusCode"], 401);

    let html_sim = SimProcess::start(&["--empty", "--auth-failure", "html"]);
    let resp = http().get(html_sim.api("/api/me")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "the login page comes with 200");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let redirect_sim = SimProcess::start(&["--empty", "--auth-failure", "redirect"]);
    let resp = http()
        .get(redirect_sim.api("/api/me"))
        .basic_auth(USER, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/dhis-web-login/");

    let token = http()
        .get(json_sim.api("/api/me"))
        .header(
            "Authorization",
            "ApiToken d2pat_syncdecksimulatortoken000000000000000",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
}

#[tokio::test]
async fn metadata_import_checks_references_by_atomic_mode() {
    let sim = SimProcess::start(&["--empty"]);
    let payload = json!({"dataElements": [
        {"id": "deGoodAAAAA", "name": "Good", "shortName": "Good", "valueType": "NUMBER", "domainType": "AGGREGATE",
         "aggregationType": "SUM", "categoryCombo": {"id": "bjDvmb4bfuf"}},
        {"id": "deBadBBBBBB", "name": "Bad", "shortName": "Bad", "valueType": "NUMBER", "domainType": "AGGREGATE",
         "aggregationType": "SUM", "categoryCombo": {"id": "missingCCCC"}}
    ]});
    let (status, body) = post(&sim, "/api/metadata?atomicMode=ALL", &payload).await;
    assert_eq!(status, 409);
    assert_eq!(
        body["status"], "WARNING",
        "outer status is WARNING even when the report is ERROR"
    );
    assert_eq!(body["response"]["status"], "ERROR");
    assert_eq!(body["response"]["stats"]["ignored"], 2);
    let errors = &body["response"]["typeReports"][0]["objectReports"][0]["errorReports"];
    assert_eq!(errors[0]["errorCode"], "E5002");
    assert_eq!(
        get(&sim, "/api/dataElements?fields=id").await.1["pager"]["total"],
        0,
        "ALL saves nothing"
    );

    let (status, body) = post(&sim, "/api/metadata?atomicMode=NONE", &payload).await;
    assert_eq!(status, 409);
    assert_eq!(body["response"]["status"], "WARNING");
    assert_eq!(body["response"]["stats"]["created"], 1);
    assert_eq!(body["response"]["stats"]["ignored"], 1);
    assert_eq!(
        get(&sim, "/api/dataElements?fields=id").await.1["pager"]["total"],
        1
    );

    // A dry run reports but keeps nothing; the same data then commits as an update.
    let good = json!({"dataElements": [payload["dataElements"][0]]});
    let (status, body) = post(&sim, "/api/metadata?importMode=VALIDATE", &good).await;
    assert_eq!(
        (status, body["response"]["stats"]["updated"].clone()),
        (200, json!(1))
    );

    // /api/37 still answers with the plain report in 2.41.
    let (_, plain) = post(&sim, "/api/37/metadata", &good).await;
    assert_eq!(plain["status"], "OK");
    assert!(plain.get("response").is_none() && plain.get("importParams").is_some());

    // Delete: the object goes and /api/deletedObjects records it.
    let (status, body) = post(
        &sim,
        "/api/metadata?importStrategy=DELETE",
        &json!({"dataElements": [{"id": "deGoodAAAAA"}]}),
    )
    .await;
    assert_eq!(
        (status, body["response"]["stats"]["deleted"].clone()),
        (200, json!(1))
    );
    let (_, deleted) = get(&sim, "/api/deletedObjects?klass=DataElement").await;
    assert_eq!(deleted["deletedObjects"][0]["uid"], "deGoodAAAAA");
}

#[tokio::test]
async fn data_value_import_reports_conflicts_and_soft_deletes() {
    let sim = SimProcess::start(&["--seed", "7"]);
    let (_, sets) = get(&sim, "/api/dataSets?fields=id,dataSetElements[dataElement[id]],organisationUnits[id]&paging=false").await;
    let ds = &sets["dataSets"][0];
    let de = ds["dataSetElements"][0]["dataElement"]["id"]
        .as_str()
        .unwrap();
    let ou = ds["organisationUnits"][0]["id"].as_str().unwrap();
    let value = |v: &str| {
        json!({"dataElement": de, "period": "190001", "orgUnit": ou,
                                 "categoryOptionCombo": "HllvX50cXC0", "value": v})
    };
    let (status, body) = post(
        &sim,
        "/api/dataValueSets",
        &json!({"dataValues": [value("5")]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Note: default COC may not match the element's combo; the sim checks existence only.
    assert_eq!(body["response"]["importCount"]["imported"], 1);

    let bad = json!({"dataValues": [value("6"), {"dataElement": "noSuchDE00", "period": "190001", "orgUnit": ou, "value": "1"}]});
    let (status, body) = post(&sim, "/api/dataValueSets", &bad).await;
    assert_eq!(status, 409);
    assert_eq!(body["status"], "WARNING");
    assert_eq!(body["response"]["importCount"]["updated"], 1);
    assert_eq!(body["response"]["conflicts"][0]["errorCode"], "E7610");
    assert_eq!(body["response"]["rejectedIndexes"], json!([1]));

    let mut deleted = value("6");
    deleted["deleted"] = json!(true);
    let (_, body) = post(
        &sim,
        "/api/dataValueSets",
        &json!({"dataValues": [deleted]}),
    )
    .await;
    assert_eq!(body["response"]["importCount"]["deleted"], 1);
    let q = format!("/api/dataValueSets?dataElement={de}&orgUnit={ou}&period=190001");
    assert_eq!(get(&sim, &q).await.1["dataValues"], json!([]));
    let (_, with_deleted) = get(&sim, &format!("{q}&includeDeleted=true")).await;
    assert_eq!(with_deleted["dataValues"][0]["deleted"], true);

    // An unknown strategy is refused, not guessed.
    let (status, body) = post(
        &sim,
        "/api/dataValueSets?importStrategy=MERGE",
        &json!({"dataValues": [value("7")]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("MERGE"));

    // A query without a period or dates is refused as DHIS2 does.
    let (status, body) = get(
        &sim,
        &format!(
            "/api/dataValueSets?dataSet={}&orgUnit={ou}",
            ds["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!((status, body["errorCode"].clone()), (409, json!("E2002")));
}

#[tokio::test]
async fn tracker_envelopes_follow_the_version() {
    for (version, items_key, flat, pager) in [
        ("2.40", "instances", true, false),
        ("2.41", "trackedEntities", true, true),
        ("2.42", "trackedEntities", false, true),
    ] {
        let sim = SimProcess::start(&["--dhis2-version", version]);
        let (_, programs) = get(&sim, "/api/programs?fields=id,programType&paging=false").await;
        let program = programs["programs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["programType"] == "WITH_REGISTRATION")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = get(
            &sim,
            &format!("/api/tracker/trackedEntities?program={program}&pageSize=5&totalPages=true"),
        )
        .await;
        assert_eq!(status, 200, "{version}: {body}");
        assert_eq!(
            body[items_key].as_array().map(Vec::len),
            Some(5),
            "{version}"
        );
        assert_eq!(body.get("page").is_some(), flat, "{version}");
        assert_eq!(body.get("pager").is_some(), pager, "{version}");
        if pager {
            assert_eq!(body["pager"]["total"], 200, "{version}");
        } else {
            assert_eq!(body["total"], 200, "{version}");
        }
    }
    let sim = SimProcess::start(&["--dhis2-version", "2.42"]);
    let (status, _) = get(&sim, "/api/tracker/events?orgUnit=x&ouMode=DESCENDANTS").await;
    assert_eq!(status, 400, "2.42 removed ouMode");
}

#[tokio::test]
async fn tracker_import_sync_and_async() {
    let sim = SimProcess::start(&["--dhis2-version", "2.39"]);
    let (_, programs) = get(
        &sim,
        "/api/programs?fields=id,programType,programStages[id]&paging=false",
    )
    .await;
    let anc = programs["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["programType"] == "WITH_REGISTRATION")
        .unwrap();
    let event = json!({"events": [{"event": "evNewAAAAAA", "program": anc["id"], "programStage": anc["programStages"][0]["id"],
                                   "orgUnit": "nowhereAAAA", "occurredAt": "2024-01-01"}]});
    let (status, report) = post(&sim, "/api/tracker?async=false&atomicMode=OBJECT", &event).await;
    assert_eq!(status, 409);
    assert_eq!(report["status"], "ERROR");
    let codes: Vec<&str> = report["validationReport"]["errorReports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["errorCode"].as_str())
        .collect();
    assert!(
        codes.contains(&"E1011") && codes.contains(&"E1033"),
        "{codes:?}"
    );

    let (_, tes) = get(
        &sim,
        &format!(
            "/api/tracker/trackedEntities?program={}&pageSize=1",
            anc["id"].as_str().unwrap()
        ),
    )
    .await;
    let mut te = tes["instances"][0].clone();
    te["inactive"] = json!(true);
    let (status, job) = post(&sim, "/api/tracker", &json!({"trackedEntities": [te]})).await;
    assert_eq!(status, 200);
    let id = job["response"]["id"].as_str().unwrap();
    let (_, notes) = get(&sim, &format!("/api/tracker/jobs/{id}")).await;
    assert_eq!(notes[0]["completed"], true, "newest notification first");
    let (_, report) = get(&sim, &format!("/api/tracker/jobs/{id}/report")).await;
    assert_eq!(report["status"], "OK");
    assert_eq!(report["stats"]["updated"], 1);
    assert_eq!(
        report["bundleReport"]["status"], "OK",
        "2.39 reports carry bundleReport.status"
    );
}

#[tokio::test]
async fn mutations_bump_last_updated_and_record_deletions() {
    let sim = SimProcess::start(&["--mutate-every", "300ms"]);
    let (_, info) = get(&sim, "/api/system/info").await;
    let start = info["serverDate"].as_str().unwrap().to_string();
    // Each tick edits data elements, data values and events under one lock;
    // a deletion (of a group) comes from the third tick on (src/sim/mutate.rs):
    // once one is listed, every change asserted below has happened.
    common::eventually(
        "a deletion by --mutate-every",
        Duration::from_secs(30),
        async || {
            let (_, deleted) = get(&sim, &format!("/api/deletedObjects?deletedAt={start}")).await;
            deleted["deletedObjects"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
                .then_some(())
        },
    )
    .await;
    let (_, changed) = get(
        &sim,
        &format!("/api/dataElements?filter=lastUpdated:gt:{start}&fields=id"),
    )
    .await;
    assert!(
        changed["pager"]["total"].as_u64().unwrap() >= 1,
        "{changed}"
    );
    let (_, deleted) = get(&sim, &format!("/api/deletedObjects?deletedAt={start}")).await;
    assert!(
        !deleted["deletedObjects"].as_array().unwrap().is_empty(),
        "{deleted}"
    );
    let (_, events) = get(
        &sim,
        &format!("/api/tracker/events?updatedAfter={start}&includeDeleted=true&paging=false"),
    )
    .await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["deleted"] == true)
    );
}

#[tokio::test]
async fn same_seed_same_content() {
    let a = SimProcess::start(&["--seed", "42"]);
    let b = SimProcess::start(&["--seed", "42"]);
    let c = SimProcess::start(&["--seed", "43"]);
    let (da, db, dc) = (
        get(&a, "/api/_sim/digest").await.1,
        get(&b, "/api/_sim/digest").await.1,
        get(&c, "/api/_sim/digest").await.1,
    );
    assert_eq!(da, db);
    assert_ne!(da["resources"]["dataValues"], dc["resources"]["dataValues"]);
    assert_eq!(da["resources"]["dataValues"]["count"], 10_000);
}

#[tokio::test]
async fn injected_failures_are_5xx() {
    let sim = SimProcess::start(&["--empty", "--fail-rate", "1"]);
    let resp = http()
        .get(sim.api("/api/system/info"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert!([500, 503].contains(&resp.status().as_u16()));
    // The test aids stay reachable.
    let resp = http().get(sim.api("/api/_sim/stats")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn async_metadata_and_data_value_imports_report_through_tasks() {
    let sim = SimProcess::start(&["--empty", "--dhis2-version", "2.42"]);
    let de = json!({"dataElements": [{"id": "deAsyncAAAA", "name": "Async", "shortName": "Async",
        "valueType": "NUMBER", "domainType": "AGGREGATE", "aggregationType": "SUM",
        "categoryCombo": {"id": "bjDvmb4bfuf"}}]});
    let (status, ack) = post(&sim, "/api/metadata?async=true", &de).await;
    assert_eq!(status, 200);
    assert_eq!(ack["response"]["jobType"], "METADATA_IMPORT");
    let id = ack["response"]["id"].as_str().unwrap();
    assert_eq!(
        ack["response"]["relativeNotifierEndpoint"],
        format!("/api/system/tasks/METADATA_IMPORT/{id}")
    );
    let (_, notes) = get(&sim, &format!("/api/system/tasks/METADATA_IMPORT/{id}")).await;
    assert_eq!(notes[0]["completed"], true, "newest first");
    assert_eq!(notes.as_array().unwrap().len(), 2);
    let (_, summary) = get(
        &sim,
        &format!("/api/system/taskSummaries/METADATA_IMPORT/{id}"),
    )
    .await;
    assert_eq!(summary["status"], "OK");
    assert_eq!(summary["stats"]["created"], 1);
    assert!(summary.get("importParams").is_some(), "plain report");
    assert_eq!(
        get(&sim, "/api/dataElements?fields=id").await.1["pager"]["total"],
        1
    );

    let values = json!({"dataValues": [
        {"dataElement": "deAsyncAAAA", "period": "202401", "orgUnit": "nowhereAAAA", "value": "1"}]});
    let (_, ack) = post(&sim, "/api/dataValueSets?async=true", &values).await;
    assert_eq!(ack["response"]["jobType"], "DATAVALUE_IMPORT");
    let id = ack["response"]["id"].as_str().unwrap();
    let (_, summary) = get(
        &sim,
        &format!("/api/system/taskSummaries/DATAVALUE_IMPORT/{id}"),
    )
    .await;
    assert_eq!(summary["responseType"], "ImportSummary");
    assert_eq!(summary["conflicts"][0]["errorCode"], "E7612");
    assert_eq!(summary["importOptions"]["async"], true);

    // Unknown jobs: an empty list and an empty body, as DHIS2 answers
    // (SystemController `getTaskJsonByUid`, `getTaskSummaryJson`).
    let (status, notes) = get(&sim, "/api/system/tasks/METADATA_IMPORT/noSuchJobAA").await;
    assert_eq!((status, notes), (200, json!([])));
    let (status, summary) = get(
        &sim,
        &format!("/api/system/taskSummaries/METADATA_IMPORT/{id}"),
    )
    .await;
    assert_eq!(
        (status, summary),
        (200, Value::Null),
        "job ids are per type: an empty body"
    );
}

/// `POST /api/_sim/clock?advance=`: the server's clock goes forward (a test
/// lets time pass at the source without waiting); bad input is refused by name.
#[tokio::test]
async fn the_clock_is_put_forward_on_request() {
    let sim = SimProcess::start(&[]);
    let server_date = |info: &Value| {
        chrono::NaiveDateTime::parse_from_str(
            info["serverDate"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%S%.3f",
        )
        .unwrap()
    };
    let before = server_date(&get(&sim, "/api/system/info").await.1);
    let (status, _) = post(&sim, "/api/_sim/clock?advance=2h", &json!({})).await;
    assert_eq!(status, 200);
    let after = server_date(&get(&sim, "/api/system/info").await.1);
    let moved = after - before;
    assert!(
        moved >= chrono::Duration::hours(2) && moved < chrono::Duration::hours(3),
        "{before} → {after}"
    );
    for bad in ["soon", "25h"] {
        let (status, body) =
            post(&sim, &format!("/api/_sim/clock?advance={bad}"), &json!({})).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(bad),
            "{bad}: {body}"
        );
    }
}
