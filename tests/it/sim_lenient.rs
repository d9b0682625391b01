//! Simulator conformance for issue 15, points 7 and 8: the server is as
//! lenient as DHIS2 (suffixes, trailing slashes, unknown parameters and UIDs,
//! enum fallbacks) and its smaller answers have DHIS2's shapes. Checked over
//! HTTP without our client; each test cites the dhis2-core source it follows
//! (`webapi/` is dhis-2/dhis-web-api/src/main/java/org/hisp/dhis/webapi/,
//! `dxf2/` is dhis-2/dhis-services/dhis-service-dxf2/src/main/java/org/hisp/dhis/dxf2/).

use std::io::Read;

use crate::common::{PASSWORD, SimProcess, USER, http};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        bytes: resp.bytes().await.unwrap().to_vec(),
    }
}

async fn get(sim: &SimProcess, path: &str) -> Answer {
    send(http().get(sim.api(path))).await
}

async fn post(sim: &SimProcess, path: &str, body: &Value) -> Answer {
    send(http().post(sim.api(path)).json(body)).await
}

fn version(v: &str, extra: &[&str]) -> SimProcess {
    let mut args = vec!["--seed", "7", "--dhis2-version", v];
    args.extend_from_slice(extra);
    SimProcess::start(&args)
}

