//! `response::check` and the helpers it uses, on any status, content type,
//! redirect and `Retry-After` with the input as the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::response::{
    ResponseMeta, check, conflict, html_error, is_login_location, looks_like_login_page,
    parse_retry_after, web_message,
};
use syncdeck_fuzz::assert_inert;

const STATUSES: [u16; 14] = [
    200, 204, 302, 400, 401, 403, 404, 408, 409, 413, 429, 500, 501, 599,
];
const TYPES: [Option<&str>; 4] = [
    Some("application/json;charset=UTF-8"),
    Some("text/html"),
    Some("text/plain"),
    None,
];

fuzz_target!(|data: &[u8]| {
    // The body's first line doubles as the header values a server could send.
    let text = String::from_utf8_lossy(data);
    let header = text.lines().next().unwrap_or("").to_string();
    for status in STATUSES {
        for content_type in TYPES {
            let meta = ResponseMeta {
                status,
                content_type: content_type.map(str::to_string),
                location: Some(header.clone()),
                retry_after: Some(header.clone()),
                url: "http://fuzz/api/x".into(),
            };
            match check(&meta, data) {
                Ok(()) => assert!((200..300).contains(&status), "HTTP {status} accepted"),
                Err(e) => assert_inert(&e, data),
            }
        }
    }
    if let Some(m) = web_message(data) {
        assert!(!m.chars().any(char::is_control), "{m:?}");
    }
    let _ = looks_like_login_page(data);
    let _ = is_login_location(&header);
    let _ = parse_retry_after(&header, chrono::Utc::now());
    assert_inert(&conflict(data), data);
    assert_inert(&html_error("http://fuzz/", data), data);
});
