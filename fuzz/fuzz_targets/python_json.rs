//! Any bytes through the Python-compatible JSON hashing of the config-pull
//! connector: no panic; what it accepts it writes as pure ASCII that reads
//! back to the same text, so to the same hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::hashing::{python_json_dumps, python_json_md5};

fuzz_target!(|data: &[u8]| {
    let Ok(dumped) = python_json_dumps(data, None) else {
        assert!(python_json_md5(data, None).is_err());
        return;
    };
    assert!(dumped.is_ascii(), "not ASCII: {dumped:?}");
    let again = python_json_dumps(dumped.as_bytes(), None).expect("its own output is JSON");
    assert_eq!(again, dumped, "writing is idempotent");
    assert_eq!(
        python_json_md5(data, None).ok(),
        python_json_md5(dumped.as_bytes(), None).ok()
    );
});
