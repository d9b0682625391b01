//! Small text helpers for command output: times, durations, inert text.

use chrono::{DateTime, Local, TimeZone};

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

/// Text from outside (names, remote errors) with control characters made
/// visible, so nothing can drive the terminal.
pub fn inert(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_sent() {
        assert_eq!(inert("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(relative(61_000, 0), "in 1m 1s");
        assert_eq!(relative(0, 5_000), "5s ago");
    }
}
