//! `POST /api/dataValueSets` answers (and DATAVALUE_IMPORT task summaries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::parse_data_value_import;
use syncdeck_fuzz::{STATUSES, assert_inert, is_json};

fuzz_target!(|data: &[u8]| {
    for status in STATUSES {
        match parse_data_value_import(status, data) {
            Ok(summary) => {
                assert!(
                    (200..300).contains(&status) || status == 409,
                    "a summary accepted with HTTP {status}"
                );
                assert!(is_json(data), "accepted a body that is not JSON");
                let _ = summary.synced();
                let errors = summary.error_count();
                assert!(
                    errors == summary.conflicts.len() || errors == summary.rejected_indexes.len()
                );
            }
            Err(e) => assert_inert(&e, data),
        }
    }
});
