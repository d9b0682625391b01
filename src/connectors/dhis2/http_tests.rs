//! The client against a tiny in-process HTTP stub (axum on loopback): real
//! redirects, headers, paging loops, streaming and job polling. Not the
//! simulator: each test serves only the few answers it needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::*;

const JSON: &str = "application/json;charset=UTF-8";

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/dhis/")
}

fn client(base: &str) -> Dhis2Client {
    let opts = ClientOptions {
        job_poll_max_interval: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    Dhis2Client::new(base, Credentials::basic("admin", "district"), opts).unwrap()
}

fn params(q: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param(q: &[(String, String)], k: &str) -> Option<String> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
}

fn json_resp(status: StatusCode, v: Value) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], v.to_string()).into_response()
}

fn info(version: &str) -> Value {
    json!({"version": version, "serverDate": "2024-05-01T10:00:00.000", "serverTimeZoneId": "Etc/UTC"})
}

#[tokio::test]
async fn system_info_sends_auth_and_caches_version() {
    let router = Router::new().route(
        "/dhis/api/system/info",
        get(|h: HeaderMap| async move {
            let auth = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let accept = h.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            if auth == Some("Basic YWRtaW46ZGlzdHJpY3Q=") && accept == Some("application/json") {
                json_resp(StatusCode::OK, info("2.40.4.1"))
            } else {
                json_resp(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}))
            }
        }),
    );
    let base = serve(router).await;
    let c = client(base.trim_end_matches('/'));
    assert_eq!(c.cached_version(), None);
    let si = c.system_info().await.unwrap();
    assert_eq!(si.version, "2.40.4.1");
    assert_eq!(c.cached_version(), Some(DhisVersion::new(2, 40, 4)));
    assert_eq!(c.version().await.unwrap(), DhisVersion::new(2, 40, 4));

    let wrong = Dhis2Client::new(
        &base,
        Credentials::basic("admin", "nope"),
        ClientOptions::default(),
    )
    .unwrap();
    let e = wrong.system_info().await.unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!e.to_string().contains("nope"));
}

#[tokio::test]
async fn login_redirect_is_auth_and_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let router = Router::new()
        .route(
            "/dhis/api/me",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/dhis/dhis-web-login/")]).into_response() }),
        )
        .route(
            "/dhis/dhis-web-login/",
            get(move || async move {
                h2.fetch_add(1, Ordering::SeqCst);
                "<html>login</html>"
            }),
        )
        .route(
            "/dhis/api/system/info",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><form><input name=\"j_username\"><input type=\"password\"></form></html>",
                )
            }),
        )
        .route(
            "/dhis/api/system/ping",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/dhis/api/system/ping2")]) }),
        )
        .route("/dhis/api/system/ping2", get(|| async { "pong" }));
    let c = client(&serve(router).await);
    let e = c.me().await.unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "login page must not be fetched"
    );
    assert!(c.system_info().await.unwrap_err().is_auth());
    // Ordinary redirects are followed.
    c.ping().await.unwrap();
}

#[tokio::test]
async fn metadata_pages_walk_every_page() {
    let router = Router::new().route(
        "/dhis/api/dataElements",
        get(|RawQuery(q): RawQuery| async move {
            let q = params(&q);
            let page: usize = param(&q, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let size: usize = param(&q, "pageSize").and_then(|p| p.parse().ok()).unwrap_or(50);
            if param(&q, "fields").as_deref() == Some(":owner") {
                assert_eq!(param(&q, "order").as_deref(), Some("id:asc"));
            }
            assert_eq!(param(&q, "paging").as_deref(), Some("true"));
            assert_eq!(param(&q, "filter").as_deref(), Some("lastUpdated:ge:2024-05-01T10:00:00.000"));
            let total = 5;
            let items: Vec<Value> = ((page - 1) * size..(page * size).min(total))
                .map(|i| json!({"id": format!("de{i}")}))
                .collect();
            json_resp(
                StatusCode::OK,
                json!({"pager": {"page": page, "pageCount": total.div_ceil(size), "total": total, "pageSize": size},
                       "dataElements": items}),
            )
        }),
    );
    let c = client(&serve(router).await);
    let since = parse_timestamp("2024-05-01T10:00:00");
    assert_eq!(
        c.count_metadata_changes("dataElements", since)
            .await
            .unwrap(),
        5
    );
    let pager = c
        .metadata_pages(
            "dataElements",
            MetadataQuery {
                since,
                page_size: 2,
                ..Default::default()
            },
        )
        .unwrap();
    let pages: Vec<_> = pager.into_stream().collect().await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.as_ref().unwrap().items.len())
        .collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert!(
        c.metadata_pages("../users", MetadataQuery::default())
            .is_err()
    );
}

