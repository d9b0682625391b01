//! How long a request may take, phase by phase, so a hung server costs
//! seconds and a slow one is still waited for.
//!
//! Four deadlines, each for one way a request can stall:
//! - **connect**: TCP (and TLS) handshake;
//! - **first byte**: from sending a read (`GET`) to the response headers;
//! - **import**: the same for a write (`POST`): DHIS2 answers an import only
//!   once it is done, so this one waits for the work itself;
//! - **idle**: no byte for this long while reading a body (streamed exports
//!   included), however long the body as a whole takes.
//!
//! There is no whole-request limit: a 1M-value export may stream for minutes
//! and is healthy as long as bytes keep coming.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// The deadlines of one instance's requests. `Default` suits a production
/// DHIS2 over a WAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub import: Duration,
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            // A handshake takes well under a second even on a satellite link;
            // 10 s leaves room for the kernel's SYN retransmits at 1 s and 3 s.
            connect: Duration::from_secs(10),
            // DHIS2 writes nothing before its query returns rows (2.41.3
            // DataValueSetController.getDataValueSetJson streams
            // exportDataValueSetJson into the response; tracker pages count
            // their totals first; `:owner` metadata of large types is
            // collected whole): tens of seconds on a busy server are normal.
            // A gateway in front of DHIS2 (nginx's proxy_read_timeout
            // defaults to 60 s) answers 504 by then anyway.
            first_byte: Duration::from_secs(60),
            // A synchronous import answers only after it has committed (2.41.3
            // MetadataImportExportController.postJsonMetadata returns the
            // report of importMetadata): a 1,000-object metadata page or
            // 5,000 data values can take minutes on a loaded server, and
            // giving up early would make it run twice.
            import: Duration::from_secs(300),
            // Once DHIS2 writes a body it writes continuously (Jackson
            // streams the export); half a minute of silence mid-body is a dead
            // connection or a stuck server, not a slow one.
            idle: Duration::from_secs(30),
        }
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    FirstByte,
    Import,
    Idle,
}

impl TimeoutPhase {
    /// What the client was waiting for, for messages.
    pub fn waiting_for(self) -> &'static str {
        match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::FirstByte => "waiting for the response headers",
            TimeoutPhase::Import => "waiting for the import's answer",
            TimeoutPhase::Idle => "no data while reading the response body",
        }
    }

    /// The instance setting (`[[instance]]` key) that sets this deadline.
    pub fn setting(self) -> &'static str {
        match self {
            TimeoutPhase::Connect => "connect_timeout",
            TimeoutPhase::FirstByte => "first_byte_timeout",
            TimeoutPhase::Import => "import_timeout",
            TimeoutPhase::Idle => "idle_timeout",
        }
    }
}

/// `30 s`, `1.5 s`, `40 ms`: whole seconds without decimals (as configured).
pub fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_millis(100) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The error a body stream yields when it went silent for `after`; the
/// streaming parser recognises it inside the `io::Error` it gets.
#[derive(Debug, Clone, Copy)]
pub struct IdleTimeout {
    pub after: Duration,
}

impl fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no data for {}", seconds(self.after))
    }
}

impl std::error::Error for IdleTimeout {}

impl IdleTimeout {
    /// The deadline, when `e` is (or wraps) an idle timeout.
    pub fn find(e: &io::Error) -> Option<Duration> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<IdleTimeout>())
            .map(|t| t.after)
    }
}

/// `body` as `io::Result` items that fail with [`IdleTimeout`] when no item
/// arrives within `idle` (measured only while the reader waits for one, so a
/// slow consumer is never mistaken for a silent server). Ends after an error.
pub fn idle_limited<S, E>(body: S, idle: Duration) -> impl Stream<Item = io::Result<Bytes>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let body: Pin<Box<S>> = Box::pin(body);
    futures_util::stream::unfold(Some(body), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(body))),
            Ok(Some(Err(e))) => Some((Err(io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    IdleTimeout { after: idle },
                )),
                None,
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_shown_as_configured() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(12)), "12 ms");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_body_fails_with_an_idle_timeout_after_what_it_delivered() {
        let body = futures_util::stream::iter([Ok::<_, io::Error>(Bytes::from_static(b"{\"a\""))])
            .chain(futures_util::stream::pending());
        let mut limited = Box::pin(idle_limited(body, Duration::from_secs(30)));
        assert_eq!(
            limited.next().await.unwrap().unwrap(),
            Bytes::from_static(b"{\"a\"")
        );
        let started = tokio::time::Instant::now();
        let err = limited.next().await.unwrap().unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(IdleTimeout::find(&err), Some(Duration::from_secs(30)));
        assert!(limited.next().await.is_none(), "ends after the error");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_coming_never_times_out() {
        // 100 chunks 20 s apart: 2,000 s in all, never 30 s of silence.
        let body = futures_util::stream::unfold(0, |n| async move {
            if n == 100 {
                return None;
            }
            tokio::time::sleep(Duration::from_secs(20)).await;
            Some((Ok::<_, io::Error>(Bytes::from_static(b"x")), n + 1))
        });
        let limited = idle_limited(body, Duration::from_secs(30));
        let items: Vec<_> = limited.collect().await;
        assert_eq!(items.len(), 100);
        assert!(items.iter().all(Result::is_ok));
    }
}
