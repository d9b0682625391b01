//! ISO periods as DHIS2 writes them (`2024`, `2024S1`, `2024Q1`, `202401`, `2024W5`,
//! `20240115`) and the date range each covers.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The first and last day of an ISO period, or None when it is not one we know.
pub fn period_range(iso: &str) -> Option<(NaiveDate, NaiveDate)> {
    let year: i32 = iso.get(..4)?.parse().ok()?;
    let rest = &iso[4..];
    let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let month_end = |y: i32, m: u32| {
        let next = if m == 12 {
            ymd(y + 1, 1, 1)
        } else {
            ymd(y, m + 1, 1)
        };
        next.map(|d| d - Duration::days(1))
    };
    if rest.is_empty() {
        return Some((ymd(year, 1, 1)?, ymd(year, 12, 31)?));
    }
    if let Some(q) = rest.strip_prefix('Q') {
        let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        let first = (q - 1) * 3 + 1;
        return Some((ymd(year, first, 1)?, month_end(year, first + 2)?));
    }
    if let Some(s) = rest.strip_prefix('S') {
        let s: u32 = s.parse().ok().filter(|s| (1..=2).contains(s))?;
        let first = (s - 1) * 6 + 1;
        return Some((ymd(year, first, 1)?, month_end(year, first + 5)?));
    }
    if let Some(w) = rest.strip_prefix('W') {
        let w: u32 = w.parse().ok()?;
        let start = NaiveDate::from_isoywd_opt(year, w, Weekday::Mon)?;
        return Some((start, start + Duration::days(6)));
    }
    if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
        let m: u32 = rest.parse().ok()?;
        return Some((ymd(year, m, 1)?, month_end(year, m)?));
    }
    if rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_digit()) {
        let d = ymd(year, rest[..2].parse().ok()?, rest[2..].parse().ok()?)?;
        return Some((d, d));
    }
    None
}

/// Monthly ISO period for a date (`202401`).
pub fn monthly(date: NaiveDate) -> String {
    format!("{:04}{:02}", date.year(), date.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_of_each_period_type() {
        assert_eq!(
            period_range("2024"),
            Some((d("2024-01-01"), d("2024-12-31")))
        );
        assert_eq!(
            period_range("2024Q2"),
            Some((d("2024-04-01"), d("2024-06-30")))
        );
        assert_eq!(
            period_range("2024S2"),
            Some((d("2024-07-01"), d("2024-12-31")))
        );
        assert_eq!(
            period_range("202402"),
            Some((d("2024-02-01"), d("2024-02-29")))
        );
        assert_eq!(
            period_range("202412"),
            Some((d("2024-12-01"), d("2024-12-31")))
        );
        assert_eq!(
            period_range("2024W1"),
            Some((d("2024-01-01"), d("2024-01-07")))
        );
        assert_eq!(
            period_range("20240115"),
            Some((d("2024-01-15"), d("2024-01-15")))
        );
        assert_eq!(period_range("2024Q5"), None);
        assert_eq!(period_range("202413"), None);
        assert_eq!(period_range("x"), None);
        assert_eq!(monthly(d("2024-03-09")), "202403");
    }
}