/// A list whose `total` moves between pages (an object deleted while
/// paging): the walk stops with an error instead of skipping an object.
#[tokio::test]
async fn a_total_that_moves_between_pages_is_an_error() {
    let served = Arc::new(AtomicUsize::new(0));
    let s2 = served.clone();
    let router = Router::new().route(
        "/dhis/api/dataElements",
        get(move |RawQuery(q): RawQuery| async move {
            let q = params(&q);
            let page: usize = param(&q, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            s2.fetch_add(1, Ordering::SeqCst);
            // 5 objects in pages of 2; the first one is deleted after page 1.
            let (total, first) = if page == 1 { (5, 0) } else { (4, 1) };
            let items: Vec<Value> = (first + (page - 1) * 2..(first + page * 2).min(first + total))
                .map(|i| json!({"id": format!("de{i}")}))
                .collect();
            json_resp(
                StatusCode::OK,
                json!({"pager": {"page": page, "pageCount": total.div_ceil(2), "total": total, "pageSize": 2},
                       "dataElements": items}),
            )
        }),
    );
    let c = client(&serve(router).await);
    let mut pager = c
        .metadata_pages(
            "dataElements",
            MetadataQuery {
                page_size: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(pager.next_page().await.unwrap().unwrap().items.len(), 2);
    let e = pager.next_page().await.unwrap().unwrap_err();
    assert!(matches!(e, Dhis2Error::Inconsistent { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("the total went from 5 to 4 at page 2"),
        "{text}"
    );
    assert!(text.contains("/dhis/api/dataElements"), "{text}");
    assert!(!e.is_retryable());
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

/// A list that grows while it is paged (a live server receiving data, newest
/// first): an object comes twice, none of those there at the start is
/// skipped, and the walk completes (the new one is the next run's change).
#[tokio::test]
async fn a_list_that_grows_while_paged_is_read_to_its_end() {
    let router = Router::new().route(
        "/dhis/api/dataElements",
        get(move |RawQuery(q): RawQuery| async move {
            let q = params(&q);
            let page: usize = param(&q, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            // 4 objects in pages of 2, newest first; a fifth arrives after page 1.
            let ids: Vec<usize> = if page == 1 { vec![3, 2, 1, 0] } else { vec![4, 3, 2, 1, 0] };
            let items: Vec<Value> = ids
                .iter()
                .skip((page - 1) * 2)
                .take(2)
                .map(|i| json!({"id": format!("de{i}")}))
                .collect();
            let total = ids.len();
            json_resp(
                StatusCode::OK,
                json!({"pager": {"page": page, "pageCount": total.div_ceil(2), "total": total, "pageSize": 2},
                       "dataElements": items}),
            )
        }),
    );
    let c = client(&serve(router).await);
    let mut pager = c
        .metadata_pages(
            "dataElements",
            MetadataQuery {
                page_size: 2,
                ..Default::default()
            },
        )
        .unwrap();
    let mut seen = Vec::new();
    while let Some(page) = pager.next_page().await {
        let page = page.unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|o| o["id"].as_str().unwrap_or("").to_string()),
        );
    }
    assert_eq!(seen, ["de3", "de2", "de2", "de1", "de0"]);
}

fn tracker_router(version: &'static str) -> Router {
    Router::new()
        .route(
            "/dhis/api/system/info",
            get(move || async move { json_resp(StatusCode::OK, info(version)) }),
        )
        .route(
            "/dhis/api/tracker/events",
            get(move |RawQuery(q): RawQuery| async move {
                let q = params(&q);
                let page: usize = param(&q, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let size: usize = param(&q, "pageSize")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(50);
                let total = 5;
                let items: Vec<Value> = ((page - 1) * size..(page * size).min(total))
                    .map(|i| json!({"event": format!("ev{i}")}))
                    .collect();
                let totals = param(&q, "totalPages").as_deref() == Some("true");
                if version.starts_with("2.40") {
                    assert!(param(&q, "ouMode").is_some() && param(&q, "orgUnitMode").is_none());
                    let mut v = json!({"page": page, "pageSize": size, "instances": items});
                    if totals {
                        v["total"] = json!(total);
                    }
                    json_resp(StatusCode::OK, v)
                } else {
                    assert!(param(&q, "orgUnitMode").is_some() && param(&q, "ouMode").is_none());
                    let mut pager = json!({"page": page, "pageSize": size});
                    if page > 1 {
                        pager["prevPage"] =
                            json!(format!("http://x/api/tracker/events?page={}", page - 1));
                    }
                    if page * size < total {
                        pager["nextPage"] =
                            json!(format!("http://x/api/tracker/events?page={}", page + 1));
                    }
                    if totals {
                        pager["total"] = json!(total);
                    }
                    json_resp(StatusCode::OK, json!({"pager": pager, "events": items}))
                }
            }),
        )
}

#[tokio::test]
async fn tracker_pages_follow_the_server_version() {
    for version in ["2.40.2", "2.42.0"] {
        let c = client(&serve(tracker_router(version)).await);
        let query = TrackerQuery {
            program: Some("P".into()),
            org_units: vec!["ROOT".into()],
            org_unit_mode: Some(OrgUnitMode::Descendants),
            page_size: 2,
            ..Default::default()
        };
        assert_eq!(
            c.count_tracker_changes(TrackerKind::Events, &query)
                .await
                .unwrap(),
            5,
            "{version}"
        );
        let mut pager = c.tracker_pages(TrackerKind::Events, query).await.unwrap();
        let mut ids = Vec::new();
        while let Some(page) = pager.next_page().await {
            ids.extend(
                page.unwrap()
                    .items
                    .into_iter()
                    .map(|e| e["event"].as_str().unwrap().to_string()),
            );
        }
        assert_eq!(ids, ["ev0", "ev1", "ev2", "ev3", "ev4"], "{version}");
    }
}

/// A big export sent in small chunks; honours `limit`.
fn data_value_router() -> Router {
    Router::new().route(
        "/dhis/api/dataValueSets.json",
        get(|RawQuery(q): RawQuery| async move {
            let q = params(&q);
            assert_eq!(param(&q, "startDate").as_deref(), Some("1900-01-01"));
            assert_eq!(param(&q, "endDate").as_deref(), Some("2100-12-31"));
            let n: usize = param(&q, "limit").and_then(|l| l.parse().ok()).unwrap_or(1000).min(1000);
            let mut doc = String::from(r#"{"dataSet":"ds","dataValues":["#);
            for i in 0..n {
                if i > 0 {
                    doc.push(',');
                }
                doc.push_str(&format!(
                    r#"{{"dataElement":"de{i}","period":"202401","orgUnit":"ou","value":"{i}","comment":"a\"b"}}"#
                ));
            }
            doc.push_str("]}");
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                doc.into_bytes().chunks(997).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
            ([(header::CONTENT_TYPE, JSON)], Body::from_stream(futures_util::stream::iter(chunks))).into_response()
        }),
    )
}

#[tokio::test]
async fn data_values_stream_from_the_wire() {
    let c = client(&serve(data_value_router()).await);
    let query = DataValueQuery {
        data_sets: vec!["ds".into()],
        org_units: vec!["ou".into()],
        last_updated: parse_timestamp("2024-01-01"),
        ..Default::default()
    };
    let mut s = c.data_values(&query, 100).await.unwrap();
    let mut sizes = Vec::new();
    let mut last = None;
    while let Some(b) = s.next_batch().await {
        let b = b.unwrap();
        sizes.push(b.len());
        last = b.last().cloned();
    }
    assert_eq!(sizes, vec![100; 10]);
    let last = last.unwrap();
    assert_eq!(last.data_element, "de999");
    assert_eq!(last.comment.as_deref(), Some("a\"b"));

    let capped = c.count_data_value_changes(&query, 50).await.unwrap();
    assert_eq!(
        capped,
        ChangeCount {
            count: 50,
            exact: false
        }
    );
    let exact = c.count_data_value_changes(&query, 5000).await.unwrap();
    assert_eq!(
        exact,
        ChangeCount {
            count: 1000,
            exact: true
        }
    );
}

#[tokio::test]
async fn data_values_error_answers() {
    let router = Router::new()
        .route(
            "/dhis/api/dataValueSets.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><form action=\"dhis-web-commons-security/login.action\"></form></html>",
                )
            }),
        )
        .route(
            "/dhis/api/system/ping",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "7")],
                    "busy",
                )
            }),
        );
    let c = client(&serve(router).await);
    let query = DataValueQuery {
        data_sets: vec!["ds".into()],
        org_units: vec!["ou".into()],
        periods: vec!["202401".into()],
        ..Default::default()
    };
    assert!(c.data_values(&query, 10).await.unwrap_err().is_auth());
    let e = c.ping().await.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn imports_return_409_reports_as_results() {
    let router = Router::new()
        .route(
            "/dhis/api/metadata",
            post(|RawQuery(q): RawQuery, body: Bytes| async move {
                let q = params(&q);
                assert_eq!(param(&q, "atomicMode").as_deref(), Some("NONE"));
                let payload: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(payload["dataElements"].as_array().map(Vec::len), Some(1));
                json_resp(
                    StatusCode::CONFLICT,
                    json!({"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
                           "response": {"status": "ERROR", "stats": {"ignored": 1, "total": 1},
                             "typeReports": [{"klass": "org.hisp.dhis.dataelement.DataElement", "stats": {"ignored": 1, "total": 1},
                               "objectReports": [{"uid": "a", "index": 0, "errorReports": [{"errorCode": "E5002", "message": "Invalid reference"}]}]}]}}),
                )
            }),
        )
        .route(
            "/dhis/api/dataValueSets",
            post(|body: Bytes| async move {
                let payload: Value = serde_json::from_slice(&body).unwrap();
                let n = payload["dataValues"].as_array().map_or(0, Vec::len);
                json_resp(
                    StatusCode::OK,
                    json!({"status": "OK", "response": {"status": "SUCCESS", "importCount": {"imported": n, "updated": 0, "ignored": 0, "deleted": 0}}}),
                )
            }),
        );
    let c = client(&serve(router).await);
    let r = c
        .import_metadata(
            &json!({"dataElements": [{"id": "a"}]}),
            &MetadataImportParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, ImportStatus::Error);
    assert_eq!(r.errors_by_code()["E5002"].len(), 1);
    let v = DataValue {
        data_element: "d".into(),
        period: "202401".into(),
        org_unit: "o".into(),
        value: Some("1".into()),
        ..Default::default()
    };
    let s = c
        .import_data_values(&[v.clone(), v], &DataValueImportParams::default())
        .await
        .unwrap();
    assert_eq!(s.synced(), 2);
}

