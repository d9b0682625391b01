//! `GET /api/dataValueSets` bodies through the streaming parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::parse_data_values;
use syncdeck_fuzz::{assert_inert, json, strict};

fuzz_target!(|data: &[u8]| {
    // Small batches so a short input still spans several of them.
    let batch_size = 3;
    let mut seen = 0u64;
    let result = parse_data_values(data, batch_size, "http://fuzz/api/dataValueSets", |batch| {
        assert!(
            !batch.is_empty() && batch.len() <= batch_size,
            "batch of {}",
            batch.len()
        );
        seen += batch.len() as u64;
        true
    });
    match result {
        Ok(total) => {
            assert_eq!(total, seen, "the total is what was handed over");
            // Accepted means a whole JSON document…
            let doc = json(data).expect("accepted a body that is not JSON");
            // …and values come only from a `dataValues` list.
            let key = doc.get("dataValues");
            if total > 0 || strict() {
                let list = key.and_then(|v| v.as_array());
                let list = list.expect("accepted a body without a `dataValues` list");
                assert!(
                    list.len() as u64 >= total,
                    "{total} values from {} items",
                    list.len()
                );
            }
        }
        Err(e) => assert_inert(&e, data),
    }
    // Stopping early (cancellation) is never an error and hands over no more.
    let mut batches = 0;
    let stopped = parse_data_values(data, 1, "fuzz", |_| {
        batches += 1;
        false
    });
    if let Ok(total) = stopped {
        assert!(batches <= 1 && total <= 1, "{batches} batches after stop");
    }
});
