//! Paged list answers (`/api/{plural}`, `/api/tracker/*`), in each envelope
//! the connectors ask for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use syncdeck::connectors::dhis2::{Envelope, parse_page};
use syncdeck_fuzz::{assert_inert, json};

fuzz_target!(|data: &[u8]| {
    let envelopes = [
        Envelope::metadata("organisationUnits"),
        Envelope::TrackerFlat,
        Envelope::TrackerPager {
            key: "trackedEntities".into(),
        },
    ];
    for envelope in &envelopes {
        match parse_page::<Value>(data, envelope, "fuzz list") {
            Ok(page) => {
                let doc = json(data).expect("accepted a body that is not JSON");
                let obj = doc
                    .as_object()
                    .expect("accepted a body that is not an object");
                // Items are the envelope's list, all of them, in order.
                match obj.get(envelope.key()) {
                    Some(Value::Array(items)) => assert_eq!(&page.items, items),
                    Some(Value::Null) | None => assert!(page.items.is_empty()),
                    Some(other) => panic!("accepted a non-list {other}"),
                }
                // A `pager` is required wherever the version writes one.
                if !matches!(envelope, Envelope::TrackerFlat) {
                    assert!(
                        obj.get("pager").is_some_and(Value::is_object),
                        "accepted {envelope:?} without a pager"
                    );
                }
                let n = page.items.len();
                for (requested, size) in [(1, 50), (page.info.page, n as u32), (u32::MAX, 0)] {
                    let _ = page.info.is_last(requested, size, n);
                    let _ = page.info.inconsistency(requested, size, n);
                }
            }
            Err(e) => assert_inert(&e, data),
        }
    }
});