#[tokio::test]
async fn tracker_async_import_polls_until_complete() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let router = Router::new()
        .route(
            "/dhis/api/tracker",
            post(|RawQuery(q): RawQuery| async move {
                assert_eq!(param(&params(&q), "async").as_deref(), Some("true"));
                json_resp(
                    StatusCode::OK,
                    json!({"status": "OK", "message": "Tracker job added", "response": {"id": "Job1", "location": "x"}}),
                )
            }),
        )
        .route(
            "/dhis/api/tracker/jobs/{id}",
            get(move || async move {
                let n = p2.fetch_add(1, Ordering::SeqCst);
                json_resp(
                    StatusCode::OK,
                    json!([{"uid": "n", "message": if n < 2 { "Running" } else { "Import complete" }, "completed": n >= 2}]),
                )
            }),
        )
        .route(
            "/dhis/api/tracker/jobs/{id}/report",
            get(|RawQuery(q): RawQuery| async move {
                assert_eq!(param(&params(&q), "reportMode").as_deref(), Some("ERRORS"));
                json_resp(
                    StatusCode::OK,
                    json!({"status": "OK", "stats": {"created": 3, "total": 3}, "validationReport": {"errorReports": []}}),
                )
            }),
        );
    let c = client(&serve(router).await);
    let params = TrackerImportParams {
        async_mode: true,
        ..Default::default()
    };
    // The engine spawns these futures: they must be Send.
    let c2 = c.clone();
    let events = json!({"events": [{"event": "e1"}, {"event": "e2"}, {"event": "e3"}]});
    let r = tokio::spawn(async move { c2.import_tracker(&events, &params).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.stats.created, 3);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn redirect_loops_stop_after_the_limit() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let router = Router::new().route(
        "/dhis/api/system/info",
        get(move || async move {
            h2.fetch_add(1, Ordering::SeqCst);
            (
                StatusCode::FOUND,
                [(header::LOCATION, "/dhis/api/system/info")],
            )
        }),
    );
    let c = client(&serve(router).await);
    let e = c.system_info().await.unwrap_err();
    assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
    assert!(!e.is_retryable());
    // The first request plus at most five followed redirects.
    assert_eq!(hits.load(Ordering::SeqCst), 6);
}
