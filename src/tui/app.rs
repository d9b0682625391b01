//! The console's loop: terminal keys, engine events, loaded data and a
//! one-second tick go through `update`; the effects it returns run as tasks
//! on the engine handle (or, for the log viewer, in its session on the
//! blocking pool); a frame is drawn only when the model changed, at most
//! every 50 ms (20 fps) and, when nothing moves, once a second.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::log_session::{LogSession, clear_log};
use super::model::{Model, View};
use super::msg::{Command, Effect, Msg};
use super::state::logview::{LogOp, LogReply};
use super::stats::FrameStats;
use super::terminal::Tui;
use super::update::update;
use super::views;
use crate::engine::events::Delivery;
use crate::engine::handle::EngineHandle;
use crate::remote::logs::LogMirror;
use crate::store::queue::JobFilter;

/// Shortest time between two frames (20 fps while syncs run).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(50);

/// How often an open log file is polled (progress, followed lines): 4 Hz,
/// and only while it has something to wait for.
pub const LOG_POLL_INTERVAL: Duration = Duration::from_millis(250);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs the console until the operator quits, the terminal goes away or a
/// signal arrives. The terminal is restored on every path.
pub async fn run(
    engine: EngineHandle,
    mut model: Model,
    log_files: Option<crate::logs::LogFiles>,
    mirror: Option<Arc<LogMirror>>,
    stats_file: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut tui = Tui::enter()?;
    // Clearing a log file goes through the writer (its size count stays right).
    let result = event_loop(&mut tui, engine, &mut model, log_files, mirror).await;
    drop(tui);
    if let (Some(path), Ok(stats)) = (stats_file, &result) {
        std::fs::write(&path, serde_json::to_vec_pretty(stats)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    result.map(|_| ())
}

async fn event_loop(
    tui: &mut Tui,
    engine: EngineHandle,
    model: &mut Model,
    log_files: Option<crate::logs::LogFiles>,
    mirror: Option<Arc<LogMirror>>,
) -> anyhow::Result<FrameStats> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Reply>();
    let mut keys = crossterm::event::EventStream::new();
    let mut events = engine.subscribe();
    // Cleared when the engine is gone for good: the loop stops asking
    // (a stream that has ended answers at once, every time).
    let mut events_open = true;
    let mut signals = crate::signals::Shutdown::install()?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut log_tick = tokio::time::interval(LOG_POLL_INTERVAL);
    log_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let tail = model.tail.clone();
    // Read once a second: a failed log write reaches the status line.
    let writer = log_files.clone();
    let logs = LogEffects::new(model.logs_dir.clone(), log_files, mirror, tx.clone());
    let mut runner = EffectRunner::new(engine, tx, logs);
    let mut stats = FrameStats::default();
    // When the oldest change not yet on screen arrived (event→frame latency).
    let mut pending_since: Option<Instant> = Some(Instant::now());
    let mut next_frame = tokio::time::Instant::now();
    // How long ago a remote engine sent the message being handled.
    let mut sent_ago: Option<Duration> = None;

    runner.run(Effect::LoadSnapshot);
    if let Ok((_, height)) = crossterm::terminal::size() {
        for effect in update(model, Msg::Screen { height }) {
            if effect != Effect::Repaint {
                runner.run(effect);
            }
        }
    }
    loop {
        let msg = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(crossterm::event::Event::Key(k))) => Msg::Key(k),
                Some(Ok(crossterm::event::Event::Resize(_, height))) => Msg::Screen { height },
                Some(Ok(_)) => continue,
                // The terminal is gone (SSH link dropped): leave quietly.
                Some(Err(_)) | None => break,
            },
            delivery = events.next(), if events_open => match delivery {
                Some(Delivery::Event(e, sent_at_ms)) => {
                    // Latency counts from the daemon's send, not our receipt.
                    sent_ago = sent_at_ms.map(|at| {
                        Duration::from_millis(u64::try_from(now_ms() - at).unwrap_or(0))
                    });
                    Msg::Engine(e)
                }
                Some(Delivery::Missed) => Msg::Missed,
                Some(Delivery::Link(link)) => Msg::Link(link),
                // A daemon's lines join this console's tail.
                Some(Delivery::Log(line)) => {
                    tail.push(line);
                    continue;
                }
                None => {
                    events_open = false;
                    continue;
                }
            },
            Some(reply) = rx.recv() => {
                if reply.was_snapshot {
                    runner.snapshot_done();
                }
                reply.msg
            }
            _ = tick.tick() => Msg::Tick(now_ms()),
            _ = log_tick.tick(), if model.view == View::Logs && model.logview.wants_poll() => {
                Msg::LogTick
            }
            () = tail.changed() => Msg::LogLines,
            _ = signals.requested() => break,
            () = tokio::time::sleep_until(next_frame), if model.dirty => {
                let started = Instant::now();
                tui.frame(|f| views::draw(f, model))?;
                stats.frame(started.elapsed(), pending_since.take().map(|t| t.elapsed()));
                model.dirty = false;
                next_frame = tokio::time::Instant::now() + FRAME_INTERVAL;
                continue;
            }
        };
        let was_dirty = model.dirty;
        let is_tick = matches!(msg, Msg::Tick(_));
        let mut msgs = vec![msg];
        if is_tick
            && let Some(health) = writer.as_ref().map(crate::logs::LogFiles::health)
            && health != model.log_health
        {
            msgs.push(Msg::LogHealth(health));
        }
        let effects: Vec<Effect> = msgs.into_iter().flat_map(|m| update(model, m)).collect();
        for effect in effects {
            match effect {
                Effect::Repaint => {
                    tui.repaint()?;
                    model.dirty = true;
                }
                Effect::Copy(text) => tui.copy(&text)?,
                other => runner.run(other),
            }
        }
        // Ticks are not engine news; they do not count towards latency.
        let ago = sent_ago.take().unwrap_or_default();
        if model.dirty && !was_dirty && !is_tick && pending_since.is_none() {
            pending_since = Some(Instant::now().checked_sub(ago).unwrap_or_else(Instant::now));
        }
        if model.quit {
            break;
        }
    }
    stats.bytes = tui.written.load(std::sync::atomic::Ordering::Relaxed);
    stats.received = runner.engine.received_bytes();
    Ok(stats)
}

