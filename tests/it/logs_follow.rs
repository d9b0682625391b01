//! Following a log while it is appended to, rotated by rename and
//! truncated: through `syncdeck logs view --follow` (the real binary) and
//! through the console's `LogDocument`. No line may be lost or repeated.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use syncdeck::logs::{LogCatalog, LogDocument};

fn line(n: usize) -> String {
    format!("[AUTO-SYNC] [INFO] 2025-01-01 00:00:00 [t] - line {n}\n")
}

fn append(path: &Path, from: usize, to: usize) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for n in from..to {
        f.write_all(line(n).as_bytes()).unwrap();
    }
}

/// Renames the active file to `.1` (shifting older ones) and starts a new
/// one, as the writer does.
fn rotate(dir: &Path) {
    let active = dir.join("syncdeck.log");
    let one = dir.join("syncdeck.log.1");
    if one.exists() {
        std::fs::rename(&one, dir.join("syncdeck.log.2")).unwrap();
    }
    std::fs::rename(&active, &one).unwrap();
    std::fs::File::create(&active).unwrap();
}

fn truncate(path: &Path) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

/// Reads the follower's lines until `want` arrived (generous deadline: a
/// hang is a failure, not a measurement).
fn expect(rx: &mpsc::Receiver<String>, got: &mut Vec<String>, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => got.push(l),
            Err(_) => panic!("waited for {want} lines, got {}: {got:#?}", got.len()),
        }
    }
}

fn numbers(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a test line: {l:?}"))
        })
        .collect()
}

#[test]
fn cli_follow_survives_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncdeck.log");
    append(&path, 0, 5);
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .args([
            "logs",
            "view",
            "syncdeck.log",
            "--lines",
            "3",
            "--follow",
            "--logs",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    expect(&rx, &mut got, 3);
    // Appends, in several writes.
    append(&path, 5, 8);
    append(&path, 8, 10);
    expect(&rx, &mut got, 8);
    // Lines written just before a rotation, then the rotation and the new
    // file's first lines, all between two polls.
    append(&path, 10, 13);
    rotate(dir.path());
    append(&path, 13, 15);
    expect(&rx, &mut got, 13);
    // A truncation (a clear), then new lines.
    append(&path, 15, 17);
    expect(&rx, &mut got, 15);
    truncate(&path);
    append(&path, 17, 19);
    expect(&rx, &mut got, 17);
    // A second rotation right after a partial line is completed.
    {
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"[AUTO-SYNC] [INFO] 2025-01-01 00:00:00 [t] - line ")
            .unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        f.write_all(b"19\n").unwrap();
    }
    rotate(dir.path());
    append(&path, 20, 22);
    expect(&rx, &mut got, 20);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(numbers(&got), (2..22).collect::<Vec<_>>());
}

#[test]
fn document_follow_keeps_old_lines_across_rotation_and_drops_cleared_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncdeck.log");
    append(&path, 0, 100);
    let catalog = LogCatalog::new(dir.path());
    let mut doc = LogDocument::open(&catalog.select("syncdeck.log").unwrap()).unwrap();
    doc.set_following(true).unwrap();
    doc.wait_indexed();
    let poll_until = |doc: &mut LogDocument, lines: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while doc.line_count() != lines {
            doc.poll().unwrap();
            assert!(Instant::now() < deadline, "{} lines", doc.line_count());
        }
    };
    poll_until(&mut doc, 100);
    append(&path, 100, 103);
    rotate(dir.path());
    append(&path, 103, 105);
    poll_until(&mut doc, 105);
    let texts: Vec<String> = doc
        .visible_lines(98, 10)
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(numbers(&texts), (98..105).collect::<Vec<_>>());

    // Clearing the active file removes its lines (103, 104) only.
    truncate(&path);
    append(&path, 105, 106);
    let update = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let u = doc.poll().unwrap();
            if u.truncated {
                break u;
            }
            assert!(Instant::now() < deadline);
        }
    };
    assert!(update.truncated);
    poll_until(&mut doc, 104);
    let texts: Vec<String> = doc
        .visible_lines(100, 10)
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(numbers(&texts), [100, 101, 102, 105]);
    assert!(doc.set_following(true).is_ok());
}
