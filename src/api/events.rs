//! `GET /api/v1/events`: engine events and log lines as server-sent events.
//!
//! Every event gets an id. A ring keeps the recent ones (of a running job's
//! progress only the latest, since a newer value replaces an older one), so
//! a client that reconnects with `Last-Event-ID` gets what it missed; one
//! whose id has left the ring gets a `reset` and reloads the snapshot. Live
//! events go through a bounded channel: a client too slow to keep up is
//! dropped (it reconnects and resumes) and never holds up the engine.
//!
//! A live progress event carries only the resources that changed since the
//! job's previous one (most of a plan is done or waiting, and 5 syncs of 70
//! resources would otherwise send every row a few times a second); the ring
//! keeps the whole list, which is what a new or resuming client gets first.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::response::sse::Event;
use futures_util::Stream;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::engine::events::Delivery;
use crate::engine::{EngineEvent, EngineHandle};
use crate::logs::tail::Tail;
use crate::store::queue::{JobState, ResourceProgress};

/// Events kept for clients that reconnect.
const RING: usize = 4096;
/// Log lines a new client gets first (a console's tail is not empty).
const RECENT_LINES: usize = 200;
/// Live events a client may be behind before it is dropped.
const LIVE: usize = 1024;

#[derive(Debug, Clone)]
pub struct Stamped {
    pub id: u64,
    /// `engine`, `log`, `reset`.
    pub name: &'static str,
    /// As sent live (a progress delta).
    pub data: Arc<str>,
    /// As replayed from the ring (a progress with every resource).
    whole: Arc<str>,
    /// A job's progress: replaced in the ring by the next one.
    progress_of: Option<i64>,
}

impl Stamped {
    fn to_sse(&self, live: bool) -> Event {
        Event::default()
            .id(self.id.to_string())
            .event(self.name)
            .data(if live {
                self.data.as_ref()
            } else {
                self.whole.as_ref()
            })
    }
}

struct Ring {
    events: VecDeque<Stamped>,
    /// The resources of each running job's last progress event (for deltas).
    last_resources: HashMap<i64, Vec<ResourceProgress>>,
    next_id: u64,
    /// The lowest id a client can resume after without a gap.
    horizon: u64,
}

pub struct EventLog {
    ring: Mutex<Ring>,
    live: broadcast::Sender<Stamped>,
    /// Ends every stream at shutdown (a graceful stop waits for them).
    cancel: CancellationToken,
}

