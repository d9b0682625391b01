//! `syncdeck bench console`: what the console costs.
//!
//! 1. Render time per frame at 160x48 with 200 configs x 30 resources, in
//!    process, through the real crossterm backend into a byte counter (so the
//!    diff and the escape sequences are included), with progress changing
//!    between frames the way engine events change it.
//! 2. Through a pty (tmux; `pipe-pane` counts the bytes the terminal gets):
//!    the console idle on a database of stopped configs, and the demo while 5
//!    syncs run. CPU from /proc; draw time and event-to-frame latency from
//!    the console's own `--stats` file.
//! 3. The same 5 syncs in a headless demo daemon, the console attached over
//!    its unix socket: latency from the daemon's send of each event to the
//!    frame showing it, and the bytes the console reads (its own count) and
//!    the event stream alone carries.

use crate::output::outln;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::cpu_seconds;
use crate::tui::sample;
use crate::tui::stats::FrameStats;

#[derive(clap::Args, Debug)]
pub struct ConsoleBenchOptions {
    /// Frames drawn in the render benchmark.
    #[arg(long, default_value_t = 500)]
    pub frames: usize,
    /// Seconds measured in each pty scenario.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Only the in-process render benchmark (no tmux needed).
    #[arg(long)]
    pub render_only: bool,
}

/// Counts what the backend would send to the terminal.
struct Sink(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn render(frames: usize) -> anyhow::Result<()> {
    let (w, h) = (160, 48);
    let mut model = sample::busy_model(200, 30);
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let bytes = || written.load(std::sync::atomic::Ordering::Relaxed);
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(Sink(written.clone())),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    )?;
    let first = Instant::now();
    terminal.draw(|f| crate::tui::views::draw(f, &model))?;
    let first_us = first.elapsed().as_micros();
    let first_bytes = bytes();

    let mut unchanged = Vec::new();
    for _ in 0..frames.min(200) {
        let t = Instant::now();
        terminal.draw(|f| crate::tui::views::draw(f, &model))?;
        unchanged.push(t.elapsed().as_micros() as u64);
    }
    let before = bytes();
    let unchanged_bytes = (before - first_bytes) / unchanged.len().max(1) as u64;

    // Busy: every frame, the selected config's progress and a few others
    // move, as 20 fps of coalesced progress events would.
    let mut busy = Vec::new();
    for i in 0..frames {
        for id in [1, 2 + (i as i64 % 199)] {
            if let Some(live) = model.live.get_mut(&id) {
                live.progress.processed += 37;
                live.progress.synced += 37;
                live.progress.speed = 3_000.0 + (i % 500) as f64;
                live.eta_secs = Some(60 - (i as u64 % 60));
                if let Some(r) = live.resources.iter_mut().find(|r| r.processed < r.total) {
                    r.processed = (r.processed + 37).min(r.total);
                    r.synced = r.processed;
                }
            }
        }
        if i % 20 == 0 {
            model.now += 1_000;
        }
        let t = Instant::now();
        terminal.draw(|f| crate::tui::views::draw(f, &model))?;
        busy.push(t.elapsed().as_micros() as u64);
    }
    let busy_bytes = (bytes() - before) / frames.max(1) as u64;
    unchanged.sort_unstable();
    busy.sort_unstable();
    outln!("render, 160x48, 200 configs x 30 resources (release build, one core):")?;
    outln!("  first frame           {first_us:>7} µs   {first_bytes:>6} bytes")?;
    outln!(
        "  nothing changed       {:>7} µs   {:>6} bytes/frame   (p50; p99 {} µs)",
        percentile(&unchanged, 0.5),
        unchanged_bytes,
        percentile(&unchanged, 0.99)
    )?;
    outln!(
        "  progress changing     {:>7} µs   {:>6} bytes/frame   (p50; p99 {} µs, {} frames)",
        percentile(&busy, 0.5),
        busy_bytes,
        percentile(&busy, 0.99),
        busy.len()
    )?;
    Ok(())
}

struct PtyRun {
    seconds: f64,
    cpu: f64,
    bytes: u64,
    stats: FrameStats,
}