/// A finished effect; snapshot replies free the next snapshot load.
struct Reply {
    was_snapshot: bool,
    msg: Msg,
}

/// Runs effects as tasks on the engine handle and sends results back.
/// Snapshot loads are coalesced: one in flight, at most one more queued.
struct EffectRunner {
    engine: EngineHandle,
    tx: mpsc::UnboundedSender<Reply>,
    logs: LogEffects,
    snapshot_in_flight: bool,
    snapshot_again: bool,
}

impl EffectRunner {
    fn new(engine: EngineHandle, tx: mpsc::UnboundedSender<Reply>, logs: LogEffects) -> Self {
        EffectRunner {
            engine,
            tx,
            logs,
            snapshot_in_flight: false,
            snapshot_again: false,
        }
    }

    fn snapshot_done(&mut self) {
        self.snapshot_in_flight = false;
        if std::mem::take(&mut self.snapshot_again) {
            self.run(Effect::LoadSnapshot);
        }
    }

    fn run(&mut self, effect: Effect) {
        let effect = match effect {
            Effect::Log(op) => return self.logs.send(op),
            Effect::Run(Command::ExportLog { doc, .. }) => {
                return self.logs.send(LogOp::Export { doc });
            }
            Effect::Run(Command::ClearLog { name }) => return self.logs.clear(name),
            other => other,
        };
        let was_snapshot = effect == Effect::LoadSnapshot;
        if was_snapshot {
            if self.snapshot_in_flight {
                self.snapshot_again = true;
                return;
            }
            self.snapshot_in_flight = true;
        }
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let msg = execute(&engine, effect).await;
            let _ = tx.send(Reply { was_snapshot, msg });
        });
    }
}

