//! The viewer's core (`LogDocument`) on a real file: first screen, level
//! filter, next error, search with a count and n/N, go to time, export,
//! inert display lines.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;

use syncdeck::logs::export::default_exports_dir;
use syncdeck::logs::{LogCatalog, LogDocument, LogLevel, SearchQuery};

/// 2,000 lines; every 100th an ERROR, every 10th a WARN; a minute apart
/// from 2025-03-04 00:00.
fn write_log(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for i in 0..2000u32 {
        let level = if i % 100 == 50 {
            "ERROR"
        } else if i % 10 == 5 {
            "WARN"
        } else {
            "INFO"
        };
        let (h, m) = (i / 60 % 24, i % 60);
        let day = 4 + i / 1440;
        let _ = writeln!(
            text,
            "[AUTO-SYNC] [{level}] 2025-03-{day:02} {h:02}:{m:02}:00 [sync_jobs] - line {i}\tjob={}",
            i % 7
        );
    }
    text.push_str("[AUTO-SYNC] [ERROR] 2025-03-05 09:20:00 [x] - \u{1b}]0;title\u{7} last\n");
    std::fs::write(dir.join("sync_jobs.log"), &text).unwrap();
    text
}

#[test]
fn a_document_for_the_console_view() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    let catalog = LogCatalog::new(dir.path());
    let mut doc = LogDocument::open(&catalog.select("sync_jobs.log").unwrap()).unwrap();
    // The first screen comes from the end, indexed or not.
    let first = doc.first_screen(3).unwrap();
    assert_eq!(first.len(), 3);
    assert!(first[0].text.ends_with("line 1998  job=3"), "{first:?}");
    let last = &first[2];
    assert_eq!(
        last.text,
        "[AUTO-SYNC] [ERROR] 2025-03-05 09:20:00 [x] - \\u{1b}]0;title\\u{7} last"
    );
    assert_eq!(last.level, Some(LogLevel::Error));

    doc.wait_indexed();
    assert!(doc.index_status().done);
    assert_eq!(doc.line_count(), 2001);
    assert!(doc.index_heap_bytes() >= 2001 * 9);
    let screen = doc.first_screen(2).unwrap();
    assert_eq!(screen[1].line, Some(2000));

    // Level filter: rows are the WARN+ lines.
    doc.set_level_filter(Some(LogLevel::Warn));
    assert_eq!(doc.row_count(), 221);
    let rows = doc.visible_lines(0, 2);
    assert_eq!(rows[0].line, Some(5));
    assert_eq!(rows[1].line, Some(15));
    // Next / previous error from the top and from the end.
    let e = doc.next_level(0, LogLevel::Error, true).unwrap();
    assert_eq!(doc.row_line(e), Some(50));
    let e = doc
        .next_level(doc.row_count() - 1, LogLevel::Error, false)
        .unwrap();
    assert_eq!(doc.row_line(e), Some(1950));
    doc.set_level_filter(None);
    assert_eq!(doc.row_count(), 2001);

    // Search: a count, highlights, n / N.
    doc.start_search(SearchQuery::literal("job=3")).unwrap();
    doc.wait_search();
    let status = doc.search_status().unwrap();
    assert_eq!(status.matches, 286);
    assert!(status.done);
    let hit = doc.next_match(0, true).unwrap();
    assert_eq!(hit, 3);
    let line = &doc.visible_lines(hit, 1)[0];
    let r = line.matches[0].clone();
    assert_eq!(&line.text[r], "job=3");
    assert_eq!(doc.next_match(hit, true), Some(10));
    assert_eq!(doc.next_match(hit, false), None);
    let bad = doc.start_search(SearchQuery {
        pattern: "[".into(),
        regex: true,
        ignore_case: false,
    });
    assert!(bad.unwrap_err().contains("invalid regular expression"));

    // Go to time: the first line at or after 2025-03-04 10:00.
    let row = doc.row_at_time("2025-03-04 10:00");
    assert_eq!(doc.row_line(row), Some(600));
    assert_eq!(doc.row_at_time("2030"), doc.row_count());

    // Export the filtered view: a new private file, raw lines.
    doc.set_level_filter(Some(LogLevel::Error));
    let exports = default_exports_dir(dir.path());
    let path = doc.export(&exports, None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 21);
    assert!(text.lines().all(|l| l.starts_with("[AUTO-SYNC] [ERROR]")));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let second = doc.export(&exports, Some(0..2)).unwrap();
    assert_ne!(second, path);
    assert_eq!(std::fs::read_to_string(&second).unwrap().lines().count(), 2);
    // Exports never show up as logs.
    assert_eq!(catalog.list().unwrap().len(), 1);
    // The active file can be followed (rotated ones cannot).
    assert!(doc.set_following(true).is_ok());
}
