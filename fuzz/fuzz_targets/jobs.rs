//! Async job answers: the acknowledgement and the notification lists polled.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::jobs::{is_completed, latest};
use syncdeck::connectors::dhis2::{parse_job_started, parse_notifications};
use syncdeck_fuzz::{STATUSES, assert_inert, is_json, json};

fuzz_target!(|data: &[u8]| {
    for status in STATUSES {
        match parse_notifications(status, data) {
            Ok(list) => {
                assert!(
                    (200..300).contains(&status),
                    "notifications with HTTP {status}"
                );
                assert!(
                    is_json(data) && data.trim_ascii_start().starts_with(b"["),
                    "not a JSON list"
                );
                let _ = is_completed(&list);
                if let Some(n) = latest(&list) {
                    assert!(list.iter().any(|m| std::ptr::eq(m, n)));
                    let _ = (n.timestamp(), n.is_error());
                } else {
                    assert!(list.is_empty());
                }
            }
            Err(e) => assert_inert(&e, data),
        }
        match parse_job_started(status, data) {
            Ok(job) => {
                assert!(
                    (200..300).contains(&status),
                    "a job started with HTTP {status}"
                );
                let doc = json(data).expect("accepted a body that is not JSON");
                assert_eq!(
                    doc.pointer("/response/id").and_then(|v| v.as_str()),
                    Some(job.id.as_str())
                );
            }
            Err(e) => assert_inert(&e, data),
        }
    }
});
