//! `POST /api/metadata` answers (and METADATA_IMPORT task summaries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::parse_metadata_import;
use syncdeck_fuzz::{STATUSES, assert_inert, is_json};

fuzz_target!(|data: &[u8]| {
    for status in STATUSES {
        match parse_metadata_import(status, data) {
            Ok(report) => {
                assert!(
                    (200..300).contains(&status) || status == 409,
                    "a report accepted with HTTP {status}"
                );
                assert!(is_json(data), "accepted a body that is not JSON");
                // The helpers the sync uses on a report.
                let by_code: usize = report.errors_by_code().values().map(Vec::len).sum();
                assert_eq!(by_code, report.error_count());
                let _ = report.stats.synced();
                for t in &report.type_reports {
                    let _ = report.stats_for(&t.klass);
                }
            }
            Err(e) => assert_inert(&e, data),
        }
    }
});