async fn ids(sim: &SimProcess, path: &str, key: &str) -> Vec<String> {
    let a = get(sim, path).await;
    assert_eq!(a.status, 200, "{path}: {}", a.json());
    a.json()[key]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no {key}: {}", a.json()))
        .iter()
        .map(|o| {
            o["id"]
                .as_str()
                .or(o["event"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

fn gunzip(bytes: &[u8]) -> Value {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    serde_json::from_slice(&out).unwrap()
}

// Suffix pattern and trailing-slash match on every mapping: 2.41.3
// webapi/mvc/ContentNegotiationConfig.java `configurePathMatch`; 2.42.1
// webapi/security/config/WebMvcConfig.java `createRequestMappingHandlerMapping`;
// the format after the first dot (view/CustomPathExtensionContentNegotiationStrategy.java).
#[tokio::test]
async fn suffixes_and_trailing_slashes_reach_the_same_handler() {
    for v in ["2.39", "2.42"] {
        let sim = version(v, &[]);
        let plain = ids(
            &sim,
            "/api/dataElements?fields=id&paging=false",
            "dataElements",
        )
        .await;
        assert!(plain.len() > 5, "{v}");
        for path in [
            "/api/dataElements.json?fields=id&paging=false",
            "/api/dataElements/?fields=id&paging=false",
            "/api/40/dataElements.json?fields=id&paging=false",
            // Not a registered extension: still cut off by the suffix match, JSON.
            "/api/dataElements.foo?fields=id&paging=false",
        ] {
            assert_eq!(ids(&sim, path, "dataElements").await, plain, "{v} {path}");
        }
        let id = &plain[0];
        let one = get(&sim, &format!("/api/dataElements/{id}.json?fields=id,name")).await;
        assert_eq!(one.status, 200, "{v}");
        assert_eq!(one.json()["id"], json!(id));
        let info = get(&sim, "/api/system/info.json").await;
        assert_eq!(info.status, 200);
        assert!(info.json()["version"].as_str().unwrap().starts_with(v));
        let ds = &ids(&sim, "/api/dataSets.json?fields=id", "dataSets").await[0];
        let root = &ids(
            &sim,
            "/api/organisationUnits/?filter=level:eq:1&fields=id",
            "organisationUnits",
        )
        .await[0];
        let values = get(
            &sim,
            &format!("/api/dataValueSets.json?dataSet={ds}&orgUnit={root}&children=true&startDate=1900-01-01&endDate=2100-12-31"),
        )
        .await;
        assert_eq!(values.status, 200, "{v}: {}", values.json());
        assert!(!values.json()["dataValues"].as_array().unwrap().is_empty());
    }
}

// `.json.gz`: MetadataExportParamsMessageConverter `writeInternal` (2.39.6–2.42.1):
// raw gzip, `application/json+gzip`, `attachment; filename=metadata.json.gz`
// whatever the path, `Content-Transfer-Encoding: binary`, no Content-Encoding.
// Events: EventsExportController `getEventsAsJsonGzip` (2.41.3), unpaged, no pager.
// dataValueSets produces JSON/XML/ADX/CSV only (DataValueSetController): 406.
#[tokio::test]
async fn json_gz_is_a_gzip_attachment_where_dhis2_writes_one() {
    for v in ["2.41", "2.42"] {
        let sim = version(v, &[]);
        let plain = get(&sim, "/api/metadata?dataElements=true").await.json();
        let gz = get(&sim, "/api/metadata.json.gz?dataElements=true").await;
        assert_eq!(gz.status, 200);
        assert_eq!(gz.header("content-type"), Some("application/json+gzip"));
        assert_eq!(
            gz.header("content-disposition"),
            Some("attachment; filename=metadata.json.gz")
        );
        assert_eq!(gz.header("content-transfer-encoding"), Some("binary"));
        assert_eq!(gz.header("content-encoding"), None);
        assert_eq!(gunzip(&gz.bytes)["dataElements"], plain["dataElements"]);

        let list = get(&sim, "/api/dataElements.json.gz?fields=id&paging=false").await;
        assert_eq!(
            list.header("content-disposition"),
            Some("attachment; filename=metadata.json.gz"),
            "the same name on a list"
        );
        let id = gunzip(&list.bytes)["dataElements"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Up to 2.41 `{uid}.*` is matched greedily: the uid is `id.json`.
        let one = get(&sim, &format!("/api/dataElements/{id}.json.gz")).await;
        if v == "2.41" {
            assert_eq!(one.status, 404, "{}", one.json());
        } else {
            assert_eq!(one.status, 200);
            assert_eq!(gunzip(&one.bytes)["id"], json!(id));
        }

        let program = &ids(
            &sim,
            "/api/programs?fields=id&filter=programType:eq:WITHOUT_REGISTRATION",
            "programs",
        )
        .await[0];
        let paged = get(
            &sim,
            &format!("/api/tracker/events?program={program}&pageSize=2&totalPages=true"),
        )
        .await
        .json();
        let events = get(
            &sim,
            &format!("/api/tracker/events.json.gz?program={program}"),
        )
        .await;
        assert_eq!(events.status, 200, "{}", events.json());
        assert_eq!(
            events.header("content-disposition"),
            Some("attachment; filename=events.json.gz")
        );
        let all = gunzip(&events.bytes);
        assert!(all.get("pager").is_none(), "{v}: withoutPager");
        assert_eq!(
            all["events"].as_array().unwrap().len() as u64,
            paged["pager"]["total"].as_u64().unwrap(),
            "{v}: the whole export"
        );

        let ds = &ids(&sim, "/api/dataSets?fields=id", "dataSets").await[0];
        let dv = get(
            &sim,
            &format!("/api/dataValueSets.json.gz?dataSet={ds}&orgUnit={id}&period=202401"),
        )
        .await;
        assert_eq!(dv.status, 406, "{v}");
        let xml = get(&sim, "/api/dataElements.xml").await;
        assert_eq!(xml.status, 406);
        assert!(xml.message().contains("JSON only"), "{}", xml.message());
    }
}

// Metadata lists: `paging=false` drops the pager, there is no `totalPages`
// (2.41.3 AbstractFullReadOnlyController `getObjectList`, WebOptions; 2.42.1
// GetObjectListParams). deletedObjects: `skipPaging` wins over `paging`
// (DeletedObjectQuery, PagerUtils `isSkipPaging`). Tracker: 2.39.6/2.40.5
// PagingAndSortingCriteriaAdapter (no `paging`; `skipPaging`), 2.41.3
// PageRequestParams `isPaged` + RequestParamsValidator `validatePaginationParameters`,
// 2.42.1 (no `skipPaging`; links in `pager`: tracker/view/Page.java).
#[tokio::test]
async fn paging_false_and_total_pages_as_each_endpoint_and_version_takes_them() {
    let sim = version("2.41", &[]);
    let list = get(&sim, "/api/dataElements?paging=false&totalPages=true")
        .await
        .json();
    assert!(list.get("pager").is_none());
    let paged = get(&sim, "/api/dataElements?pageSize=3&totalPages=false")
        .await
        .json();
    assert!(
        paged["pager"]["total"].as_u64().unwrap() > 3,
        "totals are always counted"
    );
    let both = get(&sim, "/api/deletedObjects?paging=true&skipPaging=true")
        .await
        .json();
    assert!(both.get("pager").is_none(), "skipPaging wins: {both}");
    let both = get(&sim, "/api/deletedObjects?paging=false&skipPaging=false")
        .await
        .json();
    assert!(both.get("pager").is_some(), "skipPaging wins: {both}");

    for v in ["2.39", "2.40", "2.41", "2.42"] {
        let sim = version(v, &[]);
        let program = &ids(
            &sim,
            "/api/programs?fields=id&filter=programType:eq:WITHOUT_REGISTRATION",
            "programs",
        )
        .await[0];
        let events = |q: &str| format!("/api/tracker/events?program={program}&{q}");
        let key = if v < "2.41" { "instances" } else { "events" };
        let paging_false = get(&sim, &events("paging=false")).await.json();
        let skip = get(&sim, &events("skipPaging=true")).await.json();
        match v {
            "2.39" | "2.40" => {
                assert_eq!(
                    paging_false["pageSize"], 50,
                    "{v}: `paging` is not a parameter"
                );
                assert!(
                    skip.get("page").is_none() && skip[key].is_array(),
                    "{v}: {skip}"
                );
            }
            "2.41" => {
                assert!(paging_false.get("pager").is_none(), "{v}");
                assert!(skip.get("pager").is_none(), "{v}: skipPaging still works");
                let clash = get(&sim, &events("paging=true&skipPaging=true")).await;
                assert_eq!(clash.status, 400);
                assert_eq!(
                    clash.message(),
                    "Paging can either be enabled or disabled. Prefer 'paging' as 'skipPaging' will be removed."
                );
                let pages = get(&sim, &events("paging=false&page=2")).await;
                assert_eq!(pages.status, 400, "{}", pages.json());
            }
            _ => {
                assert!(paging_false.get("pager").is_none(), "{v}");
                assert_eq!(skip["pager"]["pageSize"], 50, "{v}: skipPaging is gone");
                let pages = get(&sim, &events("paging=false&totalPages=true")).await;
                assert_eq!(pages.status, 400);
                assert!(
                    pages
                        .message()
                        .starts_with("Paging cannot be disabled with paging=false")
                );
            }
        }
        let second = get(&sim, &events("page=2&pageSize=2&totalPages=true"))
            .await
            .json();
        let pager = if v < "2.41" {
            &second
        } else {
            &second["pager"]
        };
        assert!(pager["total"].as_u64().unwrap() > 4, "{v}: {second}");
        // Links only from 2.42: 2.41.3 `Page.withPager` builds its pager without them.
        assert_eq!(pager.get("nextPage").is_some(), v == "2.42", "{v}: {pager}");
        assert_eq!(pager.get("prevPage").is_some(), v == "2.42", "{v}: {pager}");
    }
}

// 2.41.3 dxf2/datavalueset/DefaultDataValueSetService.java: `getFromUrl` drops
// unknown UIDs (IdentifiableObjectManager `getObjects`), then `validate` runs
// E2001-E2009 and the last failing one wins (the same in 2.39.6, 2.40.5,
// 2.42.1); 409 (CrudControllerAdvice `illegalQueryExceptionHandler`); texts
// from dhis-api feedback/ErrorCode.java.
#[tokio::test]
async fn data_value_exports_drop_unknown_uids_and_report_the_last_failing_check() {
    let sim = version("2.41", &[]);
    let ds = &ids(&sim, "/api/dataSets?fields=id", "dataSets").await[0];
    let root = &ids(
        &sim,
        "/api/organisationUnits?filter=level:eq:1&fields=id",
        "organisationUnits",
    )
    .await[0];
    let group = &ids(
        &sim,
        "/api/organisationUnitGroups?fields=id",
        "organisationUnitGroups",
    )
    .await[0];
    let unknown = "UnknownUid1";
    let cases: &[(String, &str, &str)] = &[
        (
            String::new(),
            "E2006",
            "At least one organisation unit or organisation unit group must be specified",
        ),
        (
            format!("dataSet={unknown}&orgUnit={root}&period=202401"),
            "E2001",
            "At least one data element, data set or data element group must be specified",
        ),
        (
            format!("dataSet={ds}&orgUnit={unknown}&period=202401"),
            "E2006",
            "At least one organisation unit or organisation unit group must be specified",
        ),
        (
            format!("dataSet={ds}&orgUnit={root}"),
            "E2002",
            "At least one period, start/end dates, last updated or last updated duration must be specified",
        ),
        (
            format!(
                "dataSet={ds}&orgUnit={root}&period=202401&startDate=2024-01-01&endDate=2024-12-31"
            ),
            "E2003",
            "Both periods and start/end date cannot be specified",
        ),
        (
            format!("dataSet={ds}&orgUnit={root}&startDate=2024-12-31&endDate=2024-01-01"),
            "E2004",
            "Start date must be before end date",
        ),
        (
            format!("dataSet={ds}&orgUnit={root}&lastUpdatedDuration=-5s"),
            "E2005",
            "Duration is not valid: `{0}`",
        ),
        (
            format!("dataSet={ds}&orgUnitGroup={group}&children=true&period=202401"),
            "E2008",
            "At least one organisation unit must be specified when children are included",
        ),
        (
            format!("dataSet={ds}&orgUnit={root}&orgUnitGroup={group}&children=true&period=202401"),
            "E2007",
            "Organisation unit children cannot be included for organisation unit groups",
        ),
        (
            format!("dataSet={ds}&orgUnit={root}&period=202401&limit=-1"),
            "E2009",
            "Limit cannot be less than zero: `-1`",
        ),
    ];
    for (query, code, message) in cases {
        let a = get(&sim, &format!("/api/dataValueSets?{query}")).await;
        assert_eq!(a.status, 409, "{query}: {}", a.json());
        assert_eq!(a.json()["errorCode"], json!(code), "{query}: {}", a.json());
        assert_eq!(&a.message(), message, "{query}");
        assert_eq!(a.json()["httpStatus"], "Conflict");
    }
    // A known data set beside an unknown one: the unknown one is dropped.
    let mixed = get(
        &sim,
        &format!("/api/dataValueSets?dataSet={ds}&dataSet={unknown}&orgUnit={root}&children=true&startDate=1900-01-01&endDate=2100-12-31"),
    )
    .await;
    assert_eq!(mixed.status, 200, "{}", mixed.json());
    assert!(!mixed.json()["dataValues"].as_array().unwrap().is_empty());
}

// Enums: metadata `getEnumWithDefault` (dxf2/metadata/DefaultMetadataImportService.java),
// exact or silently the default; data values and tracker bound by ConvertEnum
// from 2.40 (webapi/controller/CrudControllerAdvice.java `initBinder`), any
// case, else 400; 2.39.6 exact, else 400 (tracker: TrackerImportParamsValidator).
#[tokio::test]
async fn enum_parameters_are_read_as_each_importer_and_version_reads_them() {
    for v in ["2.39", "2.41"] {
        let sim = version(v, &["--empty"]);
        // `importMode=validate` is not VALIDATE: the import commits.
        let option = json!({"categoryOptions": [{"id": "CoLenient01", "name": "Lenient", "shortName": "Lenient"}]});
        let a = post(
            &sim,
            "/api/metadata?importMode=validate&importStrategy=create_and_update",
            &option,
        )
        .await;
        assert_eq!(a.status, 200, "{v}: {}", a.json());
        let stored = get(&sim, "/api/categoryOptions/CoLenient01?fields=id").await;
        assert_eq!(
            stored.status, 200,
            "{v}: the lower-case VALIDATE was ignored and it committed"
        );
        let a = post(&sim, "/api/metadata?atomicMode=everything", &option).await;
        assert_eq!(a.status, 200, "{v}: an unknown atomicMode is the default");

        let values = json!({"dataValues": []});
        let lower = post(
            &sim,
            "/api/dataValueSets?importStrategy=create_and_update",
            &values,
        )
        .await;
        let bogus = post(&sim, "/api/dataValueSets?importStrategy=MERGE", &values).await;
        let tracker = post(
            &sim,
            "/api/tracker?async=false&atomicMode=object",
            &json!({}),
        )
        .await;
        if v == "2.39" {
            assert_eq!(lower.status, 400, "{v}");
            assert!(lower.message().starts_with("Value create_and_update is not a valid importStrategy. Valid values are: [CREATE, UPDATE, CREATE_AND_UPDATE"), "{}", lower.message());
            assert_eq!(tracker.status, 400, "{v}: {}", tracker.json());
        } else {
            assert_eq!(lower.status, 200, "{v}: {}", lower.json());
            assert_eq!(tracker.status, 200, "{v}: {}", tracker.json());
            let patch = post(
                &sim,
                "/api/tracker?async=false&importStrategy=PATCH",
                &json!({}),
            )
            .await;
            assert_eq!(patch.status, 400, "PATCH is gone in 2.41");
            assert_eq!(
                patch.message(),
                "Value 'PATCH' is not valid for parameter importStrategy. Valid values are: [CREATE, UPDATE, CREATE_AND_UPDATE, DELETE]"
            );
        }
        assert_eq!(bogus.status, 400, "{v}");
    }
}

// Unknown names are ignored by Spring binding: a client sending a name the
// version does not have gets a wider export, not a 400. 2.41.3 refuses its
// removed tracked entity parameters (TrackedEntityRequestParamsMapper
// `validateRemovedParameters`) and a deprecated name beside its replacement
// (RequestParamsValidator `validateDeprecatedParameter`); 2.42.1 removed both.
#[tokio::test]
async fn unknown_and_removed_parameters_are_ignored_where_dhis2_ignores_them() {
    for v in ["2.39", "2.41", "2.42"] {
        let sim = version(v, &["--root-org-units", "2"]);
        let roots = ids(
            &sim,
            "/api/organisationUnits?filter=level:eq:1&fields=id",
            "organisationUnits",
        )
        .await;
        let program = &ids(
            &sim,
            "/api/programs?fields=id&filter=programType:eq:WITH_REGISTRATION",
            "programs",
        )
        .await[0];
        let total = |a: &Value| {
            let pager = if v < "2.41" { a } else { &a["pager"] };
            pager["total"]
                .as_u64()
                .unwrap_or_else(|| panic!("{v}: {a}"))
        };
        let base =
            format!("/api/tracker/trackedEntities?program={program}&totalPages=true&pageSize=1");
        let all = total(&get(&sim, &base).await.json());
        let one_root = if v < "2.41" {
            format!("{base}&orgUnit={}&ouMode=DESCENDANTS", roots[0])
        } else {
            format!("{base}&orgUnits={}&orgUnitMode=DESCENDANTS", roots[0])
        };
        let scoped = total(&get(&sim, &one_root).await.json());
        assert!(scoped < all, "{v}: {scoped} of {all}");
        // The other generation's names: ignored, so the export is not scoped.
        let other = if v < "2.41" {
            format!("{base}&orgUnits={}&orgUnitMode=DESCENDANTS", roots[0])
        } else {
            format!("{base}&orgUnit={}&ouMode=DESCENDANTS", roots[0])
        };
        let a = get(&sim, &other).await;
        assert_eq!(a.status, 200, "{v}: {}", a.json());
        let expected = if v == "2.41" { scoped } else { all };
        assert_eq!(
            total(&a.json()),
            expected,
            "{v}: 2.41 still takes the deprecated names"
        );
        let bogus = get(&sim, &format!("{base}&noSuchParameter=1")).await;
        assert_eq!(total(&bogus.json()), all, "{v}");
        let removed = get(&sim, &format!("{base}&query=abc")).await;
        if v == "2.41" {
            assert_eq!(removed.status, 400);
            assert_eq!(
                removed.message(),
                "`query` parameter was removed in v41. Use `filter` instead."
            );
            let both = get(&sim, &format!("{one_root}&ouMode=DESCENDANTS")).await;
            assert_eq!(both.status, 400);
            assert!(
                both.message()
                    .starts_with("Only one parameter of 'ouMode' and 'orgUnitMode'")
            );
        } else {
            assert_eq!(removed.status, 200, "{v}");
        }
    }
}

// Tracker jobs: TrackerImportController `getJob` (200 [] when unknown; 2.42.1
// parses a UID first) and `getJobReport` (404, per-version message);
// SystemController `getTaskJsonByUid` (200 []) and `getTaskSummaryJson` (200,
// empty body); DeletedObjectController (ALL only: `@PreAuthorize("hasRole('ALL')")`,
// 2.42.1 `@RequiresAuthority(anyOf = ALL)`); SystemController `getSystemInfo`
// (`fields` in every version; without ALL, SystemInfo `clearSensitiveInfo`).
#[tokio::test]
async fn smaller_shapes_match_dhis2() {
    for (v, report_message) in [
        ("2.39", "Object not found for uid: UnknownJob1"),
        (
            "2.40",
            "JobConfiguration with id UnknownJob1 could not be found.",
        ),
        ("2.41", "Summary for job UnknownJob1 does not exist"),
        ("2.42", "Summary for job UnknownJob1 does not exist"),
    ] {
        let sim = version(v, &["--empty", "--authorities", "F_METADATA_EXPORT"]);
        let job = get(&sim, "/api/tracker/jobs/UnknownJob1").await;
        assert_eq!((job.status, job.json()), (200, json!([])), "{v}");
        let malformed = get(&sim, "/api/tracker/jobs/not-a-uid").await;
        assert_eq!(malformed.status, if v == "2.42" { 400 } else { 200 }, "{v}");
        let report = get(&sim, "/api/tracker/jobs/UnknownJob1/report").await;
        assert_eq!(report.status, 404);
        assert_eq!(report.message(), report_message, "{v}");
        let tasks = get(&sim, "/api/system/tasks/METADATA_IMPORT/UnknownJob1").await;
        assert_eq!((tasks.status, tasks.json()), (200, json!([])));
        let summary = get(
            &sim,
            "/api/system/taskSummaries/METADATA_IMPORT/UnknownJob1",
        )
        .await;
        assert_eq!(
            (summary.status, summary.bytes.len()),
            (200, 0),
            "{v}: empty body"
        );

        let deleted = get(&sim, "/api/deletedObjects").await;
        assert_eq!(deleted.status, 403, "{v}");
        let expected = if v == "2.42" {
            "Access is denied, requires one Authority from [ALL]"
        } else {
            "Access is denied"
        };
        assert_eq!(deleted.message(), expected);

        let info = get(&sim, "/api/system/info?fields=version,serverTimeZoneId")
            .await
            .json();
        let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["serverTimeZoneId", "version"], "{v}: {info}");
        let whole = get(&sim, "/api/system/info").await.json();
        assert!(
            whole.get("environmentVariable").is_none(),
            "{v}: sensitive for a non-superuser"
        );
        assert!(whole.get("serverDate").is_some());
    }
    let superuser = version("2.39", &["--empty"]);
    assert_eq!(get(&superuser, "/api/deletedObjects").await.status, 200);
    let whole = get(&superuser, "/api/system/info").await.json();
    assert!(whole.get("environmentVariable").is_some());
}
