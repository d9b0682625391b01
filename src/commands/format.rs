//! Small text helpers for command output: times and durations (and, from
//! `crate::text`, inert text).

use chrono::{DateTime, Local, TimeZone};

pub use crate::text::inert;

/// A stored time (ms since the epoch) in local time, `-` when absent.
pub fn when(ms: Option<i64>) -> String {
    ms.and_then(|ms| Local.timestamp_millis_opt(ms).single())
        .map_or_else(
            || "-".into(),
            |t: DateTime<Local>| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

/// `in 4m 10s` / `3s ago` relative to `now` (ms).
pub fn relative(ms: i64, now: i64) -> String {
    let secs = (ms - now) / 1000;
    let d = humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs()));
    if secs >= 0 {
        format!("in {d}")
    } else {
        format!("{d} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(61_000, 0), "in 1m 1s");
        assert_eq!(relative(0, 5_000), "5s ago");
    }
}
