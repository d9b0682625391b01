//! The simulator's data value import validation against dhis2-core
//! (2.39.6 / 2.41.3 dxf2/datavalueset/DataValueSetImportValidator.java,
//! DefaultDataValueSetService.java; codes from dhis-api feedback/ErrorCode.java).

mod common;

use common::{PASSWORD, SimProcess, USER, http};
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
