//! `jobs`, `jobs show [--rejections]`, `jobs retry`, `jobs clear`.

use crate::output::outln;
use std::process::ExitCode;

use super::print_json;
use crate::engine::EngineHandle;
use crate::store::queue::{JobFilter, JobState};
use crate::text::{inert, when};

pub async fn list(engine: &EngineHandle, failed: bool, json: bool) -> anyhow::Result<ExitCode> {
    let filter = JobFilter {
        states: if failed {
            vec![JobState::Failed]
        } else {
            Vec::new()
        },
        limit: 200,
        ..Default::default()
    };
    let jobs = engine.jobs(filter).await?;
    if json {
        print_json(&jobs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if jobs.is_empty() {
        outln!(
            "{}",
            if failed {
                "no failed jobs (`syncdeck jobs` lists all of them)"
            } else {
                "no jobs yet: `syncdeck trigger CONFIG` queues one (`syncdeck list` names the configs); a daemon or console queues them for automatic configs when the source changes"
            }
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let names: std::collections::HashMap<i64, String> = engine
        .snapshot()
        .await?
        .configs
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    outln!(
        "{:>6}  {:<24} {:<11} {:<10} {:>7} {:>9} {:>7}  {:<19} ERROR",
        "ID",
        "CONFIG",
        "KIND",
        "STATE",
        "TRIES",
        "SYNCED",
        "ERRORS",
        "CREATED"
    )?;
    for j in &jobs {
        let config = j
            .config_id
            .map(|id| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")))
            .unwrap_or_else(|| "-".into());
        outln!(
            "{:>6}  {:<24} {:<11} {:<10} {:>7} {:>9} {:>7}  {:<19} {}",
            j.id,
            inert(&config),
            j.kind.as_str(),
            j.state.as_str(),
            format!("{}/{}", j.attempt, j.max_attempts),
            j.progress.synced,
            j.progress.errors,
            when(Some(j.created_at)),
            inert(j.last_error.as_deref().unwrap_or(""))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn retry(engine: &EngineHandle, id: Option<i64>, json: bool) -> anyhow::Result<ExitCode> {
    let n = match id {
        Some(id) => {
            engine.retry(id).await?;
            1
        }
        None => engine.retry_all().await?,
    };
    if json {
        print_json(&serde_json::json!({ "requeued": n }))?;
    } else {
        if n == 0 {
            outln!("no failed jobs to retry (`syncdeck jobs` lists the jobs)")?;
        } else {
            outln!("{n} job(s) queued again")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn clear(engine: &EngineHandle, json: bool) -> anyhow::Result<ExitCode> {
    let n = engine.clear().await?;
    if json {
        print_json(&serde_json::json!({ "deleted": n }))?;
    } else {
        outln!("{n} queued, failed or cancelled job(s) deleted; running jobs were left alone")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn show(engine: &EngineHandle, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let (job, resources) = engine.job(id).await?;
    if json {
        print_json(&serde_json::json!({ "job": job, "resources": resources }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "job {} ({}, {}) {} — attempt {}/{}, {} synced, {} errors",
        job.id,
        job.kind.as_str(),
        inert(&job.reason),
        job.state.as_str(),
        job.attempt,
        job.max_attempts,
        job.progress.synced,
        job.progress.errors
    )?;
    let took = match (job.started_at, job.finished_at) {
        (Some(started), Some(finished)) => {
            format!(
                " (took {})",
                crate::text::elapsed_sentence(started, finished)
            )
        }
        _ => String::new(),
    };
    outln!(
        "  created {}  started {}  finished {}{took}",
        when(Some(job.created_at)),
        when(job.started_at),
        when(job.finished_at)
    )?;
    if let Some(e) = &job.last_error {
        outln!("  last error: {}", inert(e))?;
    }
    for r in &resources {
        outln!(
            "  {:<48} {:>9} {:>10}/{:<10} {:>7} errors  {}",
            inert(&r.resource),
            r.rtype,
            r.synced,
            r.total,
            r.errors,
            r.status.as_str()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `jobs show ID --rejections`: what the destination refused, and why.
pub async fn rejections(engine: &EngineHandle, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let rows = engine.rejections(id).await?;
    if json {
        print_json(&serde_json::json!({ "job": id, "rejections": rows }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("job {id}: nothing was refused by the destination")?;
        return Ok(ExitCode::SUCCESS);
    }
    let permanent = rows.iter().filter(|r| r.class == "permanent").count();
    outln!(
        "job {id}: {} refused object(s), {permanent} permanent (recorded, not re-sent; the watermark moved past them)",
        rows.len()
    )?;
    outln!(
        "{:<32} {:<56} {:<6} {:<10} {:>5}  {:<19} MESSAGE",
        "RESOURCE",
        "OBJECT",
        "CODE",
        "CLASS",
        "SEEN",
        "LAST SEEN"
    )?;
    for r in &rows {
        outln!(
            "{:<32} {:<56} {:<6} {:<10} {:>5}  {:<19} {}",
            inert(&r.resource),
            inert(if r.object_key.is_empty() {
                "-"
            } else {
                &r.object_key
            }),
            inert(if r.error_code.is_empty() {
                "-"
            } else {
                &r.error_code
            }),
            r.class,
            r.times_seen,
            when(Some(r.last_seen)),
            inert(&r.message)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
