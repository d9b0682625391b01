//! Reads a server-sent event stream (the daemon's `/api/v1/events`) into
//! events. Only what the WHATWG format needs for our server: `id`, `event`,
//! `data` (joined by newlines), comments (keep-alives) skipped, events end
//! at a blank line, lines end in LF, CRLF or CR. Small enough to own; the
//! crates for it bring a client of their own.

/// One event as sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Bytes in, whole events out; a line split across chunks waits for the rest.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF belongs to that line end.
    after_cr: bool,
    pending: SseEvent,
    has_data: bool,
}

/// A line longer than this is not from our server: the stream is refused.
const MAX_LINE: usize = 16 << 20;

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, String> {
        let mut out = Vec::new();
        for &b in chunk {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_done(&line) {
                        out.push(event);
                    }
                }
                _ => {
                    if self.line.len() >= MAX_LINE {
                        return Err("an event stream line is over 16 MiB".into());
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.pending);
            return std::mem::take(&mut self.has_data).then_some(event);
        }
        let text = String::from_utf8_lossy(line);
        if text.starts_with(':') {
            return None;
        }
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "id" => self.pending.id = Some(value.to_string()),
            "event" => self.pending.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_chunks_and_line_ends() {
        let stream = b": keep-alive\n\nid: 7\nevent: engine\ndata: {\"a\":1}\n\nid:8\r\nevent:log\r\ndata:x\r\ndata: y\r\n\r\nevent: reset\rdata: {}\r\r";
        // Every split point gives the same events.
        for split in 0..stream.len() {
            let mut p = SseParser::default();
            let mut events = p.feed(&stream[..split]).unwrap();
            events.extend(p.feed(&stream[split..]).unwrap());
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        id: Some("7".into()),
                        event: "engine".into(),
                        data: "{\"a\":1}".into()
                    },
                    SseEvent {
                        id: Some("8".into()),
                        event: "log".into(),
                        data: "x\ny".into()
                    },
                    SseEvent {
                        id: None,
                        event: "reset".into(),
                        data: "{}".into()
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        let mut p = SseParser::default();
        assert_eq!(p.feed(b"id: 3\nevent: engine\n\n").unwrap(), vec![]);
    }
}
