//! Text from outside (remote names, error messages, config values) made safe
//! to print: control and bidi characters are shown escaped, never sent to the
//! terminal.
//!
//! Also the formats the CLI and the console share: sizes, times, and relative
//! times (one function per form, named by where it is printed).

/// Escapes control and bidi characters (so network text can't drive the
/// terminal) and caps the length in characters.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars));
    for (n, c) in text.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`sanitize`] without a length cap.
pub fn inert(text: &str) -> String {
    sanitize(text, usize::MAX)
}

/// Where the user info (`user:password@`) of a URL would be: the bytes
/// between `scheme://` and the last `@` of the authority. Textual, so it
/// also finds credentials in a URL that does not parse.
fn user_info_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    // WHATWG ends the authority at '/', '?', '#' and, for http(s), '\'.
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    Some(start..start + at)
}

/// Whether `url` carries a username and/or password (`http://u:p@host`).
pub fn has_user_info(url: &str) -> bool {
    user_info_range(url).is_some()
}

/// `url` with its user info replaced by `***`, for showing a URL that may
/// hold a password (one stored before `apply` refused them).
pub fn redact_user_info(url: &str) -> String {
    match user_info_range(url) {
        Some(r) => format!("{}***{}", &url[..r.start], &url[r.end..]),
        None => url.to_string(),
    }
}

/// `url` without its user info and the `@` after it.
pub fn without_user_info(url: &str) -> String {
    match user_info_range(url) {
        Some(r) => format!("{}{}", &url[..r.start], &url[r.end + 1..]),
        None => url.to_string(),
    }
}

/// A size in bytes for people: `512 B`, `27.5 KiB`, `3.4 MiB`, `1.02 GiB`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// A stored time (ms since the epoch) in local time, `-` when absent.
pub fn when(ms: Option<i64>) -> String {
    use chrono::{DateTime, Local, TimeZone};
    ms.and_then(|ms| Local.timestamp_millis_opt(ms).single())
        .map_or_else(
            || "-".into(),
            |t: DateTime<Local>| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

// Relative times: a time (ms) against now (ms), in the three forms the
// program prints. All of them live here so one rule decides each form.

/// For a sentence the CLI or a log prints: `in 30s`, `2m ago`,
/// `4m 10s ago`, `now` (within a second); see [`duration_sentence`].
pub fn relative_sentence(at: i64, now: i64) -> String {
    let secs = (at - now) / 1000;
    let d = duration_sentence(secs.unsigned_abs());
    match secs {
        0 => "now".to_string(),
        1.. => format!("in {d}"),
        _ => format!("{d} ago"),
    }
}

/// A duration in seconds for a sentence the CLI or a log prints: its two
/// largest units, a zero second one left out: `8s`, `2m`, `4m 10s`,
/// `2h 5m`, `3d 4h`. (Exact settings are shown in the configuration file's
/// own form, `config::spec::format_duration`.)
pub fn duration_sentence(secs: u64) -> String {
    let (big, big_unit, small, small_unit) = match secs {
        0..60 => return format!("{secs}s"),
        60..3600 => (secs / 60, "m", secs % 60, "s"),
        3600..86400 => (secs / 3600, "h", (secs % 3600) / 60, "m"),
        _ => (secs / 86400, "d", (secs % 86400) / 3600, "h"),
    };
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit} {small}{small_unit}")
    }
}

/// The time between two stored times (ms), for a sentence: `took 8s`.
pub fn elapsed_sentence(from: i64, to: i64) -> String {
    duration_sentence(u64::try_from((to - from).max(0) / 1000).unwrap_or(0))
}

/// For a console column, two units at most: `in 4m12s`, `2m00s ago`.
pub fn relative_column(at: i64, now: i64) -> String {
    let d = (at - now) / 1000;
    if d >= 0 {
        format!("in {}", duration_column(d as u64))
    } else {
        format!("{} ago", duration_column(d.unsigned_abs()))
    }
}

/// For a narrow console column, one unit: `in 4m`, `2m ago`.
pub fn relative_narrow(at: i64, now: i64) -> String {
    let d = (at - now) / 1000;
    if d >= 0 {
        format!("in {}", duration_narrow(d as u64))
    } else {
        format!("{} ago", duration_narrow(d.unsigned_abs()))
    }
}

/// A past moment for a console line: `just now`, `8s ago`, `2m ago`. A
/// time a little ahead of our clock (another host's) is now, not `in 0s`.
pub fn ago_narrow(at: i64, now: i64) -> String {
    match (now - at) / 1000 {
        ..1 => "just now".into(),
        s => format!("{} ago", duration_narrow(s as u64)),
    }
}

/// Seconds for a console column: `42s`, `4m12s`, `2h05m`, `3d4h`.
pub fn duration_column(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// Seconds as one unit, for narrow columns: `42s`, `4m`, `2h`, `3d`.
pub fn duration_narrow(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative_sentence(61_000, 0), "in 1m 1s");
        assert_eq!(relative_sentence(0, 5_000), "5s ago");
        assert_eq!(relative_sentence(30_000, 0), "in 30s");
        assert_eq!(relative_sentence(0, 120_400), "2m ago");
        assert_eq!(relative_sentence(400, 0), "now");
        assert_eq!(duration_sentence(8), "8s");
        assert_eq!(duration_sentence(0), "0s");
        assert_eq!(duration_sentence(250), "4m 10s");
        assert_eq!(duration_sentence(7_500), "2h 5m");
        assert_eq!(duration_sentence(7_200), "2h");
        assert_eq!(duration_sentence(277_000), "3d 4h");
        assert_eq!(elapsed_sentence(1_000, 9_900), "8s");
        assert_eq!(elapsed_sentence(9_000, 1_000), "0s");
        assert_eq!(relative_column(0, 120_000), "2m00s ago");
        assert_eq!(relative_column(252_000, 0), "in 4m12s");
        assert_eq!(relative_narrow(252_000, 0), "in 4m");
        assert_eq!(duration_column(252), "4m12s");
        assert_eq!(duration_column(7_500), "2h05m");
        assert_eq!(duration_narrow(7_500), "2h");
        assert_eq!(ago_narrow(0, 8_000), "8s ago");
        assert_eq!(ago_narrow(0, 125_000), "2m ago");
        assert_eq!(ago_narrow(3_000, 0), "just now");
    }

    #[test]
    fn user_info_is_found_and_redacted_even_in_a_url_that_does_not_parse() {
        for (url, redacted) in [
            (
                "http://admin:s3cret@host:8080/dhis",
                "http://***@host:8080/dhis",
            ),
            ("https://d2pat_abc@host", "https://***@host"),
            ("http://a:b@c@host/x@y", "http://***@host/x@y"),
            ("http://admin:s3cret@host:99999", "http://***@host:99999"),
            ("http://u:p@host\\x", "http://***@host\\x"),
        ] {
            assert!(has_user_info(url), "{url}");
            assert_eq!(redact_user_info(url), redacted);
            assert_eq!(without_user_info(url), redacted.replace("***@", ""));
        }
        for url in [
            "http://host/path@x",
            "http://host?q=a@b",
            "host@x",
            "http://host#@",
        ] {
            assert!(!has_user_info(url), "{url}");
            assert_eq!(redact_user_info(url), url);
        }
    }

    #[test]
    fn escapes_are_shown_not_sent() {
        assert_eq!(inert("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(sanitize("a\u{202E}bcd", 2), "a\\u{202e}…");
    }
}