impl EventLog {
    /// Starts pumping the engine's events (and the log tail's lines) in.
    pub fn start(
        engine: &EngineHandle,
        tail: Option<Arc<Tail>>,
        cancel: CancellationToken,
    ) -> Arc<EventLog> {
        let log = Arc::new(EventLog {
            ring: Mutex::new(Ring {
                events: VecDeque::new(),
                last_resources: HashMap::new(),
                next_id: 1,
                horizon: 0,
            }),
            live: broadcast::channel(LIVE).0,
            cancel: cancel.clone(),
        });
        let mut rx = engine.subscribe();
        let pump = log.clone();
        let stop = cancel.clone();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = stop.cancelled() => return,
                    e = rx.next() => e,
                };
                match event {
                    Some(Delivery::Event(e, _)) => pump.record_engine(&e),
                    // We missed some: clients must reload what they show.
                    Some(Delivery::Missed) => {
                        pump.record(
                            "reset",
                            "{\"reason\":\"events were lost\"}".into(),
                            None,
                            None,
                        );
                    }
                    Some(Delivery::Log(_) | Delivery::Link(_)) => {}
                    None => return,
                }
            }
        });
        if let Some(tail) = tail {
            let pump = log.clone();
            tokio::spawn(async move {
                let mut seen = tail.generation();
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        () = tail.changed() => {}
                    }
                    let (lines, now) = tail.since(seen);
                    seen = now;
                    for l in lines {
                        let data = serde_json::json!({
                            "level": l.level.as_str(),
                            "time": l.time,
                            "component": l.component,
                            "text": l.text,
                        });
                        pump.record("log", data.to_string(), None, None);
                    }
                }
            });
        }
        log
    }

    fn record_engine(&self, event: &EngineEvent) {
        // With the time it was sent: a client on this host can tell the
        // whole delay (the console benchmark's event → frame).
        let sent_at_ms = chrono::Utc::now().timestamp_millis();
        let serialised = |e: &EngineEvent| match serde_json::to_value(e) {
            Ok(mut data) => {
                data["sent_at_ms"] = sent_at_ms.into();
                Some(data.to_string())
            }
            Err(e) => {
                tracing::error!("cannot serialise an engine event: {e}");
                None
            }
        };
        match event {
            EngineEvent::Progress {
                job_id, resources, ..
            } => {
                let changed: Vec<ResourceProgress> = {
                    let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
                    let before = ring.last_resources.insert(*job_id, resources.clone());
                    resources
                        .iter()
                        .filter(|r| {
                            before
                                .as_ref()
                                .is_none_or(|b| !b.iter().any(|old| old == *r))
                        })
                        .cloned()
                        .collect()
                };
                let mut delta = event.clone();
                if let EngineEvent::Progress { resources, .. } = &mut delta {
                    *resources = changed;
                }
                if let (Some(whole), Some(data)) = (serialised(event), serialised(&delta)) {
                    self.record("engine", data, Some(whole), Some(*job_id));
                }
            }
            EngineEvent::JobState { job_id, state, .. } => {
                if matches!(
                    state,
                    JobState::Completed | JobState::Failed | JobState::Cancelled
                ) {
                    // Its progress is history now: not replayed, no deltas.
                    let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
                    ring.last_resources.remove(job_id);
                    ring.events.retain(|e| e.progress_of != Some(*job_id));
                }
                if let Some(data) = serialised(event) {
                    self.record("engine", data, None, None);
                }
            }
            _ => {
                if let Some(data) = serialised(event) {
                    self.record("engine", data, None, None);
                }
            }
        }
    }

    /// `whole`: the replayed form when it differs from the live `data`.
    fn record(
        &self,
        name: &'static str,
        data: String,
        whole: Option<String>,
        progress_of: Option<i64>,
    ) {
        let stamped = {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            let data: Arc<str> = data.into();
            let stamped = Stamped {
                id: ring.next_id,
                name,
                whole: whole.map_or_else(|| data.clone(), Into::into),
                data,
                progress_of,
            };
            ring.next_id += 1;
            if let Some(job) = progress_of {
                // Only the newest progress of a job is worth replaying; a
                // client that missed an older one loses nothing.
                ring.events.retain(|e| e.progress_of != Some(job));
            }
            if ring.events.len() == RING
                && let Some(old) = ring.events.pop_front()
            {
                ring.horizon = old.id;
            }
            ring.events.push_back(stamped.clone());
            stamped
        };
        // No receiver is fine: nobody is watching.
        let _ = self.live.send(stamped);
    }

    /// What a client that last saw `after` missed; `None` when some of it
    /// has left the ring (the client must reload).
    fn replay_after(&self, after: u64) -> Option<Vec<Stamped>> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        // An id this process never gave: the client saw a daemon that has
        // since restarted.
        if after < ring.horizon || after >= ring.next_id {
            return None;
        }
        Some(
            ring.events
                .iter()
                .filter(|e| e.id > after)
                .cloned()
                .collect(),
        )
    }

    /// What a client without a past needs to show the present: the last
    /// progress of every running job and the latest log lines, in order.
    fn present(&self) -> Vec<Stamped> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines: Vec<&Stamped> = ring
            .events
            .iter()
            .rev()
            .filter(|e| e.name == "log")
            .take(RECENT_LINES)
            .collect();
        lines.reverse();
        let mut present: Vec<Stamped> = ring
            .events
            .iter()
            .filter(|e| e.progress_of.is_some())
            .chain(lines)
            .cloned()
            .collect();
        present.sort_by_key(|e| e.id);
        present
    }

    fn last_id(&self) -> u64 {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).next_id - 1
    }

    /// The stream for one client: what it missed after `after` (or nothing,
    /// for a new client), then live events, until it falls behind.
    pub fn stream(
        self: &Arc<Self>,
        after: Option<u64>,
    ) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
        // Subscribed before reading the ring, so nothing falls in between;
        // duplicates are skipped by id.
        let rx = self.live.subscribe();
        let (backlog, seen) = match after {
            // A new client: the running jobs' whole progress and the latest
            // log lines, then live.
            None => (self.present(), self.last_id()),
            Some(after) => match self.replay_after(after) {
                Some(events) => {
                    let seen = events.last().map_or(after, |e| e.id);
                    (events, seen)
                }
                None => {
                    let id = self.last_id();
                    let reason: Arc<str> =
                        "{\"reason\":\"too far behind: reload the snapshot\"}".into();
                    let reset = Stamped {
                        id,
                        name: "reset",
                        data: reason.clone(),
                        whole: reason,
                        progress_of: None,
                    };
                    let mut backlog = vec![reset];
                    backlog.extend(self.present());
                    (backlog, id)
                }
            },
        };
        let backlog = futures_util::stream::iter(backlog.into_iter().map(|e| Ok(e.to_sse(false))));
        let live = futures_util::stream::unfold((rx, seen), |(mut rx, seen)| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if e.id <= seen => continue,
                    Ok(e) => {
                        let id = e.id;
                        return Some((Ok(e.to_sse(true)), (rx, id)));
                    }
                    // Too slow, or shutting down: the stream ends; a client
                    // reconnects with Last-Event-ID.
                    Err(_) => return None,
                }
            }
        });
        let stop = self.cancel.clone().cancelled_owned();
        futures_util::StreamExt::take_until(futures_util::StreamExt::chain(backlog, live), stop)
    }
}
