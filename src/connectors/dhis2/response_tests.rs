//! Tests of response classification.

use super::*;

fn meta(status: u16, ct: Option<&str>) -> ResponseMeta {
    ResponseMeta {
        status,
        content_type: ct.map(str::to_string),
        url: "http://h/api/x".into(),
        ..Default::default()
    }
}

#[test]
fn json_success_is_ok() {
    assert!(check(&meta(200, Some("application/json;charset=UTF-8")), b"{}").is_ok());
    assert!(check(&meta(201, Some("application/vnd.x+json")), b"{}").is_ok());
    assert!(check(&meta(200, None), b"  [1]").is_ok());
}

#[test]
fn html_login_page_is_auth_other_html_is_not_dhis2() {
    let login = b"<html><form action=\"/dhis-web-commons-security/login.action\"><input name=\"j_username\"></form></html>";
    let e = check(&meta(200, Some("text/html;charset=UTF-8")), login).unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!e.is_retryable());
    let e = check(
        &meta(200, Some("text/html")),
        b"<html><body>Welcome to nginx</body></html>",
    )
    .unwrap_err();
    assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
    assert!(e.to_string().contains("context path"));
    // No content type but an HTML body: still sniffed.
    let e = check(&meta(200, None), login).unwrap_err();
    assert!(e.is_auth());
}

#[test]
fn non_json_content_type_is_bad_payload() {
    let e = check(&meta(200, Some("text/plain")), b"pong\x1b[2J").unwrap_err();
    match e {
        Dhis2Error::BadPayload { first_bytes, .. } => {
            assert!(first_bytes.starts_with("pong"));
            assert!(!first_bytes.contains('\x1b'));
        }
        other => panic!("{other}"),
    }
    let e = check(&meta(200, None), b"garbage").unwrap_err();
    assert!(matches!(e, Dhis2Error::BadPayload { .. }));
}

#[test]
fn redirects() {
    let mut m = meta(302, None);
    m.location = Some("https://h/dhis-web-login/".into());
    assert!(check(&m, b"").unwrap_err().is_auth());
    m.location = Some("https://h/dhis-web-commons/security/login.action".into());
    assert!(check(&m, b"").unwrap_err().is_auth());
    m.location = Some("https://other/elsewhere".into());
    assert!(matches!(
        check(&m, b"").unwrap_err(),
        Dhis2Error::NotDhis2 { .. }
    ));
    assert!(is_login_location("/api/../login"));
    assert!(!is_login_location("https://h/api/system/info"));
}

#[test]
fn status_codes() {
    let j = Some("application/json");
    assert!(check(&meta(401, j), b"{}").unwrap_err().is_auth());
    let e = check(
        &meta(403, j),
        br#"{"httpStatus":"Forbidden","httpStatusCode":403,"status":"ERROR","message":"Access is denied"}"#,
    )
    .unwrap_err();
    assert!(
        matches!(e, Dhis2Error::Forbidden { ref message, .. } if message == "Access is denied")
    );
    assert!(
        check(&meta(403, Some("text/html")), b"<html>")
            .unwrap_err()
            .is_auth()
    );
    assert!(matches!(
        check(&meta(404, j), b"{}").unwrap_err(),
        Dhis2Error::NotFound { .. }
    ));
    for s in [408, 429, 500, 502, 503, 504, 507] {
        let e = check(&meta(s, j), b"").unwrap_err();
        assert!(e.is_retryable(), "{s}");
    }
    let e = check(
        &meta(400, j),
        br#"{"status":"ERROR","message":"pageSize too big\u001b[0m","errorCode":"E1000"}"#,
    )
    .unwrap_err();
    match e {
        Dhis2Error::BadRequest {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert!(message.starts_with("E1000: pageSize too big"));
            assert!(!message.contains('\x1b'));
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        check(&meta(413, Some("text/html")), b"<html>").unwrap_err(),
        Dhis2Error::BadRequest { status: 413, .. }
    ));
    assert!(!check(&meta(501, j), b"").unwrap_err().is_retryable());
}

#[test]
fn retry_after_header() {
    let mut m = meta(503, None);
    m.retry_after = Some("120".into());
    assert_eq!(
        check(&m, b"").unwrap_err().retry_after(),
        Some(Duration::from_secs(120))
    );
    let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
}

#[test]
fn conflict_without_report_keeps_message() {
    let e = check(
        &meta(409, Some("application/json")),
        br#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"ERROR","message":"At least one data set must be specified","errorCode":"E2002"}"#,
    )
    .unwrap_err();
    match &e {
        Dhis2Error::Conflict { message, report } => {
            assert!(message.contains("E2002"));
            assert!(report.is_none());
        }
        other => panic!("{other}"),
    }
    assert!(!e.is_retryable());
}

#[test]
fn conflict_detects_report_kinds() {
    let md = br#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"WARNING","response":{"status":"ERROR","stats":{"created":0,"updated":0,"deleted":0,"ignored":1,"total":1},"typeReports":[]}}"#;
    assert!(matches!(
        conflict(md).into_report(),
        Ok(ConflictReport::Metadata(_))
    ));
    let dv = br#"{"status":"WARNING","response":{"status":"WARNING","importCount":{"imported":0,"updated":0,"ignored":1,"deleted":0},"conflicts":[]}}"#;
    assert!(matches!(
        conflict(dv).into_report(),
        Ok(ConflictReport::DataValues(_))
    ));
    let tr = br#"{"status":"ERROR","validationReport":{"errorReports":[]},"stats":{"ignored":1}}"#;
    assert!(matches!(
        conflict(tr).into_report(),
        Ok(ConflictReport::Tracker(_))
    ));
    assert!(conflict(b"<html>").into_report().is_err());
}

#[test]
fn url_for_message_strips_query_and_userinfo() {
    let u = url::Url::parse("https://u:p@h/dhis/api/x?filter=a#f").unwrap();
    assert_eq!(url_for_message(&u), "https://h/dhis/api/x");
}
