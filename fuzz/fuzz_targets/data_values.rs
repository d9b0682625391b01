//! `GET /api/dataValueSets` bodies through the streaming parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::connectors::dhis2::parse_data_values;
use syncdeck_fuzz::{assert_inert, data_values_items};

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
            // Accepted means one JSON object with a `dataValues` list (what
            // dhis2-core's JsonDataValueSetWriter always writes), and values
            // come only from it.
            let items = data_values_items(data).expect("accepted a body that is not a JSON object");
            let items = items.expect("accepted a body without a `dataValues` list");
            assert!(items as u64 >= total, "{total} values from {items} items");
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
