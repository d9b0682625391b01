//! DHIS2 timestamps.
//!
//! DHIS2 writes `created`, `lastUpdated`, `serverDate`… as server-local wall time
//! without an offset (`2024-05-01T10:00:00.000`); older payloads append `+0000`,
//! CSV uses `Z`. Watermarks must stay in the *source server's* wall time, so parsing
//! keeps the wall time as written and reports any offset separately instead of
//! converting to the client's zone.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// Format DHIS2 accepts everywhere for filters (`lastUpdated:ge:…`, `updatedAfter=…`).
const WIRE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f";

/// Formats a timestamp as `yyyy-MM-ddTHH:mm:ss.SSS` (no offset: read in the server zone).
pub fn format_timestamp(ts: NaiveDateTime) -> String {
    ts.format(WIRE_FORMAT).to_string()
}

/// Formats a date as `yyyy-MM-dd` (the `startDate`/`endDate` parameters).
pub fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses any DHIS2 timestamp form into the wall time as written (server-local).
///
/// Accepts `2024-05-01T10:00:00.000`, `2024-05-01T10:00:00`, `2024-05-01T10:00`,
/// fractions of 1–9 digits, a space instead of `T`, a bare date, and a trailing
/// `Z`, `+0000`, `+03:00` or `+03` (the offset is dropped; see
/// [`parse_timestamp_with_offset`] to keep it).
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    parse_timestamp_with_offset(s).map(|(ts, _)| ts)
}

/// Like [`parse_timestamp`] but also returns the offset, when the string had one.
pub fn parse_timestamp_with_offset(s: &str) -> Option<(NaiveDateTime, Option<FixedOffset>)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (wall, offset) = split_offset(s)?;
    let ts = parse_wall(wall)?;
    Some((ts, offset))
}

/// Splits a trailing zone designator off. Returns `None` on a malformed offset.
fn split_offset(s: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(wall) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return Some((wall, FixedOffset::east_opt(0)));
    }
    // An offset sign can only follow the time part; `-` inside the date must not match.
    let Some(t_pos) = s.find(['T', ' ']) else {
        return Some((s, None));
    };
    let time_part = &s[t_pos + 1..];
    let Some(rel) = time_part.rfind(['+', '-']) else {
        return Some((s, None));
    };
    let sign_pos = t_pos + 1 + rel;
    let offset = parse_offset(&s[sign_pos..])?;
    Some((&s[..sign_pos], Some(offset)))
}

/// Parses `+0000`, `+03:00`, `-0530`, `+03`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

fn parse_wall(s: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    for f in FORMATS {
        if let Ok(ts) = NaiveDateTime::parse_from_str(s, f) {
            return Some(ts);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_milli_opt(h, mi, s, ms))
            .expect("valid test date")
    }

    #[test]
    fn parses_all_forms_as_wall_time() {
        let want = ts(2024, 5, 1, 10, 0, 0, 0);
        for s in [
            "2024-05-01T10:00:00.000",
            "2024-05-01T10:00:00",
            "2024-05-01T10:00",
            "2024-05-01 10:00:00",
            "2024-05-01T10:00:00.000+0000",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.000+03:00",
            "2024-05-01T10:00:00-05",
            " 2024-05-01T10:00:00.000 ",
        ] {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_timestamp("2024-05-01"),
            Some(ts(2024, 5, 1, 0, 0, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2021-08-30T13:56:20.417000"),
            Some(ts(2021, 8, 30, 13, 56, 20, 417))
        );
    }

    #[test]
    fn keeps_offsets_separately() {
        let (_, off) = parse_timestamp_with_offset("2024-05-01T10:00:00.000+03:00").unwrap();
        assert_eq!(off, FixedOffset::east_opt(3 * 3600));
        let (_, off) = parse_timestamp_with_offset("2024-05-01T10:00:00-0530").unwrap();
        assert_eq!(off, FixedOffset::east_opt(-(5 * 3600 + 30 * 60)));
        let (_, off) = parse_timestamp_with_offset("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(off, FixedOffset::east_opt(0));
        let (_, off) = parse_timestamp_with_offset("2024-05-01T10:00:00.123").unwrap();
        assert_eq!(off, None);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T10:00:00",
            "2024-05-01T10:00:00+99:00",
            "2024-05-01T10:00:00+0",
            "2024-05-01T25:00:00",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn formats_with_millis_and_no_offset() {
        assert_eq!(
            format_timestamp(ts(2024, 5, 1, 10, 0, 0, 7)),
            "2024-05-01T10:00:00.007"
        );
        let round = parse_timestamp("2017-11-29T11:27:46.935").unwrap();
        assert_eq!(format_timestamp(round), "2017-11-29T11:27:46.935");
        assert_eq!(
            format_date(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()),
            "1900-01-01"
        );
    }
}
