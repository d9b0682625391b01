//! Paged list answers (`/api/{plural}`, `/api/tracker/*`), every envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use syncdeck::connectors::dhis2::parse_page;
use syncdeck_fuzz::{assert_inert, json};

/// As the connectors ask: a metadata plural, then the tracker keys of
/// 2.41+ and of ≤2.40.
const KEYS: &[&str] = &["organisationUnits", "trackedEntities", "instances"];

fuzz_target!(|data: &[u8]| {
    match parse_page::<Value>(data, KEYS, "fuzz list") {
        Ok(page) => {
            let doc = json(data).expect("accepted a body that is not JSON");
            let obj = doc
                .as_object()
                .expect("accepted a body that is not an object");
            // Items are the first list present, all of them, in order.
            match KEYS.iter().find_map(|k| obj.get(*k)) {
                Some(Value::Array(items)) => assert_eq!(&page.items, items),
                Some(Value::Null) | None => assert!(page.items.is_empty()),
                Some(other) => panic!("accepted a non-list {other}"),
            }
            let n = page.items.len();
            for (requested, size) in [(1, 50), (page.info.page, n as u32), (u32::MAX, 0)] {
                let _ = page.info.is_last(requested, size, n);
            }
        }
        Err(e) => assert_inert(&e, data),
    }
});
