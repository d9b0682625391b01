//! The event pump of a remote engine: reads the daemon's event stream,
//! hands each event to the watcher, and when the link drops says so and
//! reconnects with backoff, resuming after the last event id it saw.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use tokio::sync::mpsc;

use super::http::Http;
use super::sse::{SseEvent, SseParser};
use crate::engine::events::{Delivery, EngineEvent, EventStream, Link};
use crate::logs::tail::{TailLevel, TailLine};

/// Deliveries a watcher may be behind before the pump waits for it (and
/// the daemon, seeing a slow reader, drops the stream: we then resume).
const BUFFER: usize = 1024;

pub fn spawn(http: Http) -> EventStream {
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(run(http, tx));
    EventStream::channel(rx)
}

/// 0.5 s, 1 s, 2 s … at most 10 s between attempts.
pub fn backoff(failures: u32) -> Duration {
    let ms = 500u64.saturating_mul(1 << failures.saturating_sub(1).min(5));
    Duration::from_millis(ms.min(10_000))
}

enum Ended {
    /// The watcher is gone: stop.
    Closed,
    /// The link failed or the daemon ended the stream.
    Down(String),
}

async fn run(http: Http, tx: mpsc::Sender<Delivery>) {
    let mut last_id = None;
    let mut failures = 0;
    loop {
        let error = match connect_and_read(&http, &tx, &mut last_id, &mut failures).await {
            Ended::Closed => return,
            Ended::Down(error) => error,
        };
        failures += 1;
        let retry_in = backoff(failures);
        let down = Delivery::Link(Link::Down { error, retry_in });
        if tx.send(down).await.is_err() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(retry_in) => {}
            () = tx.closed() => return,
        }
    }
}

async fn connect_and_read(
    http: &Http,
    tx: &mpsc::Sender<Delivery>,
    last_id: &mut Option<u64>,
    failures: &mut u32,
) -> Ended {
    let mut req = match http.request(Method::GET, &["api", "v1", "events"]) {
        Ok(r) => r,
        Err(e) => return Ended::Down(e.to_string()),
    };
    if let Some(id) = last_id {
        req = req.header("last-event-id", id.to_string());
    }
    let resp = match http.send(req).await {
        Ok(r) => r,
        Err(e) => return Ended::Down(e.to_string()),
    };
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        return Ended::Down(
            http.refusal(status, &body, || {
                crate::engine::EngineError::Unreachable(format!(
                    "{} has no event stream; is it a syncdeck daemon of the same version?",
                    http.shown()
                ))
            })
            .to_string(),
        );
    }
    *failures = 0;
    if tx.send(Delivery::Link(Link::Up)).await.is_err() {
        return Ended::Closed;
    }
    let mut body = resp.bytes_stream();
    let mut parser = SseParser::default();
    loop {
        let chunk = tokio::select! {
            chunk = body.next() => chunk,
            () = tx.closed() => return Ended::Closed,
        };
        let chunk = match chunk {
            Some(Ok(c)) => {
                http.count(c.len());
                c
            }
            Some(Err(e)) => return Ended::Down(format!("the event stream broke: {e}")),
            None => return Ended::Down(format!("{} ended the event stream", http.shown())),
        };
        let events = match parser.feed(&chunk) {
            Ok(events) => events,
            Err(e) => return Ended::Down(e),
        };
        for event in events {
            if let Some(id) = event.id.as_deref().and_then(|i| i.parse().ok()) {
                *last_id = Some(id);
            }
            if let Some(delivery) = delivery_of(&event)
                && tx.send(delivery).await.is_err()
            {
                return Ended::Closed;
            }
        }
    }
}

/// What one event means to a watcher; unknown kinds (a newer daemon) are
/// skipped.
pub fn delivery_of(event: &SseEvent) -> Option<Delivery> {
    match event.event.as_str() {
        "engine" => {
            let v: serde_json::Value = serde_json::from_str(&event.data).ok()?;
            let sent_at = v["sent_at_ms"].as_i64();
            let engine_event = serde_json::from_value::<EngineEvent>(v).ok()?;
            Some(Delivery::Event(engine_event, sent_at))
        }
        "reset" => Some(Delivery::Missed),
        "log" => {
            let v: serde_json::Value = serde_json::from_str(&event.data).ok()?;
            let text = |k: &str| crate::text::inert(v[k].as_str().unwrap_or_default());
            Some(Delivery::Log(TailLine {
                level: TailLevel::parse(v["level"].as_str()?)?,
                time: text("time"),
                component: text("component"),
                text: text("text"),
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    }

    #[test]
    fn events_become_deliveries_and_outside_text_stays_inert() {
        let engine = SseEvent {
            id: Some("4".into()),
            event: "engine".into(),
            data: r#"{"event":"job_queued","job_id":9,"config_id":2}"#.into(),
        };
        assert_eq!(
            delivery_of(&engine),
            Some(Delivery::Event(
                EngineEvent::JobQueued {
                    job_id: 9,
                    config_id: Some(2)
                },
                None
            ))
        );
        let log = SseEvent {
            id: None,
            event: "log".into(),
            data:
                r#"{"level":"WARN","time":"10:00:00","component":"worker","text":"a\u001b[31mb"}"#
                    .into(),
        };
        let Some(Delivery::Log(line)) = delivery_of(&log) else {
            panic!("a log line");
        };
        assert_eq!(line.level, TailLevel::Warn);
        assert!(!line.text.contains('\u{1b}'), "{:?}", line.text);
        let reset = SseEvent {
            event: "reset".into(),
            data: "{}".into(),
            ..Default::default()
        };
        assert_eq!(delivery_of(&reset), Some(Delivery::Missed));
        let future = SseEvent {
            event: "engine".into(),
            data: r#"{"event":"something_new"}"#.into(),
            ..Default::default()
        };
        assert_eq!(delivery_of(&future), None);
    }
}
