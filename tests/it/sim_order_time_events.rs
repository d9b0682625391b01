//! Simulator conformance for issue 15, points 3-5: unordered exports, the
//! server's time zone, and the events `orgUnit` parameter. Checked over HTTP
//! without our client; each test cites the dhis2-core source it follows.

use crate::common::get_json as get;
use crate::common::{PASSWORD, SimProcess, USER, http};
use chrono::{NaiveDateTime, Utc};
use serde_json::{Value, json};

async fn first_id(sim: &SimProcess, path: &str) -> String {
    let (status, body) = get(sim, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    let list = body
        .as_object()
        .unwrap()
        .values()
        .find_map(Value::as_array)
        .unwrap();
    list[0]["id"].as_str().unwrap().to_string()
}

async fn roots(sim: &SimProcess) -> Vec<String> {
    let (_, body) = get(
        sim,
        "/api/organisationUnits?filter=level:eq:1&fields=id&paging=false",
    )
    .await;
    body["organisationUnits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

/// The value keys of a `dataValueSets` export, in the order sent.
fn keys(body: &Value) -> Vec<String> {
    body["dataValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{}/{}/{}/{}/{}",
                v["dataElement"],
                v["period"],
                v["orgUnit"],
                v["categoryOptionCombo"],
                v["attributeOptionCombo"]
            )
        })
        .collect()
}

async fn export_path(sim: &SimProcess) -> String {
    let ds = first_id(sim, "/api/dataSets?fields=id").await;
    let root = roots(sim).await.remove(0);
    format!(
        "/api/dataValueSets.json?dataSet={ds}&orgUnit={root}&children=true&startDate=1900-01-01&endDate=2100-12-31"
    )
}

// 2.41.3 dxf2/datavalueset/SpringDataValueSetStore.java getDataValueSql: no
// ORDER BY (also 2.39.6, 2.40.5, 2.42.1); only the paged full export of
// exportDataValueSetJson(…, pageSize, page) orders. Row order is the
// database's: the simulator shuffles it per request, deterministically in the
// seed and the request count.
#[tokio::test]
async fn data_value_exports_come_in_a_new_order_each_request_deterministic_per_seed() {
    let a = SimProcess::start(&["--seed", "3"]);
    let b = SimProcess::start(&["--seed", "3"]);
    let path = export_path(&a).await;
    let (s1, first) = get(&a, &path).await;
    let (s2, second) = get(&a, &path).await;
    assert_eq!((s1, s2), (200, 200));
    let (k1, k2) = (keys(&first), keys(&second));
    assert!(k1.len() > 100, "{} values", k1.len());
    assert_ne!(k1, k2, "two requests, one order");
    let (mut s1, mut s2) = (k1.clone(), k2.clone());
    s1.sort();
    s2.sort();
    assert_eq!(s1, s2, "the same values, in another order");
    // Same seed, same request count: the same order.
    assert_eq!(keys(&get(&b, &path).await.1), k1);
    assert_eq!(keys(&get(&b, &path).await.1), k2);
}

// 2.41.3 deletedobject/hibernate/HibernateDeletedObjectStore.query: offset
// paging (setFirstResult/setMaxResults) without an ORDER BY; `paging=false`
// (DeletedObjectQuery.isSkipPaging, 2.39.6-2.42.1) returns the whole list.
#[tokio::test]
async fn deleted_objects_come_in_a_new_order_each_request() {
    let sim = SimProcess::start(&["--seed", "4"]);
    let (status, _) = {
        let resp = http()
            .post(sim.api("/api/_sim/mutate?rounds=12"))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), ())
    };
    assert_eq!(status, 200);
    let uids = |body: &Value| -> Vec<String> {
        body["deletedObjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{}:{}", d["klass"], d["uid"]))
            .collect()
    };
    let (_, first) = get(&sim, "/api/deletedObjects?paging=false").await;
    let (_, second) = get(&sim, "/api/deletedObjects?paging=false").await;
    let (a, b) = (uids(&first), uids(&second));
    assert!(a.len() >= 10, "{a:?}");
    assert!(first.get("pager").is_none(), "paging=false has no pager");
    assert_ne!(a, b, "two requests, one order");
    let (mut sa, mut sb) = (a.clone(), b.clone());
    sa.sort();
    sb.sort();
    assert_eq!(sa, sb);
    // Offset pages of separate requests need not partition the list.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let (_, body) = get(&sim, &format!("/api/deletedObjects?pageSize=5&page={page}")).await;
        paged.extend(uids(&body));
    }
    paged.sort();
    paged.dedup();
    println!(
        "3 pages of 5 from separate requests held {} of {} distinct entries",
        paged.len(),
        a.len()
    );
}

