//! Conflicts that never heal, end to end through the real binary: a
//! destination that refuses values of expired periods (E7640, 2.41.3
//! dxf2/datavalueset/DataValueSetImportValidator.checkDataValueDataSetIsNotLocked;
//! DataSet.isLocked in dhis-api) gets each of them once; they are recorded as
//! permanent rejections, the job completes with errors = N, the watermark moves
//! and the next run re-sends none of them. The same for values of approved
//! periods (E7642, DataValueSetImportValidator.checkDataValueNotAlreadyApproved,
//! the same in 2.39.6-2.42.1).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::Value;

use crate::common;
use crate::common::binary::Syncdeck;
use crate::common::{PASSWORD, SimProcess, USER, http};

async fn get(sim: &SimProcess, path: &str) -> Value {
    http()
        .get(sim.api(path))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The source's values, as its own export lists them.
async fn source_values(source: &SimProcess) -> Vec<Value> {
    let sets = get(source, "/api/dataSets?fields=id&paging=false").await;
    let roots = get(
        source,
        "/api/organisationUnits?fields=id&paging=false&filter=level:eq:1",
    )
    .await;
    let mut q = String::from(
        "/api/dataValueSets.json?startDate=2000-01-01&endDate=2100-12-31&children=true",
    );
    for s in sets["dataSets"].as_array().unwrap() {
        q.push_str(&format!("&dataSet={}", s["id"].as_str().unwrap()));
    }
    for r in roots["organisationUnits"].as_array().unwrap() {
        q.push_str(&format!("&orgUnit={}", r["id"].as_str().unwrap()));
    }
    get(source, &q).await["dataValues"]
        .as_array()
        .unwrap()
        .clone()
}

/// `POST /api/dataValueSets…` requests a simulator received.
async fn data_value_posts(sim: &SimProcess) -> u64 {
    let stats: Value = http()
        .get(sim.api("/api/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("POST /api/dataValueSets"))
        .filter_map(|(_, v)| v.as_u64())
        .sum()
}

fn data_value_resources(result: &Value) -> Vec<&Value> {
    result["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["resource"].as_str().unwrap().starts_with("dataValues:"))
        .collect()
}

fn month_end(iso: &str) -> NaiveDate {
    let (y, m): (i32, u32) = (iso[..4].parse().unwrap(), iso[4..6].parse().unwrap());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.unwrap().pred_opt().unwrap()
}

#[tokio::test]
async fn expired_periods_are_refused_once_recorded_and_not_sent_again() {
    // Generated periods are the 24 months of 2024-2025: let those ending
    // before 2025-06-15 be expired today (the simulator's clock is UTC+3; the
    // cut is two weeks from any period end, so a day's difference between the
    // test's date and the simulator's changes nothing).
    let cut = NaiveDate::from_ymd_opt(2025, 6, 15).unwrap();
    let today = (chrono::Utc::now() + chrono::Duration::hours(3)).date_naive();
    let expiry = (today - cut).num_days();
    let expiry_arg = expiry.to_string();
    let source = SimProcess::start(&[
        "--seed",
        "31",
        "--data-values",
        "300",
        "--expiry-days",
        &expiry_arg,
    ]);
    // A destination user without F_EDIT_EXPIRED (and without ALL).
    let dest = SimProcess::start(&["--empty", "--authorities", "F_DATAVALUE_ADD"]);

    let values = source_values(&source).await;
    assert_eq!(values.len(), 300, "the source's export");
    let expired: Vec<&Value> = values
        .iter()
        .filter(|v| {
            month_end(v["period"].as_str().unwrap()) + chrono::Duration::days(expiry) < today
        })
        .collect();
    let n = expired.len() as u64;
    assert!(n > 0 && n < 300, "a mix of expired and open periods: {n}");

    let sd = Syncdeck::sqlite();
    let path = sd.dir.path().join("syncdeck.toml");
    std::fs::write(&path, common::copy_config(&source, &dest, "30m", "")).unwrap();
    sd.ok(&["apply", "-f", path.to_str().unwrap()]);

    // First run: every expired value refused once, the rest synced.
    let first = sd.json(&["trigger", "copy", "--wait"]);
    assert_eq!(first["job"]["state"], "completed", "{first:#}");
    let dv = data_value_resources(&first);
    let errors: u64 = dv.iter().map(|r| r["errors"].as_u64().unwrap()).sum();
    let synced: u64 = dv.iter().map(|r| r["synced"].as_u64().unwrap()).sum();
    assert_eq!(errors, n, "{first:#}");
    assert_eq!(synced, 300 - n, "{first:#}");
    assert_eq!(
        first["job"]["progress"]["errors"].as_u64(),
        Some(n),
        "{first:#}"
    );
    let job = first["job"]["id"].as_i64().unwrap();

    // Recorded: one permanent E7640 per refused value, keyed by the value.
    let listed = sd.json(&["jobs", "show", &job.to_string(), "--rejections"]);
    let rows = listed["rejections"].as_array().unwrap();
    assert_eq!(rows.len() as u64, n, "{listed:#}");
    let expected: BTreeMap<String, ()> = expired
        .iter()
        .map(|v| {
            let key = format!(
                "{}/{}/{}/{}/{}",
                v["dataElement"].as_str().unwrap(),
                v["period"].as_str().unwrap(),
                v["orgUnit"].as_str().unwrap(),
                v["categoryOptionCombo"].as_str().unwrap(),
                v["attributeOptionCombo"].as_str().unwrap()
            );
            (key, ())
        })
        .collect();
    for r in rows {
        assert_eq!(r["error_code"], "E7640", "{r:#}");
        assert_eq!(r["class"], "permanent", "{r:#}");
        assert_eq!(r["times_seen"], 1, "{r:#}");
        let message = r["message"].as_str().unwrap();
        assert!(
            message.starts_with("Current date is past expiry days for period: `"),
            "{message}"
        );
        assert!(
            expected.contains_key(r["object_key"].as_str().unwrap()),
            "{r:#} is not one of the expired values"
        );
    }
    let text = sd.ok(&["jobs", "show", &job.to_string(), "--rejections"]);
    assert!(text.contains(&format!("{n} permanent")), "{text}");
    assert!(
        text.contains("E7640") && text.contains("past expiry days"),
        "{text}"
    );

    // Second run: nothing re-sent (the watermarks moved past the refusals).
    let posts_before = data_value_posts(&dest).await;
    let second = sd.json(&["trigger", "copy", "--wait"]);
    assert_eq!(second["job"]["state"], "completed", "{second:#}");
    let dv = data_value_resources(&second);
    let processed: u64 = dv
        .iter()
        .map(|r| r["processed"].as_u64().unwrap_or(0))
        .sum();
    let errors: u64 = dv.iter().map(|r| r["errors"].as_u64().unwrap()).sum();
    assert_eq!((processed, errors), (0, 0), "{second:#}");
    assert_eq!(
        data_value_posts(&dest).await,
        posts_before,
        "no data value import reached the destination on the second run"
    );
    let again = sd.json(&[
        "jobs",
        "show",
        &second["job"]["id"].as_i64().unwrap().to_string(),
        "--rejections",
    ]);
    assert_eq!(
        again["rejections"].as_array().unwrap().len(),
        0,
        "{again:#}"
    );
}

fn value_key(v: &Value) -> String {
    [
        "dataElement",
        "period",
        "orgUnit",
        "categoryOptionCombo",
        "attributeOptionCombo",
    ]
    .map(|k| v[k].as_str().unwrap())
    .join("/")
}

/// A destination whose data sets have an approval workflow that approved two
/// months (`--approved-periods`): the values of those months are refused
/// once each (E7642, permanent), the rest synced, and none is sent again.
#[tokio::test]
async fn approved_periods_are_refused_once_as_permanent_e7642() {
    let source = SimProcess::start(&["--seed", "31", "--data-values", "300"]);
    let dest = SimProcess::start(&["--empty", "--approved-periods", "202403,202411"]);
    let values = source_values(&source).await;
    assert_eq!(values.len(), 300, "the source's export");
    let approved: BTreeSet<String> = values
        .iter()
        .filter(|v| ["202403", "202411"].contains(&v["period"].as_str().unwrap()))
        .map(value_key)
        .collect();
    let n = approved.len() as u64;
    assert!(n > 0 && n < 300, "a mix of approved and open periods: {n}");

    let sd = Syncdeck::sqlite();
    let path = sd.dir.path().join("syncdeck.toml");
    std::fs::write(&path, common::copy_config(&source, &dest, "30m", "")).unwrap();
    sd.ok(&["apply", "-f", path.to_str().unwrap()]);

    let first = sd.json(&["trigger", "copy", "--wait"]);
    assert_eq!(first["job"]["state"], "completed", "{first:#}");
    let dv = data_value_resources(&first);
    let errors: u64 = dv.iter().map(|r| r["errors"].as_u64().unwrap()).sum();
    let synced: u64 = dv.iter().map(|r| r["synced"].as_u64().unwrap()).sum();
    assert_eq!((errors, synced), (n, 300 - n), "{first:#}");
    let job = first["job"]["id"].as_i64().unwrap().to_string();
    let listed = sd.json(&["jobs", "show", &job, "--rejections"]);
    let rows = listed["rejections"].as_array().unwrap();
    let keys: BTreeSet<String> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["error_code"], "E7642", "{r:#}");
            assert_eq!(r["class"], "permanent", "{r:#}");
            assert_eq!(r["times_seen"], 1, "{r:#}");
            let message = r["message"].as_str().unwrap();
            assert!(
                message.starts_with("Data already approved for data set: `"),
                "{message}"
            );
            r["object_key"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        keys, approved,
        "one rejection per value of an approved period"
    );

    let posts_before = data_value_posts(&dest).await;
    let second = sd.json(&["trigger", "copy", "--wait"]);
    assert_eq!(second["job"]["state"], "completed", "{second:#}");
    let errors: u64 = data_value_resources(&second)
        .iter()
        .map(|r| r["errors"].as_u64().unwrap())
        .sum();
    assert_eq!(errors, 0, "{second:#}");
    assert_eq!(
        data_value_posts(&dest).await,
        posts_before,
        "no data value import reached the destination on the second run"
    );
}