/// One effect against the engine; errors become status-line messages.
async fn execute(engine: &EngineHandle, effect: Effect) -> Msg {
    let failed = |what: &str, e: &dyn std::fmt::Display| Msg::LoadFailed(format!("{what}: {e}"));
    match effect {
        Effect::LoadSnapshot => match engine.snapshot().await {
            Ok(s) => Msg::Snapshot(Box::new(s)),
            Err(e) => failed("cannot load the configs", &e),
        },
        Effect::LoadHistory(config_id) => {
            let filter = JobFilter {
                config_id: Some(config_id),
                limit: 8,
                ..Default::default()
            };
            let jobs = match engine.jobs(filter).await {
                Ok(jobs) => jobs,
                Err(e) => return failed("cannot load the job history", &e),
            };
            let resources = match jobs.first() {
                Some(newest) => match engine.job(newest.id).await {
                    Ok((_, resources)) => resources,
                    Err(e) => return failed("cannot load the job history", &e),
                },
                None => Vec::new(),
            };
            Msg::History {
                config_id,
                jobs,
                resources,
            }
        }
        Effect::LoadJobs => match engine
            .jobs(JobFilter {
                limit: 500,
                ..Default::default()
            })
            .await
        {
            Ok(jobs) => Msg::Jobs(jobs),
            Err(e) => failed("cannot load jobs", &e),
        },
        Effect::LoadDetections => match engine.detections(None, 500).await {
            Ok(d) => Msg::Detections(d),
            Err(e) => failed("cannot load detections", &e),
        },
        Effect::LoadJob(id) => match engine.job(id).await {
            Ok((job, resources)) => Msg::JobDetail(Box::new(job), resources),
            Err(e) => failed("cannot load the job", &e),
        },
        Effect::LoadRejections {
            job_id,
            resource,
            label,
        } => match engine.rejections(job_id).await {
            Ok(rows) => Msg::Rejections {
                job_id,
                resource: label,
                rows: rows
                    .into_iter()
                    .filter(|r| r.resource == resource)
                    .collect(),
            },
            Err(e) => Msg::LoadFailed(format!("cannot load the refusals of job {job_id}: {e}")),
        },
        Effect::Run(cmd) => Msg::Done(run_command(engine, cmd).await),
        // Both are handled before the runner (`event_loop`, `EffectRunner::run`).
        Effect::Repaint | Effect::Log(_) | Effect::Copy(_) => {
            Msg::LoadFailed("internal: an effect reached the engine runner".into())
        }
    }
}

/// The log viewer's side of the effects: its session runs on its own task,
/// one op after another (a document is changed in the order keys asked),
/// each on the blocking pool since it reads files.
struct LogEffects {
    ops: mpsc::UnboundedSender<LogOp>,
    dir: Option<PathBuf>,
    files: Option<crate::logs::LogFiles>,
    /// A copy of a remote daemon's files: refreshed before each op reads.
    mirror: Option<Arc<LogMirror>>,
    tx: mpsc::UnboundedSender<Reply>,
}

