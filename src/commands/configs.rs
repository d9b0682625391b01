//! `list`, `status`, `start`, `stop`, `trigger`, `setup`.

use crate::output::outln;
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use super::print_json;
use super::wait_progress::{WaitProgress, summary_rows};
use crate::config::AutoSettings;
use crate::config::spec::format_duration;
use crate::engine::{ConfigStatus, EngineHandle, Snapshot};
use crate::store::queue::{Job, JobState, ResourceProgress};
use crate::text::{elapsed_sentence, inert, relative_sentence, when};

pub async fn list(engine: &EngineHandle, json: bool) -> anyhow::Result<ExitCode> {
    let snapshot = engine.snapshot().await?;
    if json {
        print_json(&snapshot.configs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if snapshot.configs.is_empty() {
        outln!("{}", super::NO_CONFIGS)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:>4}  {:<28} {:<36} {:<9} {:<8} {:<16} LAST RESULT",
        "ID",
        "NAME",
        "SOURCE → DESTINATION",
        "MODE",
        "STATE",
        "AUTO"
    )?;
    for c in &snapshot.configs {
        outln!(
            "{:>4}  {:<28} {:<36} {:<9} {:<8} {:<16} {}",
            c.id,
            inert(&c.name),
            inert(&format!(
                "{} → {}",
                c.source,
                c.destination.as_deref().unwrap_or("-")
            )),
            c.mode.as_str(),
            state_of(c),
            c.auto.as_str(),
            inert(c.lifecycle.last_result.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn state_of(c: &ConfigStatus) -> &'static str {
    if c.running_job.is_some() {
        "syncing"
    } else if !c.active {
        "stopped"
    } else if c.config.wants_scheduler() {
        "active"
    } else {
        // Manual, or auto-sync disabled: runs only when triggered.
        "idle"
    }
}

/// `status --json`: the config's status and its watermarks.
#[derive(Serialize)]
struct StatusJson<'a> {
    #[serde(flatten)]
    status: &'a ConfigStatus,
    /// Resource key → the source's server time the resource last synced
    /// cleanly from (absent: never).
    watermarks: std::collections::BTreeMap<String, String>,
}

pub async fn status(
    engine: &EngineHandle,
    reference: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let snapshot = engine.snapshot().await?;
    let chosen: Vec<&ConfigStatus> = match reference {
        Some(r) => {
            let config = engine.config(r).await?;
            snapshot
                .configs
                .iter()
                .filter(|c| c.id == config.id)
                .collect()
        }
        None => snapshot.configs.iter().collect(),
    };
    if json {
        let mut out = Vec::with_capacity(chosen.len());
        for c in chosen {
            let watermarks = engine.watermarks(&c.id.to_string()).await?;
            out.push(StatusJson {
                status: c,
                watermarks: watermarks.into_iter().collect(),
            });
        }
        print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if snapshot.configs.is_empty() {
        outln!("{}", super::NO_CONFIGS)?;
    }
    for c in chosen {
        print_status(c, &snapshot)?;
    }
    if snapshot.failed_jobs > 0 {
        outln!(
            "{} failed job(s): `syncdeck jobs --failed`",
            snapshot.failed_jobs
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(c: &ConfigStatus, snapshot: &Snapshot) -> anyhow::Result<()> {
    let now = snapshot.now;
    let l = &c.lifecycle;
    outln!("{} (#{}) — {}", inert(&c.name), c.id, state_of(c))?;
    outln!(
        "  {} → {}   mode {}   auto-sync {}",
        inert(&c.source),
        inert(c.destination.as_deref().unwrap_or("-")),
        c.mode.as_str(),
        c.auto
    )?;
    if let Some(p) = &c.pull {
        print_pull(p, now)?;
    }
    if let Some(a) = &c.config.auto {
        outln!(
            "  every {}, delay {}{}, max {}/h, cooldown {}",
            format_duration(a.check_interval),
            format_duration(a.delay_before_sync),
            if a.immediate_sync { " (immediate)" } else { "" },
            a.max_sync_per_hour,
            format_duration(a.cooldown_after_error)
        )?;
    }
    if c.pull.is_none() {
        outln!(
            "  initial sync {}",
            if l.initial_done {
                "done"
            } else {
                "not done yet"
            }
        )?;
    }
    if let Some(until) = l.cooldown_until.filter(|&u| u > now) {
        outln!(
            "  cooldown until {} ({})",
            when(Some(until)),
            relative_sentence(until, now)
        )?;
    }
    if let Some(until) = l.throttled_until.filter(|&u| u > now) {
        outln!(
            "  throttled until {} ({})",
            when(Some(until)),
            relative_sentence(until, now)
        )?;
    }
    if let Some(next) = l.next_check_at.filter(|&n| c.active && n > now) {
        outln!("  next check {}", relative_sentence(next, now))?;
    }
    if let Some(job) = &c.running_job {
        let p = &job.progress;
        outln!(
            "  running job {}: {} of {} processed, {} synced, {} errors, {:.0}/s, now {}",
            job.id,
            p.processed,
            p.expected,
            p.synced,
            p.errors,
            p.speed,
            inert(p.current_resource.as_deref().unwrap_or("-"))
        )?;
    }
    if c.queued_jobs > 0 {
        outln!("  {} job(s) queued", c.queued_jobs)?;
    }
    if let Some(job) = &c.last_job {
        outln!(
            "  last job {} {}{}: {} synced, {} errors{}",
            job.id,
            job.state.as_str(),
            ended(job, now),
            job.progress.synced,
            job.progress.errors,
            job.last_error
                .as_deref()
                .map(|e| format!(" — {}", inert(e)))
                .unwrap_or_default()
        )?;
    }
    if let Some(e) = &l.last_error {
        outln!("  last error: {}", inert(e))?;
    }
    Ok(())
}

/// When a finished job ended and how long its run took, for a sentence:
/// ` 2m ago (took 8s)`.
fn ended(job: &Job, now: i64) -> String {
    let Some(finished) = job.finished_at else {
        return String::new();
    };
    let took = job
        .started_at
        .map(|started| format!(" (took {})", elapsed_sentence(started, finished)))
        .unwrap_or_default();
    format!(" {}{took}", relative_sentence(finished, now))
}

/// The lines of an `http_pull` config: its local copy and its last pull.
fn print_pull(p: &crate::engine::PullStatus, now: i64) -> anyhow::Result<()> {
    let s = &p.state;
    let hash = |h: &Option<String>| h.as_deref().map_or("-".to_string(), inert);
    outln!(
        "  pulls into {} every {}",
        inert(&p.target),
        humantime::format_duration(std::time::Duration::from_secs(p.interval_s))
    )?;
    let last = match (s.last_sync_at, s.last_sync_ok) {
        (Some(at), Some(true)) => format!("ok {}", relative_sentence(at, now)),
        (Some(at), _) => format!(
            "failed {} ({} in a row)",
            relative_sentence(at, now),
            s.failures
        ),
        (None, _) => "never yet".to_string(),
    };
    outln!("  last pull {last}")?;
    outln!(
        "  current hash {}   backend hash {}",
        hash(&s.current_hash),
        hash(&s.backend_hash)
    )?;
    if let Some(at) = s.config_updated_at {
        outln!(
            "  document changed {} ({}{})",
            when(Some(at)),
            relative_sentence(at, now),
            match (s.items, &s.items_kind) {
                (Some(n), Some(kind)) => format!(", {n} {}", inert(kind)),
                _ => String::new(),
            }
        )?;
    }
    if let Some(e) = &s.last_sync_error {
        outln!("  last pull error: {}", inert(e))?;
    }
    Ok(())
}

pub async fn start_stop(
    engine: &EngineHandle,
    reference: Option<&str>,
    start: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let names = if start {
        engine.start(reference).await?
    } else {
        engine.stop(reference).await?
    };
    if json {
        print_json(&serde_json::json!({ if start { "started" } else { "stopped" }: names }))?;
    } else {
        let verb = if start { "started" } else { "stopped" };
        for n in &names {
            outln!("{verb} {}", inert(n))?;
        }
        if start {
            outln!("A running `syncdeck daemon` or console picks this up within a few seconds.")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cooldown clear CONFIG`: ends the pause a failed job started.
pub async fn clear_cooldown(
    engine: &EngineHandle,
    reference: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = engine.config(reference).await?;
    let until = engine.clear_cooldown(reference).await?;
    if json {
        print_json(&serde_json::json!({ "config": config.name, "cleared_until": until }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let name = inert(&config.name);
    match until {
        Some(until) => outln!(
            "{name}: cooldown ended (it would have lasted until {}); the scheduler syncs again from its next check",
            when(Some(until))
        )?,
        None => outln!("{name} is not in cooldown; nothing to clear")?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct TriggerResult {
    job: Job,
    resources: Vec<ResourceProgress>,
}

/// Queues a manual sync; with `wait`, runs it here (alongside any daemon) and
/// exits 0 only if it completed. A stop signal ends the wait: the caller's
/// engine shutdown then gives the job back to the queue (exit 128 + signal).
pub async fn trigger(
    engine: &EngineHandle,
    reference: &str,
    wait: bool,
    json: bool,
    shutdown: &mut crate::signals::Shutdown,
) -> anyhow::Result<ExitCode> {
    let id = engine.trigger(reference).await?;
    if !wait {
        if json {
            print_json(&serde_json::json!({ "job": id }))?;
        } else {
            outln!(
                "queued job {id}. A running `syncdeck daemon` or console runs it; `--wait` runs it here."
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut progress = (!json).then(WaitProgress::new);
    let (job, resources) = loop {
        let (job, resources) = engine.job(id).await?;
        if matches!(
            job.state,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        ) {
            break (job, resources);
        }
        if let Some(p) = &mut progress {
            p.update(&job);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            signal = shutdown.requested() => {
                if let Some(p) = progress.take() {
                    p.finish();
                }
                if json {
                    print_json(&serde_json::json!({ "job": id, "interrupted": signal.name() }))?;
                } else {
                    eprintln!(
                        "{}: stopping; job {id} goes back to the queue and resumes where it stopped when a daemon, a console or another `trigger --wait` runs it",
                        signal.name()
                    );
                }
                return Ok(ExitCode::from(signal.exit_code()));
            }
        }
    };
    if let Some(p) = progress {
        p.finish();
    }
    if json {
        print_json(&TriggerResult {
            job: job.clone(),
            resources,
        })?;
    } else {
        let took = match (job.started_at, job.finished_at) {
            (Some(started), Some(finished)) => {
                format!(" in {}", elapsed_sentence(started, finished))
            }
            _ => String::new(),
        };
        outln!(
            "job {} {}{took} after {} attempt(s): {} synced, {} errors",
            job.id,
            job.state.as_str(),
            job.attempt,
            job.progress.synced,
            job.progress.errors
        )?;
        let (rows, quiet) = summary_rows(&resources);
        if !rows.is_empty() {
            outln!(
                "{:<48} {:>9} {:>10} {:>10} {:>8}  STATUS",
                "RESOURCE",
                "TYPE",
                "TOTAL",
                "SYNCED",
                "ERRORS"
            )?;
        }
        for r in rows {
            outln!(
                "{:<48} {:>9} {:>10} {:>10} {:>8}  {}{}",
                inert(&r.resource),
                r.rtype,
                r.total,
                r.synced,
                r.errors,
                r.status.as_str(),
                r.message
                    .as_deref()
                    .map(|m| format!(" ({})", inert(m)))
                    .unwrap_or_default()
            )?;
        }
        if quiet > 0 {
            outln!(
                "{quiet} resource(s) with nothing to sync not shown (`syncdeck jobs show {}` lists all)",
                job.id
            )?;
        }
        if let Some(e) = &job.last_error {
            outln!("error: {}", inert(e))?;
        }
    }
    Ok(if job.state == JobState::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Changes to auto-sync settings; unset fields keep their value.
#[derive(Debug, Default, clap::Args)]
pub struct SetupArgs {
    /// Whether the scheduler checks at all (false pauses it, mode unchanged).
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,
    /// How often to look for changes (e.g. 5m; at least 60s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub check_interval: Option<Duration>,
    /// Wait after a change is seen, to batch edits together (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub delay_before_sync: Option<Duration>,
    /// Sync as soon as a change is seen, ignoring --delay-before-sync.
    #[arg(long, value_name = "BOOL")]
    pub immediate_sync: Option<bool>,
    /// Watch metadata for changes.
    #[arg(long, value_name = "BOOL")]
    pub monitor_metadata: Option<bool>,
    /// Watch aggregate data values for changes.
    #[arg(long, value_name = "BOOL")]
    pub monitor_data_values: Option<bool>,
    /// Comma-separated metadata types to watch (empty = all selected).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub metadata_resources: Option<Vec<String>>,
    /// Comma-separated resources the change check ignores.
    #[arg(long, value_name = "RESOURCES", value_delimiter = ',')]
    pub exclude_resources: Option<Vec<String>>,
    /// Automatic syncs allowed per hour; more wait (throttled). 0 = no limit.
    #[arg(long, value_name = "N")]
    pub max_sync_per_hour: Option<u32>,
    /// Pause of the scheduler after a job finally fails (e.g. 30m);
    /// `syncdeck cooldown clear CONFIG` ends one early.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub cooldown_after_error: Option<Duration>,
    /// Stored with the config for notifications (none are sent yet).
    #[arg(long, value_name = "BOOL")]
    pub notify_on_change: Option<bool>,
    /// Stored with the config for notifications (none are sent yet).
    #[arg(long, value_name = "BOOL")]
    pub notify_on_sync_complete: Option<bool>,
}

impl SetupArgs {
    fn apply_to(self, s: &mut AutoSettings) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { s.$f = v; } )* };
        }
        set!(
            enabled,
            check_interval,
            delay_before_sync,
            immediate_sync,
            monitor_metadata,
            monitor_data_values,
            metadata_resources,
            exclude_resources,
            max_sync_per_hour,
            cooldown_after_error,
            notify_on_change,
            notify_on_sync_complete
        );
    }
}

pub async fn setup(
    engine: &EngineHandle,
    reference: &str,
    args: SetupArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = engine.config(reference).await?;
    let mut settings = config.auto.clone().unwrap_or_default();
    args.apply_to(&mut settings);
    engine.setup(reference, settings.clone()).await?;
    if json {
        print_json(&serde_json::json!({
            "config": config.name,
            "check_interval_s": settings.check_interval.as_secs(),
            "enabled": settings.enabled,
            "max_sync_per_hour": settings.max_sync_per_hour,
        }))?;
    } else {
        outln!(
            "{}: auto-sync {} every {}, delay {}, max {}/h, cooldown {}",
            inert(&config.name),
            if settings.enabled {
                "enabled"
            } else {
                "disabled"
            },
            format_duration(settings.check_interval),
            format_duration(settings.delay_before_sync),
            settings.max_sync_per_hour,
            format_duration(settings.cooldown_after_error)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