fn parse_local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f").unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Writes one value now and returns its key parameters and the export path.
async fn write_value_now(sim: &SimProcess) -> (String, Value) {
    let path = export_path(sim).await;
    let (_, body) = get(sim, &path).await;
    let mut v = body["dataValues"][0].clone();
    v["value"] = json!("987654");
    let resp = http()
        .post(sim.api("/api/dataValueSets"))
        .basic_auth(USER, Some(PASSWORD))
        .json(&json!({"dataValues": [v.clone()]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let narrow = format!(
        "/api/dataValueSets.json?dataElement={}&orgUnit={}&period={}",
        v["dataElement"].as_str().unwrap(),
        v["orgUnit"].as_str().unwrap(),
        v["period"].as_str().unwrap()
    );
    (narrow, v)
}

async fn written(sim: &SimProcess, path: &str, v: &Value) -> Option<Value> {
    let (status, body) = get(sim, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["dataValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["categoryOptionCombo"] == v["categoryOptionCombo"]
                && d["attributeOptionCombo"] == v["attributeOptionCombo"]
                && d["value"] == "987654"
        })
        .cloned()
}

// `serverDate` is local without offset (2.41.3 system/SystemInfo.java `Date
// serverDate`, written by commons/jackson/config/WriteDateStdSerializer ->
// DateUtils.toIso8601NoTz in the JVM zone); exported `created`/`lastUpdated`
// are UTC with `+0000` (SpringDataValueSetStore getLastUpdated ->
// DateUtils.toLongGmtDate; getLongGmtDateString in 2.39.6/2.40.5); the
// `lastUpdated` filter is parsed in the server zone and written into SQL as a
// UTC string (`toLongGmtDate`) against `dv.lastupdated`, a timestamp without
// time zone in local time; `lastUpdatedDuration` is subtracted from the local
// clock (DateUtils.nowMinusDuration: LocalDateTime.now() taken as UTC, printed
// back by toLongGmtDate unchanged).
#[tokio::test]
async fn west_of_utc_the_last_updated_filter_misses_the_last_offset_hours() {
    let sim = SimProcess::start(&["--seed", "5", "--time-zone", "America/Bogota"]);
    let (_, info) = get(&sim, "/api/system/info").await;
    assert_eq!(info["serverTimeZoneId"], "America/Bogota");
    let server_date = parse_local(info["serverDate"].as_str().unwrap());
    let utc_now = Utc::now().naive_utc();
    let skew = (utc_now - chrono::Duration::hours(5) - server_date)
        .num_seconds()
        .abs();
    assert!(
        skew < 120,
        "serverDate {server_date} is not UTC-5 of {utc_now}"
    );

    let (narrow, v) = write_value_now(&sim).await;
    // `narrow` names its period, so no start/end dates (both at once is E2003).
    let mut stored = written(&sim, &narrow, &v)
        .await
        .expect("the value was written");
    let stamp = stored["lastUpdated"].take();
    let stamp = stamp.as_str().unwrap();
    let utc = parse_local(
        stamp
            .strip_suffix("+0000")
            .unwrap_or_else(|| panic!("no +0000: {stamp}")),
    );
    assert!(
        (utc - utc_now).num_seconds().abs() < 120,
        "lastUpdated {stamp} is not UTC now {utc_now}"
    );

    // One minute before now, in the server's own local time: DHIS2 compares it
    // as UTC (five hours later than local), so the value just written is missed.
    let a_minute_ago =
        (server_date - chrono::Duration::seconds(60)).format("%Y-%m-%dT%H:%M:%S%.3f");
    let by_time = format!("{narrow}&lastUpdated={a_minute_ago}");
    assert!(
        written(&sim, &by_time, &v).await.is_none(),
        "west of UTC, lastUpdated misses the last 5 hours"
    );
    // Only a bound more than the offset (5 h) back catches it.
    let six_hours_ago = (server_date - chrono::Duration::hours(6)).format("%Y-%m-%dT%H:%M:%S%.3f");
    assert!(
        written(&sim, &format!("{narrow}&lastUpdated={six_hours_ago}"), &v)
            .await
            .is_some()
    );
    // The duration is measured on the local clock: found.
    assert!(
        written(&sim, &format!("{narrow}&lastUpdatedDuration=120s"), &v)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn east_of_utc_the_last_updated_filter_reaches_back_by_the_offset() {
    let sim = SimProcess::start(&["--seed", "5", "--time-zone", "Africa/Nairobi"]);
    let (_, info) = get(&sim, "/api/system/info").await;
    assert_eq!(info["serverTimeZoneId"], "Africa/Nairobi");
    let server_date = parse_local(info["serverDate"].as_str().unwrap());
    let (narrow, v) = write_value_now(&sim).await;
    // An hour *ahead* of local now: compared as UTC it is two hours ago.
    let ahead = (server_date + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S%.3f");
    assert!(
        written(&sim, &format!("{narrow}&lastUpdated={ahead}"), &v)
            .await
            .is_some()
    );
    let far_ahead = (server_date + chrono::Duration::hours(4)).format("%Y-%m-%dT%H:%M:%S%.3f");
    assert!(
        written(&sim, &format!("{narrow}&lastUpdated={far_ahead}"), &v)
            .await
            .is_none()
    );
    // A bound with an explicit offset is an instant: 1 minute ago in UTC is
    // still compared as a UTC wall time (3 hours before local): found.
    let utc_minute_ago =
        (Utc::now() - chrono::Duration::seconds(60)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
    assert!(
        written(&sim, &format!("{narrow}&lastUpdated={utc_minute_ago}"), &v)
            .await
            .is_some()
    );
    assert!(
        written(&sim, &format!("{narrow}&lastUpdatedDuration=120s"), &v)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn unsupported_time_zones_are_refused_with_the_list() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .args(["sim", "--port", "0", "--time-zone", "Europe/Oslo"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Europe/Oslo") && err.contains("America/Bogota"),
        "{err}"
    );
}

// Events take one org unit UID in every version. 2.39.6 and 2.40.5:
// webapi/controller/tracker/export/TrackerEventCriteria.java `String orgUnit`,
// looked up whole in TrackerEventCriteriaMapper.validateOrgUnit: "Org unit is
// specified but does not exist" (IllegalQueryException -> 409 in 2.39.6,
// BadRequestException -> 400 in 2.40.5). 2.41.3/2.42.1:
// export/event/EventRequestParams.java `UID orgUnit`: `a;b` is not a UID (400).
#[tokio::test]
async fn events_take_a_single_org_unit_per_version() {
    for (version, status) in [("2.39", 409), ("2.40", 400), ("2.41", 400), ("2.42", 400)] {
        let sim = SimProcess::start(&[
            "--seed",
            "2",
            "--dhis2-version",
            version,
            "--root-org-units",
            "2",
        ]);
        let roots = roots(&sim).await;
        assert_eq!(roots.len(), 2, "{version}: {roots:?}");
        let program = first_id(
            &sim,
            "/api/programs?fields=id&filter=programType:eq:WITHOUT_REGISTRATION",
        )
        .await;
        let mode = if version >= "2.41" {
            "orgUnitMode"
        } else {
            "ouMode"
        };
        let both = format!(
            "/api/tracker/events?program={program}&orgUnit={};{}&{mode}=DESCENDANTS",
            roots[0], roots[1]
        );
        let (got, body) = get(&sim, &both).await;
        assert_eq!(got, status, "{version}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        if version < "2.41" {
            assert!(
                message.starts_with("Org unit is specified but does not exist"),
                "{version}: {message}"
            );
        } else {
            assert!(message.contains("UID"), "{version}: {message}");
        }
        let mut total = 0;
        for root in &roots {
            let one = format!(
                "/api/tracker/events?program={program}&orgUnit={root}&{mode}=DESCENDANTS&pageSize=1&totalPages=true"
            );
            let (got, body) = get(&sim, &one).await;
            assert_eq!(got, 200, "{version}: {body}");
            let n = body["pager"]["total"]
                .as_u64()
                .or(body["total"].as_u64())
                .unwrap_or(0);
            assert!(n > 0, "{version}: root {root} has events: {body}");
            total += n;
        }
        println!("{version}: {total} events under two roots");
    }
}
