//! `bench logs`: a generated log (1 GB by default, in a temp dir) opened
//! the way the viewer opens it: time to the first screen, the line index's
//! build time and memory, and whole-file searches for a literal and a
//! case-insensitive regex, each beside `grep -c` on the same file in the
//! same run. Counts must agree with grep's or the bench fails.

use crate::output::outln;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};

use crate::logs::{LogCatalog, LogDocument, SearchQuery};

#[derive(clap::Args, Debug)]
pub struct LogsBenchOptions {
    /// Size of the generated log, e.g. 1GB, 200MB.
    #[arg(long, default_value = "1GB")]
    pub size: String,
}

const LITERAL: &str = "connection refused";
const REGEX: &str = "timeout|refused|panic";

pub fn run(opts: LogsBenchOptions) -> anyhow::Result<ExitCode> {
    let size = crate::logs::settings::parse_size(&opts.size).with_context(|| {
        format!(
            "cannot read --size {:?}: write e.g. 1GB or 200MB",
            opts.size
        )
    })?;
    // Removed when dropped, also on error.
    let dir = tempfile::Builder::new()
        .prefix("syncdeck-bench-logs-")
        .tempdir()?;
    let path = dir.path().join("syncdeck.log");
    let t = Instant::now();
    let lines = generate(&path, size)?;
    outln!(
        "generated {} ({} lines) in {:.1} s: {}",
        crate::text::human_size(size),
        lines,
        t.elapsed().as_secs_f64(),
        path.display()
    )?;
    outln!("(page cache warm: the file was just written)")?;

    let catalog = LogCatalog::new(dir.path());
    let t = Instant::now();
    let entry = catalog.select("syncdeck.log")?;
    let mut doc = LogDocument::open(&entry)?;
    let screen = doc.first_screen(50)?;
    let first_screen = t.elapsed();
    anyhow::ensure!(
        screen.len() == 50,
        "first screen has {} lines",
        screen.len()
    );
    outln!(
        "first screen (50 lines, read from the end): {}",
        ms(first_screen)
    )?;

    let reset = super::reset_peak_rss();
    let rss_before = super::status_kib(None, "VmRSS");
    let t = Instant::now();
    doc.wait_indexed();
    let index_time = t.elapsed();
    let peak = super::status_kib(None, "VmHWM");
    let status = doc.index_status();
    anyhow::ensure!(
        status.lines == lines,
        "indexed {} lines, wrote {lines}",
        status.lines
    );
    let bytes = doc.index_heap_bytes();
    outln!(
        "line index: {} lines in {:.2} s ({:.2} GB/s), {} = {:.1} B/line; process RSS {} before, peak {}{}",
        status.lines,
        index_time.as_secs_f64(),
        size as f64 / index_time.as_secs_f64() / 1e9,
        crate::text::human_size(bytes as u64),
        bytes as f64 / status.lines.max(1) as f64,
        super::mib(rss_before),
        super::mib(peak),
        if reset { "" } else { " (peak not reset)" }
    )?;

    outln!()?;
    outln!(
        "{:<34} {:>9} {:>10} {:>10} {:>8}",
        "search (whole file)",
        "lines",
        "syncdeck",
        "grep -c",
        "grep/sd"
    )?;
    for (label, query, grep_args) in [
        (
            format!("literal {LITERAL:?}"),
            SearchQuery::literal(LITERAL),
            vec!["-c", "-F", LITERAL],
        ),
        (
            format!("regex (?i){REGEX}"),
            SearchQuery {
                pattern: REGEX.into(),
                regex: true,
                ignore_case: true,
            },
            vec!["-c", "-i", "-E", REGEX],
        ),
    ] {
        let t = Instant::now();
        doc.start_search(query).map_err(anyhow::Error::msg)?;
        doc.wait_search();
        let ours = t.elapsed();
        let found = doc.search_status().map_or(0, |s| s.matches);
        let (grep_time, grep_count) = grep(&path, &grep_args)?;
        if let Some(g) = grep_count {
            anyhow::ensure!(g == found, "{label}: syncdeck counted {found}, grep {g}");
        }
        outln!(
            "{:<34} {:>9} {:>10} {:>10} {:>8}",
            label,
            found,
            ms(ours),
            grep_time.map_or("n/a".into(), ms),
            grep_time.map_or("n/a".into(), |g| format!(
                "{:.2}",
                g.as_secs_f64() / ours.as_secs_f64()
            )),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `grep ARGS FILE`: its time and count, or `None` when grep is missing.
fn grep(path: &Path, args: &[&str]) -> anyhow::Result<(Option<Duration>, Option<u64>)> {
    let t = Instant::now();
    let out = match std::process::Command::new("grep")
        .args(args)
        .arg(path)
        .output()
    {
        Ok(o) => o,
        Err(_) => return Ok((None, None)),
    };
    let elapsed = t.elapsed();
    let count = String::from_utf8_lossy(&out.stdout).trim().parse().ok();
    Ok((Some(elapsed), count))
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Writes about `size` bytes of log lines in the writer's text format:
/// mostly INFO, ~1% WARN "connection refused", ~0.2% ERROR timeouts.
fn generate(path: &Path, size: u64) -> anyhow::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let start = chrono::NaiveDate::from_ymd_opt(2025, 3, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .context("start date")?;
    let (mut written, mut lines) = (0u64, 0u64);
    let mut line = String::with_capacity(256);
    while written < size {
        use std::fmt::Write as _;
        line.clear();
        let t = start + chrono::Duration::milliseconds((lines * 37) as i64);
        let ts = t.format("%Y-%m-%d %H:%M:%S");
        let job: u32 = rng.random_range(1..100_000);
        let config = ["national-to-reporting", "hmis-to-dw", "tracker-copy"][job as usize % 3];
        match rng.random_range(0..1000u32) {
            0..=1 => {
                let _ = write!(
                    line,
                    "[AUTO-SYNC] [ERROR] {ts} [sync_jobs] - job failed (timeout): request timed out after 60s job={job} attempt=3"
                );
            }
            2..=11 => {
                let _ = write!(
                    line,
                    "[AUTO-SYNC] [WARN] {ts} [sync_jobs] - attempt failed (network): connection refused by {config}; retry in 30s job={job}"
                );
            }
            12..=300 => {
                let n: u32 = rng.random_range(1..5000);
                let _ = write!(
                    line,
                    "[AUTO-SYNC] [INFO] {ts} [changes] - {n} changed config={config} resource=dataValues:ds{job:06} since=2025-02-28T23:59:59.000"
                );
            }
            301..=600 => {
                let _ = write!(
                    line,
                    "[AUTO-SYNC] [INFO] {ts} [sync_jobs] - job completed job={job} synced={} errors=0",
                    rng.random_range(0..200_000u32)
                );
            }
            _ => {
                let _ = write!(
                    line,
                    "[AUTO-SYNC] [INFO] {ts} [auto_sync] - config={config}: no changes; next check in 5m"
                );
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    w.flush()?;
    Ok(lines)
}
