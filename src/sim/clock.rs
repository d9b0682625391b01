//! The simulator's clock. DHIS2 reports times in the server's zone without an
//! offset; the simulator runs in a fixed zone three hours east of UTC so that a
//! client using its own clock instead of `serverDate` gets visibly wrong answers.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

pub const SERVER_TIME_ZONE_ID: &str = "Africa/Nairobi";
const OFFSET_SECONDS: i32 = 3 * 3600;

fn offset() -> FixedOffset {
    FixedOffset::east_opt(OFFSET_SECONDS).expect("constant offset is valid")
}

/// Current server-local time.
pub fn now() -> NaiveDateTime {
    Utc::now().with_timezone(&offset()).naive_local()
}

/// Milliseconds of a server-local time, the compact form stored for data values.
pub fn to_millis(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis()
}

pub fn from_millis(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc()
}

/// `2024-05-01T10:00:00.000`, the form DHIS2 writes.
pub fn format(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// Parses the forms DHIS2 accepts in filters: date only, local date-time with or
/// without fraction, and date-time with `Z`/`+hh:mm`/`+hhmm` (converted to server time).
pub fn parse(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&offset()).naive_local());
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&offset()).naive_local());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_dhis2_form() {
        let local = parse("2024-05-01T10:00:00.000").unwrap();
        assert_eq!(format(local), "2024-05-01T10:00:00.000");
        assert_eq!(parse("2024-05-01T10:00:00").unwrap(), local);
        assert_eq!(parse("2024-05-01T07:00:00.000Z").unwrap(), local);
        assert_eq!(parse("2024-05-01T07:00:00.000+0000").unwrap(), local);
        assert_eq!(parse("2024-05-01T10:00:00+03:00").unwrap(), local);
        assert_eq!(
            format(parse("2024-05-01").unwrap()),
            "2024-05-01T00:00:00.000"
        );
        assert!(parse("yesterday").is_none());
    }

    #[test]
    fn millis_round_trip() {
        let t = parse("2023-12-31T23:59:59.123").unwrap();
        assert_eq!(from_millis(to_millis(t)), t);
    }
}
