//! The simulator's clock. DHIS2 reports times in the server's zone without an
//! offset; the simulator runs in a chosen zone (`--time-zone`, default
//! `Africa/Nairobi`, three hours east of UTC) so that a client using its own
//! clock instead of `serverDate` gets visibly wrong answers.
//!
//! The zone is one per process (`syncdeck sim` serves one simulator): [`set_zone`]
//! fixes it before the first request. Only zones without daylight saving time
//! are offered, so a fixed offset is exact all year (no zone database needed).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Offset, Utc};

/// A server time zone: its IANA name (`serverTimeZoneId`) and UTC offset.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub id: &'static str,
    offset_seconds: i32,
}

/// Zones without daylight saving time (stable offsets since 2010 at least).
pub const ZONES: &[Zone] = &[
    Zone::new("Africa/Nairobi", 3 * 3600),
    Zone::new("America/Bogota", -5 * 3600),
    Zone::new("America/Lima", -5 * 3600),
    Zone::new("America/Guatemala", -6 * 3600),
    Zone::new("Asia/Kolkata", 5 * 3600 + 1800),
    Zone::new("Asia/Dhaka", 6 * 3600),
    Zone::new("Africa/Lagos", 3600),
    Zone::new("Etc/UTC", 0),
    Zone::new("UTC", 0),
];

pub const DEFAULT_ZONE: Zone = ZONES[0];

impl Zone {
    const fn new(id: &'static str, offset_seconds: i32) -> Zone {
        Zone { id, offset_seconds }
    }

    /// A zone of [`ZONES`] by its IANA name, exactly.
    pub fn named(id: &str) -> Result<Zone, String> {
        ZONES.iter().copied().find(|z| z.id == id).ok_or_else(|| {
            let names: Vec<&str> = ZONES.iter().map(|z| z.id).collect();
            format!(
                "unknown or unsupported time zone `{id}`: the simulator offers zones without daylight saving time: {}",
                names.join(", ")
            )
        })
    }

    pub fn offset(self) -> FixedOffset {
        FixedOffset::east_opt(self.offset_seconds).unwrap_or(Utc.fix())
    }

    fn offset_duration(self) -> Duration {
        Duration::seconds(i64::from(self.offset_seconds))
    }
}

static ZONE: OnceLock<Zone> = OnceLock::new();

/// Fixes the process's server zone; a second, different zone is refused.
pub fn set_zone(zone: Zone) -> Result<(), String> {
    let set = *ZONE.get_or_init(|| zone);
    if set == zone {
        Ok(())
    } else {
        Err(format!(
            "this process already serves a simulator in {}; one time zone per process (start another `syncdeck sim` for {})",
            set.id, zone.id
        ))
    }
}

pub fn zone() -> Zone {
    ZONE.get().copied().unwrap_or(DEFAULT_ZONE)
}

/// How far the clock has been put forward (`POST /api/_sim/clock`), in ms:
/// a test makes time pass at the server without waiting for it.
static AHEAD_MS: AtomicI64 = AtomicI64::new(0);

/// Puts the process's clock forward by `by` (never back: DHIS2 times only grow).
pub fn advance(by: Duration) {
    AHEAD_MS.fetch_add(by.num_milliseconds().max(0), Ordering::Relaxed);
}

/// Current server-local time.
pub fn now() -> NaiveDateTime {
    let ahead = Duration::milliseconds(AHEAD_MS.load(Ordering::Relaxed));
    (Utc::now() + ahead)
        .with_timezone(&zone().offset())
        .naive_local()
}

/// The UTC wall time of a server-local time.
pub fn local_to_utc(t: NaiveDateTime) -> NaiveDateTime {
    t - zone().offset_duration()
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

/// A server-local time as the data value export writes it: converted to UTC
/// with `+0000` (`DateUtils.toLongGmtDate` over a `timestamp without time zone`
/// read in the JVM zone; 2.41.3 dxf2/datavalueset/SpringDataValueSetStore.java
/// `getLastUpdated`, `getLongGmtDateString` in 2.39.6/2.40.5).
pub fn format_utc(local: NaiveDateTime) -> String {
    format!("{}+0000", format(local_to_utc(local)))
}

/// Parses the forms DHIS2 accepts in filters: date only, local date-time with or
/// without fraction (read in the server zone), and date-time with
/// `Z`/`+hh:mm`/`+hhmm` (converted to server time).
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
    let offset = zone().offset();
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&offset).naive_local());
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&offset).naive_local());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unit tests run in one process: they rely on the default zone (nothing in
    // the library's tests calls `set_zone`).
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

    #[test]
    fn zones_by_name_and_utc_form() {
        assert_eq!(
            Zone::named("America/Bogota").unwrap().offset_seconds,
            -18_000
        );
        let err = Zone::named("Europe/Oslo").unwrap_err();
        assert!(
            err.contains("Europe/Oslo") && err.contains("America/Bogota"),
            "{err}"
        );
        let local = parse("2024-05-01T10:00:00.000").unwrap();
        assert_eq!(format_utc(local), "2024-05-01T07:00:00.000+0000");
    }
}
