//! Benchmarks: `bench export` (client streaming), `bench queue` (job queue
//! burn-down) and `bench sync` (a whole sim → sim sync against plain curl).
//! The simulators always run as separate processes, so the peak RSS measured
//! here is syncdeck's own.

pub mod console;
pub mod events;
pub mod export;
pub mod logs;
pub mod queue;
pub mod sync;

use std::process::Stdio;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use export::{ExportBenchOptions, export};

/// A simulator in its own process, so its CPU and memory are not counted
/// as the client's; killed when dropped.
pub(crate) struct SimChild {
    pub child: Child,
    pub url: String,
}

/// `syncdeck sim --port 0 --size large --data-values N`.
async fn spawn_sim(values: usize) -> anyhow::Result<SimChild> {
    spawn_sim_with(&["--size", "large", "--data-values", &values.to_string()]).await
}

/// `syncdeck sim --port 0 ARGS…`; waits for the address it announces.
pub(crate) async fn spawn_sim_with(args: &[&str]) -> anyhow::Result<SimChild> {
    let exe = std::env::current_exe().context("cannot find the syncdeck executable")?;
    let mut child = Command::new(exe)
        .args(["sim", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the simulator")?;
    let stdout = child.stdout.take().context("simulator has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("simulator did not start (said {line:?})"))?
        .to_string();
    Ok(SimChild { child, url })
}

/// A `/proc/PID/status` field in KiB (VmHWM = peak resident set, VmRSS = now).
pub(crate) fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Linux resets the peak (VmHWM) to the current RSS when "5" is written here,
/// so each run's peak is its own.
pub(crate) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub(crate) fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

/// User + system CPU seconds of a process so far (`/proc/PID/stat` fields 14
/// and 15). Ticks are taken as 1/100 s: USER_HZ is 100 on every Linux ABI.
pub(crate) fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces; fields resume after its ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}
