//! What every target checks besides "no panic": the properties of a parser
//! of hostile input that hold whatever the parser's exact rules (so they
//! survive the parsers becoming stricter).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use syncdeck::connectors::dhis2::Dhis2Error;

/// The statuses a report body is tried with: success, created, the 409 that
/// still carries a report, and errors that must never parse as a report.
pub const STATUSES: [u16; 8] = [200, 201, 409, 302, 401, 404, 500, 503];

/// An error is shown on a terminal and written to logs: it must be one
/// line without control characters (text from the body is escaped), and
/// bounded (a 50 MB body must not become a 50 MB message).
pub fn assert_inert(e: &Dhis2Error, input: &[u8]) {
    let text = e.to_string();
    assert!(
        !text.chars().any(char::is_control),
        "control character in an error message: {text:?}"
    );
    // Each echoed character may grow tenfold when escaped (`\u{1b}`); 2 KiB
    // of it is already more than any message quotes.
    assert!(
        text.len() <= 20 * 1024,
        "error message of {} bytes for {} bytes of input",
        text.len(),
        input.len()
    );
}

/// The body as a JSON value, if it is one.
pub fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// Whether the body is one JSON document, as far as serde_json checks a
/// value it skips: the syntax, but not the UTF-8 of strings nor the range
/// of numbers (a parser that ignores a key is right not to care).
pub fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

/// For a JSON object: how many items its `dataValues` lists hold (every
/// occurrence of the key counted: a streaming parser sees them all), or
/// `None` when it has no such list. `Err` when the body is not a JSON
/// object.
pub fn data_values_items(body: &[u8]) -> Result<Option<usize>, serde_json::Error> {
    struct Probe;
    impl<'de> Visitor<'de> for Probe {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<usize>, A::Error> {
            let mut items: Option<usize> = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == "dataValues" {
                    if let Some(list) = map.next_value::<Option<Vec<IgnoredAny>>>()? {
                        *items.get_or_insert(0) += list.len();
                    }
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(items)
        }
    }
    struct Root;
    impl<'de> DeserializeSeed<'de> for Root {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_map(Probe)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let items = Root.deserialize(&mut de)?;
    de.end()?;
    Ok(items)
}
