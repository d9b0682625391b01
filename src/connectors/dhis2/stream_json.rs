//! Streaming parser for `/api/dataValueSets.json`.
//!
//! That endpoint has no paging: it returns one JSON document that can hold
//! millions of values. The body is parsed item by item with a serde
//! `DeserializeSeed` that walks the top-level object, skips every key but
//! `dataValues`, and hands values over in batches, so memory stays at one batch
//! (plus one in the channel) whatever the export size.
//!
//! The async side runs the (blocking) parser on `spawn_blocking` over a
//! `SyncIoBridge`, sending batches over a bounded channel: a slow consumer
//! slows the download, and dropping the stream stops the parser.
//!
//! An export counts as complete only when the body is the document DHIS2
//! writes: one object with a `dataValues` list and nothing that says it is an
//! error message instead (2.39.0–2.41.3 `JsonDataValueSetWriter` writes
//! `{"dataValues":[…]}`, or `dataSet`, `completeDate`, `period`, `orgUnit`
//! and then `dataValues`; never deeper than one value object). A 200 with a
//! WebMessage, an object without the list, a body nested deeper than any
//! data value set, or one that ends early is an error, never "zero values".

use std::fmt;
use std::io::{self, BufReader, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::data_value::DataValue;
use super::error::{Dhis2Error, Result, sanitize};
use super::response::html_error;
use super::timeouts::{IdleTimeout, TimeoutPhase};

/// Bytes of the body start kept for error messages and login-page sniffing.
const HEAD_BYTES: usize = 8 * 1024;

/// Nesting refused in an export. A data value set is three levels deep (the
/// document, `dataValues`, a value); the margin is for values with nested
/// extras. serde skips ignored values iteratively, so without this bound a
/// deep body would cost memory per level instead of an error.
const MAX_DEPTH: u32 = 32;

/// Keys of a DHIS2 WebMessage that a data value set never has.
const WEB_MESSAGE_KEYS: [&str; 4] = ["httpStatus", "httpStatusCode", "status", "message"];

/// Parses a data value set from `reader`, calling `on_batch` with up to
/// `batch_size` values at a time. `on_batch` returning `false` stops early
/// (cancellation; not an error). Returns the number of values parsed.
///
/// Errors: malformed JSON, a document that is not a data value set (no
/// `dataValues` list, a WebMessage, nesting past [`MAX_DEPTH`]) →
/// `BadPayload` naming `source`; an HTML login page → `Auth`; a body that
/// ends early or a read error → `Transient` (connection cut).
pub fn parse_data_values<R: Read>(
    reader: R,
    batch_size: usize,
    source: &str,
    mut on_batch: impl FnMut(Vec<DataValue>) -> bool,
) -> Result<u64> {
    // The capture sits below the buffer, so it sees chunks, not single bytes.
    let mut reader = BufReader::with_capacity(
        64 * 1024,
        Capture {
            inner: reader,
            head: Vec::new(),
            depth: DepthScan::default(),
        },
    );
    let mut sink = Sink {
        batch_size: batch_size.max(1),
        batch: Vec::new(),
        on_batch: &mut on_batch,
        total: 0,
        stopped: false,
    };
    let mut facts = RootFacts::default();
    let result = {
        let mut de = serde_json::Deserializer::from_reader(&mut reader);
        Root {
            sink: &mut sink,
            facts: &mut facts,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end())
    };
    if sink.stopped {
        return Ok(sink.total);
    }
    if let Some(problem) = facts.problem(result.is_ok()) {
        return Err(Dhis2Error::bad_payload(
            format!(
                "data value export from {source}: {problem}; nothing from it was imported as complete"
            ),
            &reader.get_ref().head,
        ));
    }
    match result {
        Ok(()) => {
            sink.flush();
            Ok(sink.total)
        }
        Err(e) => Err(stream_error(e, &mut reader, source)),
    }
}

/// What the top level of the document held, beyond the values themselves.
#[derive(Debug, Default)]
struct RootFacts {
    data_values: bool,
    /// A WebMessage key (`status`, `message`…): an error answer, not an export.
    web_message_key: Option<&'static str>,
}

impl RootFacts {
    /// Why the document is not a complete data value set, if it is not
    /// (`parsed`: the whole document was read).
    fn problem(&self, parsed: bool) -> Option<String> {
        if let Some(key) = self.web_message_key {
            return Some(format!(
                "not a data value set but a DHIS2 message (it has `{key}`, which a data value set never has)"
            ));
        }
        (parsed && !self.data_values)
            .then(|| "not a data value set: the object has no `dataValues` list".to_string())
    }
}

fn stream_error<R: Read>(
    e: serde_json::Error,
    reader: &mut BufReader<Capture<R>>,
    source: &str,
) -> Dhis2Error {
    let text = sanitize(&e.to_string(), 200);
    let capture = reader.get_ref();
    let blank = capture.head.iter().all(u8::is_ascii_whitespace);
    if capture.depth.too_deep {
        return Dhis2Error::bad_payload(
            format!(
                "data value export from {source}: nested deeper than {MAX_DEPTH} levels, which no data value set is"
            ),
            &capture.head,
        );
    }
    match e.classify() {
        // A silent server (the body's idle deadline) is a timeout, with its deadline.
        Category::Io => match IdleTimeout::find(&io::Error::from(e)) {
            Some(after) => Dhis2Error::Timeout {
                url: source.to_string(),
                phase: TimeoutPhase::Idle,
                after,
            },
            None => Dhis2Error::transient(format!(
                "connection lost while reading the data value export from {source} ({text})"
            )),
        },
        Category::Eof if blank => Dhis2Error::bad_payload(
            format!("data value export from {source}: empty body"),
            &capture.head,
        ),
        Category::Eof => Dhis2Error::transient(format!(
            "the data value export from {source} ended early, the connection was probably cut ({text})"
        )),
        Category::Syntax | Category::Data => {
            let first = capture.head.iter().find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'<') {
                // Read a bit more so the login form markers are in the captured head.
                let _ = reader.take(HEAD_BYTES as u64).read_to_end(&mut Vec::new());
                return html_error(source, &reader.get_ref().head);
            }
            Dhis2Error::bad_payload(
                format!("data value export from {source}: {text}"),
                &capture.head,
            )
        }
    }
}

