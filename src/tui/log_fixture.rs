//! Test support: a logs directory of real files with fixed contents and
//! times, and a driver that runs the viewer's ops through a real
//! [`LogSession`] and feeds the replies back through `update`, as app.rs
//! does (but waiting for the index and the search, so frames are final).

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::tui::model::Model;
use crate::tui::msg::{Effect, Msg};
use crate::tui::sample::NOW;
use crate::tui::update::update;

use crate::tui::log_session::LogSession;

/// `syncdeck.log` holds this many lines.
pub const MAIN_LINES: usize = 240;

fn line(i: usize) -> String {
    let (min, sec) = (i / 60, i % 60);
    let at = format!("2026-11-21 09:{min:02}:{sec:02}");
    match i {
        _ if i % 40 == 17 => format!(
            "[AUTO-SYNC] [ERROR] {at} [sync_jobs] - attempt failed: destination: authentication failed (401) job={i}"
        ),
        _ if i % 9 == 4 => format!(
            "[AUTO-SYNC] [WARN] {at} [auto_sync] - source slow to answer; check again in 30s config=national-to-regional"
        ),
        _ if i.is_multiple_of(3) => format!(
            "[AUTO-SYNC] [INFO] {at} [sync_jobs] - job finished: incremental job={i} synced={} errors=0 took=1.2s",
            i * 7
        ),
        _ => format!(
            "[AUTO-SYNC] [INFO] {at} [changes] - {} changes in dataValues:DataSet{:03} since 2026-11-21T09:00:00.000",
            i % 13,
            i % 17
        ),
    }
}

/// Lines a hostile server or an old writer could have put in a file: ESC
/// colour codes, an OSC title with BEL, an OSC 8 link, a clear-screen, a
/// carriage return and a bidi override.
pub const HOSTILE: &[u8] = b"[AUTO-SYNC] [ERROR] 2026-11-21 09:59:58 [sync_jobs] - import refused for \x1b]0;pwned\x07\x1b[2J org unit \"Bo\x1b[31mred\x1b[0m\"\n\
[AUTO-SYNC] [WARN] 2026-11-21 09:59:59 [auto_sync] - see \x1b]8;;http://evil.example\x1b\\here\x1b]8;;\x1b\\ now\r\n\
[AUTO-SYNC] [INFO] 2026-11-21 10:00:00 [changes] - name \xe2\x80\xaeevil\tcol \x08\x00 end\n";

/// A logs directory: the five active files, one rotation of
/// `syncdeck.log`, and `errors.log` holding [`HOSTILE`] lines.
pub fn log_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let main: String = (0..MAIN_LINES).map(|i| line(i) + "\n").collect();
    let rotated: String = (0..30).map(|i| line(i) + "\n").collect();
    let files: [(&str, &[u8], u64); 6] = [
        ("syncdeck.log", main.as_bytes(), 1),
        ("errors.log", HOSTILE, 2),
        ("auto_sync.log", b"", 3),
        ("changes_detected.log", b"", 4),
        ("sync_jobs.log", b"[AUTO-SYNC] [INFO] 2026-11-21 09:58:00 [sync_jobs] - job started: initial job=1 attempt=1\n", 5),
        ("syncdeck.log.1", rotated.as_bytes(), 60),
    ];
    for (name, data, minutes_ago) in files {
        write_at(&dir.path().join(name), data, minutes_ago);
    }
    dir
}

/// Writes `data` with a fixed modification time, `minutes_ago` before NOW.
pub fn write_at(path: &Path, data: &[u8], minutes_ago: u64) {
    std::fs::write(path, data).expect("write log file");
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(NOW as u64)
        - Duration::from_secs(60 * minutes_ago);
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(at))
        .expect("set mtime");
}

/// Runs the effects' log ops through `session`, recursively; other effects
/// are returned (the engine is not there).
pub fn run(model: &mut Model, session: &mut LogSession, effects: Vec<Effect>) -> Vec<Effect> {
    let mut rest = Vec::new();
    for effect in effects {
        match effect {
            Effect::Log(op) => {
                let reply = session.handle(op);
                let more = update(model, Msg::Log(reply));
                rest.extend(run(model, session, more));
            }
            other => rest.push(other),
        }
    }
    rest
}

/// Waits for the index and the search, then lets a poll tick bring the
/// final frame.
pub fn settle(model: &mut Model, session: &mut LogSession) {
    if let Some(doc) = session.document_mut() {
        doc.wait_indexed();
        doc.wait_search();
    }
    let effects = update(model, Msg::LogTick);
    run(model, session, effects);
}

/// `msg` through update, its log ops through the session, then settled.
pub fn send(model: &mut Model, session: &mut LogSession, msg: Msg) -> Vec<Effect> {
    let effects = update(model, msg);
    let rest = run(model, session, effects);
    settle(model, session);
    rest
}

pub fn key(c: char) -> Msg {
    code(crossterm::event::KeyCode::Char(c))
}

pub fn code(code: crossterm::event::KeyCode) -> Msg {
    use crossterm::event::{KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
    Msg::Key(KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    })
}

/// Types `text` key by key, each settled.
pub fn type_keys(model: &mut Model, session: &mut LogSession, text: &str) {
    for c in text.chars() {
        send(model, session, key(c));
    }
}

/// The console in the logs view over [`log_dir`]'s files, on a terminal `h` rows high.
pub fn viewer(h: u16) -> (Model, LogSession, tempfile::TempDir) {
    let dir = log_dir();
    let mut m = crate::tui::sample::model();
    // Shown in the list's title (a temporary path would move snapshots);
    // the session reads the temporary directory.
    m.logs_dir = Some("/var/lib/syncdeck/logs".into());
    let mut s = LogSession::new(Some(dir.path().to_path_buf()));
    send(&mut m, &mut s, Msg::Screen { height: h });
    send(&mut m, &mut s, key('4'));
    (m, s, dir)
}

/// A document frame of `rows` rows holding `n` of them from `first_row`
/// (text `line N`), fully indexed.
pub fn doc_frame(
    rows: usize,
    first_row: usize,
    n: usize,
    following: bool,
) -> crate::tui::state::logview::DocFrame {
    crate::tui::state::logview::DocFrame {
        rows,
        first_row,
        lines: (first_row..first_row + n)
            .map(|r| crate::logs::DisplayLine {
                line: Some(r as u64),
                level: None,
                text: format!("line {r}"),
                matches: Vec::new(),
            })
            .collect(),
        from_end: false,
        index: crate::logs::document::IndexStatus {
            scanned_bytes: 0,
            total_bytes: 0,
            lines: rows as u64,
            done: true,
            error: None,
        },
        search: None,
        filter: None,
        following,
    }
}
