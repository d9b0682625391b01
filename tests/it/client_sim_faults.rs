//! Our DHIS2 client when things go wrong: injected server errors, hangs and
//! latency, bad credentials in each form DHIS2 deployments use, servers that
//! are not DHIS2, a closed port; and token authentication.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::Html;
use chrono::NaiveDate;
use serde_json::json;
use syncdeck::connectors::dhis2::{
    ClientOptions, Credentials, DataValueQuery, Dhis2Client, Dhis2Error, MetadataImportParams,
    MetadataQuery, TimeoutPhase, Timeouts, TrackerImportParams, TrackerKind, TrackerQuery,
};
use tokio::net::TcpListener;

use crate::common;
use crate::common::{PASSWORD, SimProcess, TOKEN, USER};

fn client_with(url: &str, credentials: Credentials, options: ClientOptions) -> Dhis2Client {
    Dhis2Client::new(url, credentials, options).unwrap()
}

fn basic(url: &str) -> Dhis2Client {
    client_with(
        url,
        Credentials::basic(USER, PASSWORD),
        ClientOptions::default(),
    )
}

fn dv_query() -> DataValueQuery {
    DataValueQuery {
        data_sets: vec!["dsAAAAAAAAA".into()],
        org_units: vec!["ouAAAAAAAAA".into()],
        start_date: NaiveDate::from_ymd_opt(2024, 1, 1),
        end_date: NaiveDate::from_ymd_opt(2024, 12, 31),
        ..Default::default()
    }
}

/// One of each kind of call, each reduced to its error (or a panic if it worked).
async fn every_call_fails(c: &Dhis2Client) -> Vec<(&'static str, Dhis2Error)> {
    let mut out = vec![
        ("ping", c.ping().await.unwrap_err()),
        ("system_info", c.system_info().await.unwrap_err()),
        ("me", c.me().await.unwrap_err()),
        ("import_order", c.import_order().await.unwrap_err()),
        (
            "count_metadata_changes",
            c.count_metadata_changes("dataElements", None)
                .await
                .unwrap_err(),
        ),
    ];
    let mut pages = c
        .metadata_pages("dataElements", MetadataQuery::default())
        .unwrap();
    out.push((
        "metadata_pages",
        pages.next_page().await.unwrap().unwrap_err(),
    ));
    out.push((
        "data_values",
        c.data_values(&dv_query(), 100).await.unwrap_err(),
    ));
    out.push((
        "import_metadata",
        c.import_metadata(
            &json!({"dataElements": []}),
            &MetadataImportParams::default(),
        )
        .await
        .unwrap_err(),
    ));
    out.push((
        "import_tracker",
        c.import_tracker(&json!({"events": []}), &TrackerImportParams::default())
            .await
            .unwrap_err(),
    ));
    out
}

#[tokio::test]
async fn injected_server_errors_are_transient_and_carry_retry_after() {
    let sim = SimProcess::start(&["--empty", "--fail-rate", "1"]);
    let c = basic(&sim.url);
    for (call, e) in every_call_fails(&c).await {
        assert!(
            matches!(e, Dhis2Error::Transient { .. }) && e.is_retryable(),
            "{call}: {e:?}"
        );
    }
    // Half the failures are a proxy's 503 with Retry-After: 1, half DHIS2's 500.
    let (mut with_retry_after, mut without) = (0, 0);
    for _ in 0..40 {
        let e = c.system_info().await.unwrap_err();
        assert!(e.is_retryable());
        match e.retry_after() {
            Some(d) => {
                assert_eq!(d, Duration::from_secs(1));
                assert!(e.to_string().contains("HTTP 503"), "{e}");
                assert!(e.to_string().contains("retry after 1 s"), "{e}");
                with_retry_after += 1;
            }
            None => {
                assert!(e.to_string().contains("HTTP 500"), "{e}");
                without += 1;
            }
        }
    }
    assert!(with_retry_after > 0 && without > 0);
}

/// Deadlines of a second: the tests wait for each one to pass.
fn short_deadlines() -> ClientOptions {
    ClientOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(1),
            first_byte: Duration::from_secs(1),
            import: Duration::from_secs(1),
            idle: Duration::from_secs(1),
        },
        ..Default::default()
    }
}