/// Keeps the first bytes read, for error messages, and refuses nesting past
/// [`MAX_DEPTH`] as the bytes go by.
struct Capture<R> {
    inner: R,
    head: Vec<u8>,
    depth: DepthScan,
}

impl<R: Read> Read for Capture<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(n);
            self.head.extend_from_slice(&buf[..take]);
        }
        if !self.depth.feed(&buf[..n]) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "JSON nested too deeply",
            ));
        }
        Ok(n)
    }
}

/// Bracket depth outside strings, tracked byte by byte.
#[derive(Debug, Default)]
struct DepthScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    too_deep: bool,
}

impl DepthScan {
    /// `false` once the nesting went past [`MAX_DEPTH`].
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        self.too_deep = true;
                        return false;
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        true
    }
}

struct Sink<'f> {
    batch_size: usize,
    batch: Vec<DataValue>,
    on_batch: &'f mut dyn FnMut(Vec<DataValue>) -> bool,
    total: u64,
    stopped: bool,
}

impl Sink<'_> {
    /// Adds a value; `false` when the consumer asked to stop.
    fn push(&mut self, v: DataValue) -> bool {
        self.batch.push(v);
        self.total += 1;
        self.batch.len() < self.batch_size || self.flush()
    }

    fn flush(&mut self) -> bool {
        if self.batch.is_empty() || self.stopped {
            return !self.stopped;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        if !(self.on_batch)(batch) {
            self.stopped = true;
        }
        !self.stopped
    }
}

