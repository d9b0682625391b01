//! The simulator's data value import validation against dhis2-core
//! (2.39.6 / 2.41.3 dxf2/datavalueset/DataValueSetImportValidator.java,
//! DefaultDataValueSetService.java; codes from dhis-api feedback/ErrorCode.java).

use crate::common::{PASSWORD, SimProcess, USER, http};
use serde_json::{Value, json};

async fn call(sim: &SimProcess, post: Option<&Value>, path: &str) -> Value {
    let req = match post {
        Some(body) => http().post(sim.api(path)).json(body),
        None => http().get(sim.api(path)),
    };
    req.basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A data element, org unit and period the generated content has.
async fn one_value(sim: &SimProcess) -> Value {
    all_values(sim).await[0].clone()
}

/// The stored value with `v`'s key (exports have no order: 2.41.3
/// SpringDataValueSetStore has no ORDER BY, and the simulator shuffles).
async fn same_value(sim: &SimProcess, v: &Value) -> Value {
    let key = [
        "dataElement",
        "period",
        "orgUnit",
        "categoryOptionCombo",
        "attributeOptionCombo",
    ];
    all_values(sim)
        .await
        .into_iter()
        .find(|x| key.iter().all(|k| x[*k] == v[*k]))
        .unwrap_or_else(|| panic!("no stored value with the key of {v}"))
}

async fn all_values(sim: &SimProcess) -> Vec<Value> {
    let sets = call(sim, None, "/api/dataSets?fields=id&paging=false").await;
    let ds = sets["dataSets"][0]["id"].as_str().unwrap().to_string();
    let roots = call(
        sim,
        None,
        "/api/organisationUnits?fields=id&paging=false&filter=level:eq:1",
    )
    .await;
    let root = roots["organisationUnits"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let export = call(
        sim,
        None,
        &format!("/api/dataValueSets.json?dataSet={ds}&orgUnit={root}&children=true&startDate=2000-01-01&endDate=2100-01-01"),
    )
    .await;
    export["dataValues"].as_array().cloned().unwrap_or_default()
}

fn summary(v: &Value) -> &Value {
    if v.get("response").is_some() {
        &v["response"]
    } else {
        v
    }
}

/// 2.40.5 DefaultDataValueSetService keeps payload `created`/`lastUpdated`;
/// 2.41.3 sets both to now (PR 14415). `storedBy` comes from the payload in
/// both (ImportContext.getStoredBy).
#[tokio::test]
async fn payload_times_kept_before_2_41_and_stored_by_always() {
    for (version, kept) in [("2.40", true), ("2.41", false)] {
        let sim = SimProcess::start(&["--dhis2-version", version, "--data-values", "50"]);
        let mut v = one_value(&sim).await;
        v["value"] = json!("7");
        v["storedBy"] = json!("someone-else");
        v["created"] = json!("2020-01-02T03:04:05.000");
        v["lastUpdated"] = json!("2020-01-02T03:04:05.000");
        let r = call(
            &sim,
            Some(&json!({"dataValues": [v.clone()]})),
            "/api/dataValueSets",
        )
        .await;
        assert_eq!(summary(&r)["importCount"]["updated"], 1, "{version}: {r:#}");
        let after = same_value(&sim, &v).await;
        // The payload's local time (Africa/Nairobi, UTC+3) comes back in
        // UTC, as exports write it (WriteDateStdSerializer).
        let sent_in_utc = "2020-01-02T00:04:05.000+0000";
        assert_eq!(after["value"], "7", "{version}");
        assert_eq!(after["storedBy"], "someone-else", "{version}");
        assert_eq!(
            after["lastUpdated"] == sent_in_utc,
            kept,
            "{version}: {after:#}"
        );
        assert_eq!(after["created"] == sent_in_utc, kept, "{version}");
    }
}

/// E7619 (value type), E7640 (expired, only without F_EDIT_EXPIRED), grouped
/// as ImportSummary.addConflict groups them (code + objects, many indexes);
/// ignored counts each refused value once.
#[tokio::test]
async fn value_type_and_expired_periods_with_grouped_conflicts() {
    let sim = SimProcess::start(&[
        "--data-values",
        "50",
        "--expiry-days",
        "10",
        "--authorities",
        "F_DATAVALUE_ADD",
    ]);
    let base = one_value(&sim).await;
    let mut bad = base.clone();
    bad["value"] = json!("-3"); // INTEGER_ZERO_OR_POSITIVE
    let mut a = base.clone();
    a["value"] = json!("1");
    let mut b = base.clone();
    b["value"] = json!("2");
    let r = call(
        &sim,
        Some(&json!({"dataValues": [bad, a, b]})),
        "/api/dataValueSets",
    )
    .await;
    let s = summary(&r);
    assert_eq!(s["status"], "WARNING", "{r:#}");
    assert_eq!(s["importCount"]["ignored"], 3, "{r:#}");
    assert_eq!(s["rejectedIndexes"], json!([0, 1, 2]), "{r:#}");
    let conflicts = s["conflicts"].as_array().unwrap();
    let type_conflict = conflicts
        .iter()
        .find(|c| c["errorCode"] == "E7619")
        .expect("E7619");
    assert_eq!(type_conflict["indexes"], json!([0]));
    assert_eq!(
        type_conflict["value"],
        format!(
            "Value must match value type of data element `{}`: `value_not_zero_or_positive_integer`",
            base["dataElement"].as_str().unwrap()
        )
    );
    let expired = conflicts
        .iter()
        .find(|c| c["errorCode"] == "E7640")
        .expect("E7640");
    assert_eq!(
        expired["indexes"],
        json!([1, 2]),
        "one conflict for both: {r:#}"
    );
    assert!(expired["value"].as_str().unwrap().starts_with(&format!(
        "Current date is past expiry days for period: `{}`  and data set: `",
        base["period"].as_str().unwrap()
    )));

    // A superuser (the default account) may edit expired periods.
    let admin = SimProcess::start(&["--data-values", "50", "--expiry-days", "10"]);
    let mut v = one_value(&admin).await;
    v["value"] = json!("1");
    let r = call(
        &admin,
        Some(&json!({"dataValues": [v]})),
        "/api/dataValueSets",
    )
    .await;
    assert_eq!(summary(&r)["status"], "SUCCESS", "{r:#}");
}

/// An org unit not assigned to the data set in the payload's header is
/// accepted; only `strictOrganisationUnits=true` refuses it (E7636,
/// DataValueSetImportValidator.checkDataValueStrictOrgUnits).
#[tokio::test]
async fn unassigned_org_units_refused_only_when_strict() {
    let sim = SimProcess::start(&["--data-values", "50"]);
    let sets = call(
        &sim,
        None,
        "/api/dataSets?fields=id,organisationUnits[id],dataSetElements[dataElement[id]]&paging=false",
    )
    .await;
    let ds = sets["dataSets"]
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|d| d["organisationUnits"].as_array().unwrap().len())
        .unwrap()
        .clone();
    let assigned: Vec<&str> = ds["organisationUnits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    let units = call(
        &sim,
        None,
        "/api/organisationUnits?fields=id&paging=false&filter=level:eq:4",
    )
    .await;
    let outsider = units["organisationUnits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .find(|id| !assigned.contains(id))
        .expect("an unassigned facility");
    let de = ds["dataSetElements"][0]["dataElement"]["id"]
        .as_str()
        .unwrap();
    let body = json!({"dataSet": ds["id"], "dataValues": [
        {"dataElement": de, "period": "202506", "orgUnit": outsider, "value": "4"}]});
    let strict = call(
        &sim,
        Some(&body),
        "/api/dataValueSets?strictOrganisationUnits=true",
    )
    .await;
    let s = summary(&strict);
    assert_eq!(s["importCount"]["ignored"], 1, "{strict:#}");
    assert_eq!(s["conflicts"][0]["errorCode"], "E7636", "{strict:#}");
    assert_eq!(
        s["conflicts"][0]["value"],
        format!(
            "Data element: `{de}` must be assigned through data sets to organisation unit: `{outsider}`"
        )
    );
    let lenient = call(&sim, Some(&body), "/api/dataValueSets").await;
    assert_eq!(
        summary(&lenient)["importCount"]["imported"],
        1,
        "{lenient:#}"
    );
}

/// POSTs a data value set; the HTTP status and the body.
async fn post_status(sim: &SimProcess, path: &str, body: &Value) -> (u16, Value) {
    let r = http()
        .post(sim.api(path))
        .json(body)
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// The data set holding `de` (each generated data element is in one).
async fn data_set_of(sim: &SimProcess, de: &str) -> String {
    let sets = call(
        sim,
        None,
        "/api/dataSets?fields=id,dataSetElements[dataElement[id]]&paging=false",
    )
    .await;
    sets["dataSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["dataSetElements"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["dataElement"]["id"] == de)
        })
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no data set holds {de}: {sets:#}"))
        .to_string()
}

/// Approved data (E7642): dhis2-core 2.39.6, 2.40.5, 2.41.3 and 2.42.1 (the
/// same code) dhis-2/dhis-services/dhis-service-dxf2/src/main/java/org/hisp/dhis/dxf2/datavalueset/DataValueSetImportValidator.java
/// `checkDataValueNotAlreadyApproved` refuses a value whose target data set's
/// workflow has approved its period, org unit (through its ancestor at the
/// approval level, dhis-api dataapproval/DataApproval.getLowestApproval) and
/// attribute option combo; the conflict is DataValueImportConflict
/// VALUE_ALREADY_APPROVED (objects organisationUnit, period,
/// categoryOptionCombo = the AOC, dataSet; no property) with ErrorCode E7642's
/// text. `force=true` skips it for a superuser only (InputUtils.canForceDataInput),
/// and `strictDataSetApproval=false` cannot loosen it: the system setting
/// keyDataImportStrictDataSetApproval is ORed in and defaults to true.
#[tokio::test]
async fn approved_periods_refuse_values_unless_forced() {
    let sim = SimProcess::start(&["--data-values", "50", "--approved-periods", "202403,2024Q2"]);
    let base = one_value(&sim).await;
    let (de, ou, aoc) = (
        base["dataElement"].as_str().unwrap().to_string(),
        base["orgUnit"].as_str().unwrap().to_string(),
        base["attributeOptionCombo"].as_str().unwrap().to_string(),
    );
    let ds = data_set_of(&sim, &de).await;
    let at = |period: &str, value: &str| {
        let mut v = base.clone();
        v["period"] = json!(period);
        v["value"] = json!(value);
        for k in ["created", "lastUpdated", "storedBy", "comment", "followup"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    let before = all_values(&sim).await.into_iter().find(|x| {
        x["dataElement"] == de.as_str()
            && x["period"] == "202403"
            && x["orgUnit"] == ou.as_str()
            && x["categoryOptionCombo"] == base["categoryOptionCombo"]
            && x["attributeOptionCombo"] == aoc.as_str()
    });

    // Refused: 409, WARNING, one conflict with DHIS2's text and objects.
    let refused = at("202403", "9137");
    let body = json!({"dataValues": [refused.clone()]});
    let (status, r) = post_status(&sim, "/api/dataValueSets", &body).await;
    assert_eq!(status, 409, "{r:#}");
    assert_eq!(r["status"], "WARNING", "{r:#}");
    let s = summary(&r);
    assert_eq!(s["status"], "WARNING", "{r:#}");
    assert_eq!(
        s["importCount"],
        json!({"imported": 0, "updated": 0, "ignored": 1, "deleted": 0}),
        "{r:#}"
    );
    assert_eq!(s["rejectedIndexes"], json!([0]), "{r:#}");
    assert_eq!(
        s["conflicts"],
        json!([{
            "object": ou,
            "objects": {"organisationUnit": ou, "period": "202403", "categoryOptionCombo": aoc, "dataSet": ds},
            "value": format!("Data already approved for data set: `{ds}` period: `202403` org unit: `{ou}` attribute option combo: `{aoc}`"),
            "errorCode": "E7642",
            "indexes": [0],
        }]),
        "{r:#}"
    );
    let after = all_values(&sim).await.into_iter().find(|x| {
        x["dataElement"] == de.as_str()
            && x["period"] == "202403"
            && x["orgUnit"] == ou.as_str()
            && x["categoryOptionCombo"] == base["categoryOptionCombo"]
            && x["attributeOptionCombo"] == aoc.as_str()
    });
    assert_eq!(after, before, "the refused value was not stored");

    // `strictDataSetApproval=false` changes nothing (the stock setting is strict).
    let (status, r) = post_status(
        &sim,
        "/api/dataValueSets?strictDataSetApproval=false",
        &body,
    )
    .await;
    assert_eq!(status, 409, "{r:#}");
    assert_eq!(summary(&r)["conflicts"][0]["errorCode"], "E7642", "{r:#}");

    // Periods match exactly (2.41.3 HibernateDataApprovalStore
    // dataApprovalExistsInternal looks the period itself up): 2024Q2 approved
    // leaves 202404 open.
    let open = at("202404", "9138");
    let (status, r) = post_status(
        &sim,
        "/api/dataValueSets",
        &json!({"dataValues": [open.clone()]}),
    )
    .await;
    assert_eq!(
        (status, summary(&r)["status"].clone()),
        (200, json!("SUCCESS")),
        "{r:#}"
    );
    assert_eq!(same_value(&sim, &open).await["value"], "9138");

    // A superuser's force=true imports the approved period's value.
    let (status, r) = post_status(&sim, "/api/dataValueSets?force=true", &body).await;
    assert_eq!(
        (status, summary(&r)["status"].clone()),
        (200, json!("SUCCESS")),
        "{r:#}"
    );
    assert_eq!(same_value(&sim, &refused).await["value"], "9137");

    // The workflow is internal: no approval metadata is served.
    let workflows = call(&sim, None, "/api/dataApprovalWorkflows?paging=false").await;
    assert_eq!(
        workflows["dataApprovalWorkflows"],
        json!([]),
        "{workflows:#}"
    );

    // Without ALL, force=true is not honoured.
    let user = SimProcess::start(&[
        "--data-values",
        "50",
        "--approved-periods",
        "202403",
        "--authorities",
        "F_DATAVALUE_ADD",
    ]);
    let v = at("202403", "9139");
    let (status, r) = post_status(
        &user,
        "/api/dataValueSets?force=true",
        &json!({"dataValues": [v]}),
    )
    .await;
    assert_eq!(status, 409, "{r:#}");
    assert_eq!(summary(&r)["conflicts"][0]["errorCode"], "E7642", "{r:#}");
}
