//! The console's live log tail: a tracing layer that keeps the newest lines
//! in memory and wakes the console when one arrives.
//!
//! We do not use tui-logger here: its mover thread wakes 100 times a second
//! even when idle, it is a process-wide singleton (snapshot tests would share
//! it), and it cannot filter by text. This is a ring buffer behind a mutex and
//! a `Notify`: no thread, no polling. It sits in `logs` (not the console) so
//! that `logging.rs` can install the layer without depending on the console.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// The minimum log level the tail shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TailLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl TailLevel {
    pub fn next(self) -> TailLevel {
        match self {
            TailLevel::Trace => TailLevel::Debug,
            TailLevel::Debug => TailLevel::Info,
            TailLevel::Info => TailLevel::Warn,
            TailLevel::Warn => TailLevel::Error,
            TailLevel::Error => TailLevel::Trace,
        }
    }

    /// `as_str`'s names back (the daemon's event stream).
    pub fn parse(name: &str) -> Option<TailLevel> {
        Some(match name {
            "TRACE" => TailLevel::Trace,
            "DEBUG" => TailLevel::Debug,
            "INFO" => TailLevel::Info,
            "WARN" => TailLevel::Warn,
            "ERROR" => TailLevel::Error,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TailLevel::Trace => "TRACE",
            TailLevel::Debug => "DEBUG",
            TailLevel::Info => "INFO",
            TailLevel::Warn => "WARN",
            TailLevel::Error => "ERROR",
        }
    }
}

/// Lines kept (older ones are in the log files).
pub const TAIL_CAPACITY: usize = 5_000;

#[derive(Debug, Clone, PartialEq)]
pub struct TailLine {
    pub level: TailLevel,
    /// Local `HH:MM:SS`.
    pub time: String,
    /// Short component, e.g. `worker`, `scheduler`, `changes`.
    pub component: String,
    /// Message and fields, already made inert.
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Tail {
    lines: Mutex<VecDeque<TailLine>>,
    /// Bumped on every push; the console redraws when it moved.
    generation: AtomicU64,
    notify: Notify,
}

impl Tail {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, line: TailLine) {
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() == TAIL_CAPACITY {
                lines.pop_front();
            }
            lines.push_back(line);
            // Under the lock, so `since` sees lines and count agree.
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        self.notify.notify_one();
    }

    /// Lines held (at most [`TAIL_CAPACITY`]).
    pub fn len(&self) -> usize {
        self.lines.lock().map_or(0, |l| l.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Resolves when a line was pushed since the last wake-up.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// The lines pushed after generation `seen` (as many as are still held),
    /// oldest first, and the generation they bring the reader to.
    pub fn since(&self, seen: u64) -> (Vec<TailLine>, u64) {
        let Ok(lines) = self.lines.lock() else {
            return (Vec::new(), seen);
        };
        let now = self.generation();
        let new = usize::try_from(now.saturating_sub(seen))
            .unwrap_or(usize::MAX)
            .min(lines.len());
        let skip = lines.len() - new;
        (lines.iter().skip(skip).cloned().collect(), now)
    }

    /// The lines passing the level and text filters, oldest first.
    pub fn filtered(&self, min_level: TailLevel, filter: &str) -> Vec<TailLine> {
        self.window(min_level, filter, 0, usize::MAX).0
    }

    /// At most `height` matching lines ending `back` matches above the
    /// newest (oldest first), and how many lines match in all.
    pub fn window(
        &self,
        min_level: TailLevel,
        filter: &str,
        back: usize,
        height: usize,
    ) -> (Vec<TailLine>, usize) {
        let Ok(lines) = self.lines.lock() else {
            return (Vec::new(), 0);
        };
        // Drawn up to 20 times a second over 5,000 lines: match without
        // lowercasing (allocating) every line each time.
        let matches = |l: &&TailLine| {
            l.level >= min_level
                && (filter.is_empty()
                    || contains_ignore_case(&l.text, filter)
                    || contains_ignore_case(&l.component, filter))
        };
        let total = lines.iter().filter(matches).count();
        let mut out: Vec<TailLine> = lines
            .iter()
            .rev()
            .filter(matches)
            .skip(back)
            .take(height)
            .cloned()
            .collect();
        out.reverse();
        (out, total)
    }
}

/// Whether `needle` occurs in `haystack`, ASCII letters compared without case.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Feeds a [`Tail`] from tracing.
pub struct TailLayer {
    tail: std::sync::Arc<Tail>,
}

impl TailLayer {
    pub fn new(tail: std::sync::Arc<Tail>) -> Self {
        TailLayer { tail }
    }
}

/// `syncdeck::engine::worker` → `worker`; other targets stay as they are.
pub fn component(target: &str) -> &str {
    target.rsplit("::").next().unwrap_or(target)
}

fn level(l: &Level) -> TailLevel {
    match *l {
        Level::TRACE => TailLevel::Trace,
        Level::DEBUG => TailLevel::Debug,
        Level::INFO => TailLevel::Info,
        Level::WARN => TailLevel::Warn,
        _ => TailLevel::Error,
    }
}

#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for TailLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut text = Text::default();
        event.record(&mut text);
        let time = chrono::Local::now().format("%H:%M:%S").to_string();
        self.tail.push(TailLine {
            level: level(meta.level()),
            time,
            component: crate::text::inert(component(meta.target())),
            text: crate::text::sanitize(&format!("{}{}", text.message, text.fields), 2_000),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_become_inert_lines_and_filters_apply() {
        let tail = Arc::new(Tail::new());
        let subscriber = tracing_subscriber::registry().with(TailLayer::new(tail.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "syncdeck::engine::worker", job = 7, "job \u{1b}[2Jdone");
            tracing::warn!(target: "changes", "3 changes");
            tracing::debug!("hidden at info");
        });
        assert_eq!(tail.generation(), 3);
        let lines = tail.filtered(TailLevel::Info, "");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].component, "worker");
        assert_eq!(lines[0].text, "job \\u{1b}[2Jdone job=7");
        assert_eq!(tail.filtered(TailLevel::Warn, "").len(), 1);
        assert_eq!(tail.filtered(TailLevel::Trace, "CHANGES").len(), 1);
    }

    #[test]
    fn keeps_only_the_newest_lines() {
        let tail = Tail::new();
        for i in 0..TAIL_CAPACITY + 10 {
            tail.push(TailLine {
                level: TailLevel::Info,
                time: String::new(),
                component: "t".into(),
                text: i.to_string(),
            });
        }
        let lines = tail.filtered(TailLevel::Trace, "");
        assert_eq!(lines.len(), TAIL_CAPACITY);
        assert_eq!(lines[0].text, "10");
    }
}
