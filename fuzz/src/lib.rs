//! What every target checks besides "no panic": the properties of a parser
//! of hostile input that hold whatever the parser's exact rules (so they
//! survive the parsers becoming stricter).

use std::sync::OnceLock;

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

/// The body as JSON, if it is. Invalid UTF-8 inside a string is let
/// through (as U+FFFD): serde_json does not validate the strings it skips
/// (keys a parser ignores), and their content is never used.
pub fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body)
        .or_else(|_| serde_json::from_str(&String::from_utf8_lossy(body)))
        .ok()
}

/// `SYNCDECK_FUZZ_STRICT=1`: also check the rules of the stricter parsers
/// (issue 14: an export or report is accepted only when the body is the
/// document the endpoint returns), which the current parsers do not all
/// follow yet.
pub fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var("SYNCDECK_FUZZ_STRICT").as_deref() == Ok("1"))
}