fn tmux(socket: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .context("cannot run tmux (install it: apt-get install tmux)")?;
    if !out.status.success() {
        anyhow::bail!(
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `command` (which must `exec` syncdeck with `--stats STATS`) in a
/// 160x48 tmux pane, waits `warmup`, measures `seconds`, quits with `q`.
fn pty_run(dir: &Path, command: &str, warmup: Duration, seconds: u64) -> anyhow::Result<PtyRun> {
    let socket = format!("syncdeck-bench-{}", std::process::id());
    let stats_path = dir.join("stats.json");
    let _ = std::fs::remove_file(&stats_path);
    let out_path = dir.join("pty.bin");
    let _ = std::fs::remove_file(&out_path);
    tmux(
        &socket,
        &[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "160",
            "-y",
            "48",
            "-e",
            "TERM=xterm-256color",
            command,
        ],
    )?;
    let result = (|| {
        tmux(
            &socket,
            &[
                "pipe-pane",
                "-o",
                "-t",
                "b",
                &format!("cat >> '{}'", out_path.display()),
            ],
        )?;
        let pid: u32 = tmux(&socket, &["list-panes", "-t", "b", "-F", "#{pane_pid}"])?
            .trim()
            .parse()
            .context("pane pid")?;
        std::thread::sleep(warmup);
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let (cpu0, bytes0, t0) = (
            cpu_seconds(Some(pid)).unwrap_or(0.0),
            size(&out_path),
            Instant::now(),
        );
        std::thread::sleep(Duration::from_secs(seconds));
        let (cpu1, bytes1, elapsed) = (
            cpu_seconds(Some(pid)).unwrap_or(0.0),
            size(&out_path),
            t0.elapsed(),
        );
        tmux(&socket, &["send-keys", "-t", "b", "q"])?;
        // With syncs running in the console, quitting asks first.
        std::thread::sleep(Duration::from_secs(1));
        if !stats_path.exists() {
            tmux(&socket, &["send-keys", "-t", "b", "y"])?;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !stats_path.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let stats: FrameStats = serde_json::from_slice(
            &std::fs::read(&stats_path).context("the console wrote no --stats file")?,
        )?;
        Ok(PtyRun {
            seconds: elapsed.as_secs_f64(),
            cpu: cpu1 - cpu0,
            bytes: bytes1 - bytes0,
            stats,
        })
    })();
    let _ = tmux(&socket, &["kill-server"]);
    result
}

fn report(name: &str, r: &PtyRun, whole_process: &str) -> anyhow::Result<()> {
    let mut draw = r.stats.draw_us.clone();
    draw.sort_unstable();
    let mut lat = r.stats.latency_us.clone();
    lat.sort_unstable();
    let draw_total: u64 = draw.iter().sum();
    outln!("{name} ({:.0} s measured, 160x48):", r.seconds)?;
    outln!(
        "  bytes to the terminal {:>8.0} B/s   (pipe-pane)",
        r.bytes as f64 / r.seconds
    )?;
    outln!(
        "  CPU of the process    {:>8.2} % of a core   ({whole_process})",
        r.cpu / r.seconds * 100.0
    )?;
    outln!(
        "  frames                {:>8} in the whole run, {:.1}/s on average; draw p50 {} µs, p99 {} µs, total {:.2} s",
        r.stats.frames,
        r.stats.frames as f64 / r.seconds.max(1.0),
        percentile(&draw, 0.5),
        percentile(&draw, 0.99),
        draw_total as f64 / 1e6
    )?;
    if !lat.is_empty() {
        outln!(
            "  event -> frame        p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} frames)",
            percentile(&lat, 0.5) as f64 / 1000.0,
            percentile(&lat, 0.99) as f64 / 1000.0,
            lat.last().copied().unwrap_or(0) as f64 / 1000.0,
            lat.len()
        )?;
    }
    Ok(())
}

pub async fn run(opts: ConsoleBenchOptions) -> anyhow::Result<()> {
    render(opts.frames)?;
    if opts.render_only {
        return Ok(());
    }
    let exe: PathBuf = std::env::current_exe().context("cannot find the syncdeck executable")?;
    let dir = tempfile::tempdir()?;
    let exe_s = exe.display().to_string();
    let db = dir.path().join("idle.db");
    let toml = dir.path().join("idle.toml");
    std::fs::write(&toml, IDLE_CONFIG)?;
    let status = Command::new(&exe)
        .args([
            "--db",
            &db.display().to_string(),
            "apply",
            "-f",
            &toml.display().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "apply of the idle configuration failed");
    let stats = dir.path().join("stats.json");
    let home = dir.path().display().to_string();
    let env = format!("HOME='{home}' XDG_CONFIG_HOME='{home}/config' XDG_DATA_HOME='{home}/data'");

    let idle = pty_run(
        dir.path(),
        &format!(
            "{env} exec '{exe_s}' --db '{}' --stats '{}'",
            db.display(),
            stats.display()
        ),
        Duration::from_secs(3),
        opts.seconds,
    )?;
    report(
        "idle: console on 3 stopped configs",
        &idle,
        "the console alone; its engine has nothing to do",
    )?;
    let busy = pty_run(
        dir.path(),
        &format!(
            "{env} exec '{exe_s}' demo --auto 5 --size large --stats '{}'",
            stats.display()
        ),
        // Dataset generation, then the five initial syncs (1.1 M objects
        // each) run through the whole measured window.
        Duration::from_secs(15),
        opts.seconds,
    )?;
    report(
        "busy: demo with 5 syncs running",
        &busy,
        "console + engine + 6 simulated servers in one process; the console's own share is the draw total",
    )?;
    attached(&exe, dir.path(), &env, opts.seconds).await
}

/// The 5 syncs in a demo daemon of their own; the console attached over its
/// socket, and beside it a plain reader of the event stream.
async fn attached(exe: &Path, dir: &Path, env: &str, seconds: u64) -> anyhow::Result<()> {
    let socket = dir.join("daemon.sock");
    let token = dir.join("daemon-token");
    let mut daemon = Command::new(exe)
        .args([
            "demo",
            "--headless",
            "--auto",
            "5",
            "--size",
            "large",
            "--for",
            "30m",
        ])
        .arg("--listen")
        .arg(format!("unix:{}", socket.display()))
        .arg("--token-file")
        .arg(&token)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start the demo daemon")?;
    let result = async {
        let deadline = Instant::now() + Duration::from_secs(180);
        while !socket.exists() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the demo daemon's API did not start within 3 minutes"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let stream_bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        // The daemon answers (its token works) before anything is measured.
        crate::commands::attach::connect(&format!("unix:{}", socket.display()), Some(&token))
            .await?;
        count_event_bytes(&socket, &token, stream_bytes.clone())?;
        let before = stream_bytes.load(std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let stats = dir.join("stats.json");
        let run = tokio::task::block_in_place(|| {
            pty_run(
                dir,
                &format!(
                    "{env} exec '{}' --connect 'unix:{}' --token-file '{}' --stats '{}'",
                    exe.display(),
                    socket.display(),
                    token.display(),
                    stats.display()
                ),
                Duration::from_secs(5),
                seconds,
            )
        })?;
        let stream = stream_bytes.load(std::sync::atomic::Ordering::Relaxed) - before;
        let stream_seconds = started.elapsed().as_secs_f64();
        report(
            "attached: console on a demo daemon's socket, 5 syncs running there",
            &run,
            "the console alone; event -> frame from the daemon's send",
        )?;
        // Counted by the console itself from its start (the warm-up too).
        outln!(
            "  read by the console   {:>8.0} B/s   (events, snapshots, history; whole run)",
            run.stats.received as f64 / (run.seconds + 5.0)
        )?;
        outln!(
            "  event stream alone    {:>8.0} B/s   (one reader of /api/v1/events)",
            stream as f64 / stream_seconds
        )?;
        Ok(())
    }
    .await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    result
}

/// Reads the daemon's event stream on a task of its own, counting bytes.
fn count_event_bytes(
    socket: &Path,
    token: &Path,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let token = crate::commands::attach::client_token(Some(token)).map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::builder()
        .unix_socket(socket)
        .build()
        .context("cannot build the HTTP client")?;
    tokio::spawn(async move {
        let Ok(resp) = http
            .get("http://daemon/api/v1/events")
            .bearer_auth(token.expose())
            .send()
            .await
        else {
            return;
        };
        let mut body = resp.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            bytes.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    });
    Ok(())
}

const IDLE_CONFIG: &str = r#"
[[instance]]
name = "national"
url = "http://127.0.0.1:9"
username = "admin"
password_env = "UNUSED_PASSWORD"

[[instance]]
name = "regional"
url = "http://127.0.0.1:9"
username = "admin"
password_env = "UNUSED_PASSWORD"

[[sync]]
name = "national-to-regional"
source = "national"
destination = "regional"
mode = "manual"

[[sync]]
name = "regional-to-national"
source = "regional"
destination = "national"
mode = "manual"

[[sync]]
name = "reporting"
source = "national"
destination = "regional"
mode = "manual"
"#;