/// Top-level object: only `dataValues` is materialised (one item at a time).
struct Root<'a, 'f> {
    sink: &'a mut Sink<'f>,
    facts: &'a mut RootFacts,
}

enum Key {
    DataValues,
    WebMessage(&'static str),
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Key, E> {
                Ok(match WEB_MESSAGE_KEYS.iter().find(|k| **k == s) {
                    _ if s == "dataValues" => Key::DataValues,
                    Some(k) => Key::WebMessage(k),
                    None => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a data value set object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::DataValues => {
                    map.next_value_seed(Values {
                        sink: &mut *self.sink,
                    })?;
                    self.facts.data_values = true;
                }
                Key::WebMessage(k) => {
                    // An error answer: no need to read the rest of it (it may be huge).
                    self.facts.web_message_key = Some(k);
                    return Err(de::Error::custom("a DHIS2 message, not a data value set"));
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Values<'a, 'f> {
    sink: &'a mut Sink<'f>,
}

impl<'de> DeserializeSeed<'de> for Values<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Values<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of data values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(v) = seq.next_element::<DataValue>()? {
            if !self.sink.push(v) {
                return Err(de::Error::custom("stopped by the consumer"));
            }
        }
        Ok(())
    }
}

enum Msg {
    Batch(Vec<DataValue>),
    Err(Dhis2Error),
    Done,
}

/// Batches of data values from a streamed export (`Stream` or `next_batch()`).
///
/// Ends with `None` only after the whole document parsed; a parser that died
/// early yields an error instead, so a cut export never looks complete.
pub struct DataValueStream {
    rx: mpsc::Receiver<Msg>,
    finished: bool,
}

impl fmt::Debug for DataValueStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataValueStream")
            .field("finished", &self.finished)
            .finish()
    }
}

impl DataValueStream {
    pub async fn next_batch(&mut self) -> Option<Result<Vec<DataValue>>> {
        std::future::poll_fn(|cx| self.poll_batch(cx)).await
    }

    fn poll_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<DataValue>>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let out = match std::task::ready!(self.rx.poll_recv(cx)) {
            Some(Msg::Batch(b)) => return Poll::Ready(Some(Ok(b))),
            Some(Msg::Done) => None,
            Some(Msg::Err(e)) => Some(Err(e)),
            None => Some(Err(Dhis2Error::transient(
                "the data value parser stopped unexpectedly",
            ))),
        };
        self.finished = true;
        Poll::Ready(out)
    }
}

impl Stream for DataValueStream {
    type Item = Result<Vec<DataValue>>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_batch(cx)
    }
}

/// Stops the blocking reader as soon as the consumer is gone.
struct CancelOnClose<R> {
    inner: R,
    tx: mpsc::Sender<Msg>,
}

impl<R: Read> Read for CancelOnClose<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tx.is_closed() {
            return Err(io::Error::other("data value stream dropped"));
        }
        self.inner.read(buf)
    }
}

/// Spawns the parser over a byte stream. Must be called inside a Tokio runtime.
pub fn spawn_data_value_parser<S, E>(body: S, batch_size: usize, source: String) -> DataValueStream
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'static,
    E: Into<io::Error>,
{
    // Two batches in flight bound the memory; the parser waits for the consumer.
    let (tx, rx) = mpsc::channel(2);
    let reader = SyncIoBridge::new(StreamReader::new(Box::pin(body)));
    tokio::task::spawn_blocking(move || {
        let reader = CancelOnClose {
            inner: reader,
            tx: tx.clone(),
        };
        let res = parse_data_values(reader, batch_size, &source, |b| {
            tx.blocking_send(Msg::Batch(b)).is_ok()
        });
        // A closed channel means nobody listens any more; nothing to report.
        let _ = tx.blocking_send(match res {
            Ok(_) => Msg::Done,
            Err(e) => Msg::Err(e),
        });
    });
    DataValueStream {
        rx,
        finished: false,
    }
}

#[cfg(test)]
#[path = "stream_json_tests.rs"]
mod tests;
