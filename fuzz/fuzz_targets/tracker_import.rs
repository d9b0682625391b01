//! `POST /api/tracker` reports (sync answers and finished jobs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::{TrackerType, parse_tracker_import};
use syncdeck_fuzz::{STATUSES, assert_inert, is_json};

fuzz_target!(|data: &[u8]| {
    for status in STATUSES {
        match parse_tracker_import(status, data) {
            Ok(report) => {
                assert!(
                    (200..300).contains(&status) || status == 409,
                    "a report accepted with HTTP {status}"
                );
                assert!(is_json(data), "accepted a body that is not JSON");
                let by_code: usize = report.errors_by_code().values().map(Vec::len).sum();
                assert_eq!(by_code, report.errors().len());
                let _ = report.error_count();
                for t in [
                    TrackerType::TrackedEntity,
                    TrackerType::Enrollment,
                    TrackerType::Event,
                    TrackerType::Relationship,
                ] {
                    let _ = report.type_stats(t);
                }
            }
            Err(e) => assert_inert(&e, data),
        }
    }
});