/// `faultsInjected` of the simulator's stats: `hang`, `stall`, `fail`.
async fn faults(sim: &SimProcess, kind: &str) -> u64 {
    let stats: serde_json::Value = common::http()
        .get(sim.api("/api/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["faultsInjected"][kind].as_u64().unwrap_or(0)
}

/// A timeout of `phase` after 1 s, retryable, naming the endpoint and the setting.
fn assert_timeout(call: &str, e: &Dhis2Error, phase: TimeoutPhase, endpoint: &str) {
    match e {
        Dhis2Error::Timeout {
            url,
            phase: p,
            after,
        } => {
            assert_eq!((*p, *after), (phase, Duration::from_secs(1)), "{call}: {e}");
            assert!(url.ends_with(endpoint), "{call}: {url}");
        }
        other => panic!("{call}: expected a timeout, got {other:?}"),
    }
    assert!(e.is_retryable(), "{call}");
    let text = e.to_string();
    assert!(text.contains("timed out after 1 s"), "{call}: {text}");
    assert!(text.contains(phase.setting()), "{call}: {text}");
    assert!(!text.contains(PASSWORD), "{call}: {text}");
}

#[tokio::test]
async fn a_hung_request_fails_at_its_first_byte_deadline() {
    let sim = SimProcess::start(&["--empty", "--hang-rate", "1"]);
    let c = client_with(
        &sim.url,
        Credentials::basic(USER, PASSWORD),
        short_deadlines(),
    );

    let started = Instant::now();
    let e = c.system_info().await.unwrap_err();
    println!(
        "hung GET system/info failed after {:?}: {e}",
        started.elapsed()
    );
    assert_timeout(
        "system_info",
        &e,
        TimeoutPhase::FirstByte,
        "/api/system/info",
    );

    // Streamed exports wait for their headers the same way.
    let started = Instant::now();
    let e = c.data_values(&dv_query(), 100).await.unwrap_err();
    println!(
        "hung GET dataValueSets failed after {:?}: {e}",
        started.elapsed()
    );
    assert_timeout(
        "data_values",
        &e,
        TimeoutPhase::FirstByte,
        "/api/dataValueSets.json",
    );

    // A write waits for the import deadline instead.
    let started = Instant::now();
    let e = c
        .import_metadata(
            &json!({"dataElements": []}),
            &MetadataImportParams::default(),
        )
        .await
        .unwrap_err();
    println!(
        "hung POST metadata failed after {:?}: {e}",
        started.elapsed()
    );
    assert_timeout("import_metadata", &e, TimeoutPhase::Import, "/api/metadata");

    assert_eq!(faults(&sim, "hang").await, 3, "each request hung once");
}

#[tokio::test]
async fn a_body_that_stalls_fails_at_the_idle_deadline() {
    let sim = SimProcess::start(&["--stall-rate", "1"]);
    let c = client_with(
        &sim.url,
        Credentials::basic(USER, PASSWORD),
        short_deadlines(),
    );

    let started = Instant::now();
    let e = c.system_info().await.unwrap_err();
    println!(
        "stalled system/info failed after {:?}: {e}",
        started.elapsed()
    );
    assert_timeout("system_info", &e, TimeoutPhase::Idle, "/api/system/info");

    let mut pages = c
        .metadata_pages("dataElements", MetadataQuery::default())
        .unwrap();
    let started = Instant::now();
    let e = pages.next_page().await.unwrap().unwrap_err();
    println!(
        "stalled dataElements page failed after {:?}: {e}",
        started.elapsed()
    );
    assert_timeout(
        "metadata_pages",
        &e,
        TimeoutPhase::Idle,
        "/api/dataElements",
    );

    // The streamed export: headers and a part of the body arrive, then
    // silence; the stream ends with the timeout, not with a short success.
    let (data_set, root) = a_data_set_and_root_of_the_default_seed().await;
    let query = DataValueQuery {
        data_sets: vec![data_set],
        org_units: vec![root],
        children: true,
        start_date: NaiveDate::from_ymd_opt(1900, 1, 1),
        end_date: NaiveDate::from_ymd_opt(2100, 12, 31),
        ..Default::default()
    };
    let started = Instant::now();
    let mut stream = c.data_values(&query, 100).await.unwrap();
    let mut values = 0;
    let e = loop {
        match stream.next_batch().await {
            Some(Ok(batch)) => values += batch.len(),
            Some(Err(e)) => break e,
            None => panic!("a stalled export ended as a success after {values} values"),
        }
    };
    println!(
        "stalled dataValueSets export failed after {:?} and {values} values: {e}",
        started.elapsed()
    );
    assert_timeout(
        "data_values",
        &e,
        TimeoutPhase::Idle,
        "/api/dataValueSets.json",
    );
    assert_eq!(faults(&sim, "stall").await, 3);
}

/// A data set and the level-1 org unit of a simulator with the default seed,
/// read from one without faults (the same seed gives the same content).
async fn a_data_set_and_root_of_the_default_seed() -> (String, String) {
    let clean = SimProcess::start(&[]);
    let c = basic(&clean.url);
    let sets = common::all_objects(&c, "dataSets", Some("id")).await;
    let roots = c
        .metadata_pages(
            "organisationUnits",
            MetadataQuery {
                fields: Some("id".into()),
                filters: vec!["level:eq:1".into()],
                ..Default::default()
            },
        )
        .unwrap()
        .next_page()
        .await
        .unwrap()
        .unwrap()
        .items;
    (common::id(&sets[0]), common::id(&roots[0]))
}

#[tokio::test]
async fn latency_slows_calls_but_they_succeed() {
    let sim = SimProcess::start(&["--latency", "200ms"]);
    let c = basic(&sim.url);
    let started = Instant::now();
    let info = c.system_info().await.unwrap();
    assert_eq!((info.major, info.minor), (2, 41));
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        c.count_metadata_changes("organisationUnits", None)
            .await
            .unwrap(),
        113
    );
    let query = TrackerQuery {
        program: None,
        page_size: 100,
        ..Default::default()
    };
    let mut pager = c.tracker_pages(TrackerKind::Events, query).await.unwrap();
    assert_eq!(pager.next_page().await.unwrap().unwrap().items.len(), 100);
}

fn assert_auth(call: &str, e: &Dhis2Error) {
    assert!(e.is_auth(), "{call}: {e:?}");
    assert!(!e.is_retryable(), "{call}: auth must not be retried");
    let text = e.to_string();
    assert!(
        text.contains("check the username/password or API token"),
        "{call}: {text}"
    );
    assert!(!text.contains("wrong-password"), "{call}: {text}");
}

#[tokio::test]
async fn bad_credentials_are_auth_errors_in_every_form() {
    for mode in ["json", "html", "redirect"] {
        let sim = SimProcess::start(&["--empty", "--auth-failure", mode]);
        let c = client_with(
            &sim.url,
            Credentials::basic(USER, "wrong-password"),
            ClientOptions::default(),
        );
        for (call, e) in every_call_fails(&c).await {
            assert_auth(&format!("{mode} {call}"), &e);
        }
        let err = c
            .tracker_pages(TrackerKind::Events, TrackerQuery::default())
            .await
            .unwrap_err();
        assert_auth(&format!("{mode} tracker_pages"), &err);

        let c = client_with(
            &sim.url,
            Credentials::token("d2pat_wrongtoken0000000000000000000000000000"),
            ClientOptions::default(),
        );
        assert_auth(
            &format!("{mode} token"),
            &c.system_info().await.unwrap_err(),
        );
        // The right password still works: nothing is locked or cached.
        assert_eq!(basic(&sim.url).me().await.unwrap().username, USER);
    }
}

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

fn assert_not_dhis2(call: &str, e: &Dhis2Error) {
    assert!(
        matches!(e, Dhis2Error::NotDhis2 { .. } | Dhis2Error::NotFound { .. }),
        "{call}: {e:?}"
    );
    assert!(!e.is_retryable() && !e.is_auth(), "{call}");
    assert!(e.to_string().contains("check the base URL"), "{call}: {e}");
}

#[tokio::test]
async fn servers_that_are_not_dhis2() {
    let not_found = serve(Router::new().fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            "<html><body>404 Not Found</body></html>",
        )
    }))
    .await;
    let it_works = serve(
        Router::new().fallback(|| async { Html("<html><body><h1>It works!</h1></body></html>") }),
    )
    .await;
    let some_json =
        serve(Router::new().fallback(|| async { axum::Json(json!({"status": "UP"})) })).await;

    for url in [&not_found, &it_works, &some_json] {
        let c = basic(url);
        let e = c.system_info().await.unwrap_err();
        assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{url}: {e:?}");
        assert_not_dhis2(&format!("{url} system_info"), &e);
    }
    let e = basic(&not_found).me().await.unwrap_err();
    assert_not_dhis2("404 me", &e);
    let e = basic(&it_works).me().await.unwrap_err();
    assert_not_dhis2("html me", &e);
    let e = basic(&it_works)
        .data_values(&dv_query(), 10)
        .await
        .unwrap_err();
    assert_not_dhis2("html data_values", &e);

    // A DHIS2 under a context path it does not have.
    let sim = SimProcess::start(&["--empty"]);
    let e = basic(&format!("{}/dhis", sim.url))
        .system_info()
        .await
        .unwrap_err();
    assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e:?}");
    assert!(e.to_string().contains("context path"), "{e}");

    // A closed port: refused at once, worth retrying later.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let started = Instant::now();
    let e = basic(&closed).system_info().await.unwrap_err();
    assert!(
        matches!(e, Dhis2Error::Transient { .. }) && e.is_retryable(),
        "{e:?}"
    );
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn token_auth_for_the_whole_flow() {
    let sim = SimProcess::start(&["--dhis2-version", "2.42"]);
    // A base URL ending in /api/ is accepted as well.
    let c = client_with(
        &format!("{}/api/", sim.url),
        Credentials::token(TOKEN),
        ClientOptions::default(),
    );
    c.ping().await.unwrap();
    let info = c.system_info().await.unwrap();
    assert_eq!((info.major, info.minor), (2, 42));
    assert_eq!(c.me().await.unwrap().username, USER);
    let mut pager = c
        .metadata_pages(
            "dataElements",
            MetadataQuery {
                page_size: 10,
                ..Default::default()
            },
        )
        .unwrap();
    let page = pager.next_page().await.unwrap().unwrap();
    assert_eq!(page.items.len(), 10);
    assert_eq!(page.info.total, Some(28));
    assert!(
        page.items[0].get("categoryCombo").is_some(),
        ":owner fields"
    );
    let query = TrackerQuery {
        page_size: 100,
        ..Default::default()
    };
    let mut events = c.tracker_pages(TrackerKind::Events, query).await.unwrap();
    assert_eq!(events.next_page().await.unwrap().unwrap().items.len(), 100);
    let report = c
        .import_metadata(
            &json!({"dataElements": [page.items[0]]}),
            &MetadataImportParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.stats.updated, 1);
}
