//! `GET /api/v1/events`: engine events and log lines as server-sent events.
//!
//! Every event gets an id. A ring keeps the recent ones (of a job's progress
//! only the latest, since a newer value replaces an older one), so a client
//! that reconnects with `Last-Event-ID` gets what it missed; one whose id
//! has left the ring gets a `reset` and reloads the snapshot. Live events go
//! through a bounded channel: a client too slow to keep up is dropped (it
//! reconnects and resumes) and never holds up the engine.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::response::sse::Event;
use futures_util::Stream;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineEvent, EngineHandle};
use crate::logs::tail::Tail;

/// Events kept for clients that reconnect.
const RING: usize = 4096;
/// Live events a client may be behind before it is dropped.
const LIVE: usize = 1024;

#[derive(Debug, Clone)]
pub struct Stamped {
    pub id: u64,
    /// `engine`, `log`, `reset`.
    pub name: &'static str,
    pub data: Arc<str>,
    /// A job's progress: replaced in the ring by the next one.
    progress_of: Option<i64>,
}

impl Stamped {
    fn to_sse(&self) -> Event {
        Event::default()
            .id(self.id.to_string())
            .event(self.name)
            .data(self.data.as_ref())
    }
}

struct Ring {
    events: VecDeque<Stamped>,
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
                    e = rx.recv() => e,
                };
                match event {
                    Ok(e) => pump.record_engine(&e),
                    // We missed some: clients must reload what they show.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        pump.record("reset", "{\"reason\":\"events were lost\"}".into(), None);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
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
                        pump.record("log", data.to_string(), None);
                    }
                }
            });
        }
        log
    }

    fn record_engine(&self, event: &EngineEvent) {
        let progress_of = match event {
            EngineEvent::Progress { job_id, .. } => Some(*job_id),
            _ => None,
        };
        match serde_json::to_string(event) {
            Ok(data) => self.record("engine", data, progress_of),
            Err(e) => tracing::error!("cannot serialise an engine event: {e}"),
        }
    }

    fn record(&self, name: &'static str, data: String, progress_of: Option<i64>) {
        let stamped = {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            let stamped = Stamped {
                id: ring.next_id,
                name,
                data: data.into(),
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
        if after < ring.horizon {
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
            None => (Vec::new(), self.last_id()),
            Some(after) => match self.replay_after(after) {
                Some(events) => {
                    let seen = events.last().map_or(after, |e| e.id);
                    (events, seen)
                }
                None => {
                    let id = self.last_id();
                    let reset = Stamped {
                        id,
                        name: "reset",
                        data: "{\"reason\":\"too far behind: reload the snapshot\"}".into(),
                        progress_of: None,
                    };
                    (vec![reset], id)
                }
            },
        };
        let backlog = futures_util::stream::iter(backlog.into_iter().map(|e| Ok(e.to_sse())));
        let live = futures_util::stream::unfold((rx, seen), |(mut rx, seen)| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if e.id <= seen => continue,
                    Ok(e) => {
                        let id = e.id;
                        return Some((Ok(e.to_sse()), (rx, id)));
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