impl LogEffects {
    fn new(
        dir: Option<PathBuf>,
        files: Option<crate::logs::LogFiles>,
        mirror: Option<Arc<LogMirror>>,
        tx: mpsc::UnboundedSender<Reply>,
    ) -> Self {
        let (ops, mut queue) = mpsc::unbounded_channel::<LogOp>();
        let (session_dir, replies, copy) = (dir.clone(), tx.clone(), mirror.clone());
        tokio::spawn(async move {
            let mut session = LogSession::new(session_dir.clone());
            // The file open in the viewer (what a follow poll refreshes).
            let mut open: Option<String> = None;
            while let Some(op) = queue.recv().await {
                if let Some(copy) = &copy {
                    let only = match &op {
                        LogOp::List => Some(None),
                        LogOp::Open { name, .. } => {
                            open = Some(name.clone());
                            Some(open.as_deref())
                        }
                        LogOp::Doc { .. } => Some(open.as_deref()),
                        LogOp::Close | LogOp::Export { .. } => None,
                    };
                    if let Some(only) = only
                        && let Err(e) = copy.refresh(only).await
                    {
                        let msg = Msg::LoadFailed(format!("the daemon's logs: {e}"));
                        let _ = replies.send(Reply {
                            was_snapshot: false,
                            msg,
                        });
                    }
                }
                let ran = tokio::task::spawn_blocking(move || {
                    let reply = session.handle(op);
                    (session, reply)
                })
                .await;
                let msg = match ran {
                    Ok((s, reply)) => {
                        session = s;
                        Msg::Log(reply)
                    }
                    Err(e) => {
                        // The document went with the failed op; start afresh.
                        session = LogSession::new(session_dir.clone());
                        Msg::Log(LogReply::Crashed(format!(
                            "the log viewer failed ({e}); open the file again"
                        )))
                    }
                };
                if replies
                    .send(Reply {
                        was_snapshot: false,
                        msg,
                    })
                    .is_err()
                {
                    break;
                }
            }
        });
        LogEffects {
            ops,
            dir,
            files,
            mirror,
            tx,
        }
    }

    fn send(&self, op: LogOp) {
        // Only fails once the session task has ended with the console.
        let _ = self.ops.send(op);
    }

    /// Clears a listed active file through the writer, off the loop.
    fn clear(&self, name: String) {
        let (dir, files, tx) = (self.dir.clone(), self.files.clone(), self.tx.clone());
        let mirror = self.mirror.clone();
        tokio::spawn(async move {
            let result = match (mirror, dir) {
                // The daemon's writer clears its own file.
                (Some(mirror), _) => mirror.clear(&name).await,
                (None, dir) => match dir {
                    None => Err("this console has no logs directory; nothing to clear".into()),
                    Some(dir) => {
                        let n = name.clone();
                        tokio::task::spawn_blocking(move || clear_log(files.as_ref(), &dir, &n))
                            .await
                            .unwrap_or_else(|e| Err(format!("clearing {name} failed: {e}")))
                    }
                },
            };
            let msg = Msg::Log(LogReply::Cleared { name, result });
            let _ = tx.send(Reply {
                was_snapshot: false,
                msg,
            });
        });
    }
}

async fn run_command(engine: &EngineHandle, cmd: Command) -> Result<String, String> {
    let what = cmd.describe();
    let result = match cmd {
        Command::Start { id, name } => engine
            .start(Some(&id.to_string()))
            .await
            .map(|_| format!("{name}: scheduler started")),
        Command::Stop { id, name } => engine
            .stop(Some(&id.to_string()))
            .await
            .map(|_| format!("{name}: scheduler stopped; queued jobs cancelled")),
        Command::Trigger { id, name } => engine
            .trigger(&id.to_string())
            .await
            .map(|job| format!("{name}: sync queued as job {job}")),
        Command::Setup { id, name, settings } => engine
            .setup(&id.to_string(), settings)
            .await
            .map(|()| format!("{name}: settings saved")),
        Command::Retry { job } => engine
            .retry(job)
            .await
            .map(|()| format!("job {job} queued again")),
        Command::ClearCooldown { id, name } => {
            engine.clear_cooldown(&id.to_string()).await.map(|ended| {
                if ended.is_some() {
                    format!("{name}: cooldown ended; checks resume at the next interval")
                } else {
                    format!("{name} was not in cooldown")
                }
            })
        }
        Command::RetryAll => engine
            .retry_all()
            .await
            .map(|n| format!("{n} failed jobs queued again")),
        Command::Clear => engine
            .clear()
            .await
            .map(|n| format!("{n} finished jobs deleted")),
        // Routed to the log session by `EffectRunner::run`; quitting is the
        // confirmation's own.
        Command::ClearLog { .. } | Command::ExportLog { .. } | Command::Quit { .. } => {
            return Err(format!("internal: cannot {what} through the engine"));
        }
    };
    result.map_err(|e| format!("cannot {what}: {e}"))
}
