//! Tests of the streaming data value parser (fed in tiny chunks).

use std::io::{self, Read};

use bytes::Bytes;
use futures_util::StreamExt;

use super::*;

/// A reader that hands out 1..=7 bytes per call, cycling.
struct Dribble<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn dribble(data: &[u8]) -> Dribble<'_> {
    Dribble {
        data,
        pos: 0,
        step: 0,
    }
}

/// A document with escapes, unicode and nested objects/arrays around `dataValues`.
const TRICKY: &str = r#"{
  "dataSet": "pBOMPrpg1QX", "meta": {"nested": [1, {"dataValues": "decoy"}, "x\"y"], "e": {}},
  "completeDate": "2024-01-01",
  "dataValues": [
    {"dataElement":"d1","period":"202401","orgUnit":"o1","categoryOptionCombo":"c","attributeOptionCombo":"a","value":"12","comment":"say \"hi\"\n\\ \u00e9\ud83d\ude00","extra":{"deep":[{"a":[]}]}},
    {"dataElement":"d2","period":"202401","orgUnit":"o1","value":3.5,"followup":true},
    {"dataElement":"d3","period":"202401","orgUnit":"o1","value":null,"deleted":true},
    {"dataElement":"d4","period":"202401","orgUnit":"o1","value":"x"},
    {"dataElement":"d5","period":"202401","orgUnit":"o1","value":"y"}
  ],
  "trailer": [true, false, null]
}"#;

fn collect(data: &[u8], batch: usize) -> Result<(u64, Vec<Vec<DataValue>>)> {
    let mut batches = Vec::new();
    let n = parse_data_values(dribble(data), batch, "test", |b| {
        batches.push(b);
        true
    })?;
    Ok((n, batches))
}

#[test]
fn tiny_chunks_with_escapes_and_nesting() {
    let (n, batches) = collect(TRICKY.as_bytes(), 2).unwrap();
    assert_eq!(n, 5);
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    let all: Vec<_> = batches.into_iter().flatten().collect();
    assert_eq!(all[0].comment.as_deref(), Some("say \"hi\"\n\\ é😀"));
    assert_eq!(all[1].value.as_deref(), Some("3.5"));
    assert_eq!(all[1].followup, Some(true));
    assert_eq!(all[2].value, None);
    assert_eq!(all[2].deleted, Some(true));
    assert_eq!(all[4].data_element, "d5");
}

#[test]
fn an_empty_list_is_an_empty_export() {
    assert_eq!(collect(br#"{"dataValues":[]}"#, 3).unwrap().0, 0);
    // The header DHIS2 writes with a data set (JsonDataValueSetWriter, 2.41.3).
    let header =
        br#"{"dataSet":"ds","completeDate":null,"period":"202401","orgUnit":"ou","dataValues":[]}"#;
    assert_eq!(collect(header, 3).unwrap().0, 0);
}

/// The problem text of a refused document (always `BadPayload`).
fn refused(body: &[u8]) -> String {
    match collect(body, 2).unwrap_err() {
        Dhis2Error::BadPayload { context, .. } => context,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
    }
}

/// Documents that are not a data value set are errors, never zero values.
#[test]
fn not_a_data_value_set_is_refused() {
    assert!(refused(b"{}").contains("no `dataValues` list"));
    let deep_object = format!("{{\"a\":{}1{}}}", "{\"a\":".repeat(20), "}".repeat(20));
    assert!(refused(deep_object.as_bytes()).contains("no `dataValues` list"));
    for message in [
        &br#"{"status":"ERROR","message":"database connection lost"}"#[..],
        br#"{"httpStatus":"OK","httpStatusCode":200,"status":"OK","message":"x"}"#,
        // A message beside an (empty) list is still not an export.
        br#"{"dataValues":[],"status":"ERROR"}"#,
    ] {
        let why = refused(message);
        assert!(why.contains("a DHIS2 message"), "{why}");
        assert!(why.contains("test"), "names the source: {why}");
    }
    assert!(refused(br#"{"dataValues":null}"#).contains("a list of data values"));
    // Values arrive before the error shows; the error still wins.
    let late =
        br#"{"dataValues":[{"dataElement":"d","period":"p","orgUnit":"o"}],"message":"cut"}"#;
    assert!(refused(late).contains("a DHIS2 message"));
}

#[test]
fn deep_nesting_is_refused_without_parsing_it() {
    for depth in [MAX_DEPTH as usize + 1, 10_000, 1_000_000] {
        // In an ignored key (which serde would skip level by level) and as the document.
        let ignored = format!(
            "{{\"meta\":{}{},\"dataValues\":[]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(
            refused(ignored.as_bytes()).contains("nested deeper than"),
            "{depth}"
        );
        let open = "{\"a\":".repeat(depth);
        assert!(
            refused(open.as_bytes()).contains("nested deeper than"),
            "{depth}"
        );
    }
    // Brackets inside strings are text, not nesting.
    let text = format!(
        r#"{{"dataValues":[{{"dataElement":"{}","period":"p","orgUnit":"o","comment":"\\\"{{{{"}}]}}"#,
        "[".repeat(100)
    );
    assert_eq!(collect(text.as_bytes(), 2).unwrap().0, 1);
}

#[test]
fn a_huge_error_message_is_refused_unread() {
    // 20 MB of message: refused at its first key, without reading the rest.
    let mut body = br#"{"status":"ERROR","message":""#.to_vec();
    body.resize(body.len() + 20 * 1024 * 1024, b'x');
    body.extend_from_slice(br#""}"#);
    let mut cursor = io::Cursor::new(&body);
    let e = parse_data_values(&mut cursor, 2, "test", |_| true).unwrap_err();
    assert!(e.to_string().contains("a DHIS2 message"), "{e}");
    assert!(
        cursor.position() <= 64 * 1024,
        "read {} bytes",
        cursor.position()
    );
    // After values, an ignored key is skipped without holding it.
    let mut body = br#"{"dataValues":[],"junk":""#.to_vec();
    body.resize(body.len() + 2 * 1024 * 1024, b'x');
    body.extend_from_slice(br#""}"#);
    assert_eq!(
        parse_data_values(io::Cursor::new(&body), 2, "test", |_| true).unwrap(),
        0
    );
}

#[test]
fn malformed_json_is_bad_payload() {
    for bad in [
        &br#"{"dataValues":[{"dataElement":"a","period":"p","orgUnit":"o",}]}"#[..],
        br#"{"dataValues":[{"dataElement":"a","period":"p","orgUnit":"o"}]} trailing"#,
        br#"{"dataValues":{"not":"a list"}}"#,
        br#"{"dataValues":[{"period":"p","orgUnit":"o"}]}"#,
        br#"[1,2,3]"#,
        b"\x1b[2Jnot json",
    ] {
        let e = collect(bad, 2).unwrap_err();
        match e {
            Dhis2Error::BadPayload { first_bytes, .. } => {
                assert!(!first_bytes.contains('\x1b'), "{first_bytes}");
            }
            other => panic!("{:?}: {other}", String::from_utf8_lossy(bad)),
        }
    }
    assert!(matches!(
        collect(b"   ", 2).unwrap_err(),
        Dhis2Error::BadPayload { .. }
    ));
}

#[test]
fn truncated_body_is_transient() {
    let full = TRICKY.as_bytes();
    for cut in [1, 20, 200, full.len() - 3] {
        let e = collect(&full[..cut], 2).unwrap_err();
        assert!(e.is_retryable(), "cut at {cut}: {e}");
    }
}

#[test]
fn html_login_page_is_auth() {
    let page = b"\n<!DOCTYPE html><html><head><title>DHIS 2</title></head><body><form id=\"loginForm\" action=\"../../dhis-web-commons-security/login.action\"><input type=\"text\" id=\"j_username\"></form></body></html>";
    assert!(collect(page, 2).unwrap_err().is_auth());
    let other = b"<html><body>502 Bad Gateway</body></html>";
    assert!(matches!(
        collect(other, 2).unwrap_err(),
        Dhis2Error::NotDhis2 { .. }
    ));
}

/// An endless export: proves the parser streams (it could never hold it) and
/// that a consumer can stop it.
struct Endless {
    buf: Vec<u8>,
    pos: usize,
    started: bool,
}

impl Read for Endless {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.started {
                self.buf.extend_from_slice(br#"{"dataValues":["#);
                self.started = true;
            } else {
                self.buf.extend_from_slice(
                    br#"{"dataElement":"d","period":"2024","orgUnit":"o","value":"1"},"#,
                );
            }
        }
        let n = out.len().min(self.buf.len() - self.pos).min(5);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn consumer_can_stop_an_endless_export() {
    let mut seen = 0usize;
    let n = parse_data_values(
        Endless {
            buf: Vec::new(),
            pos: 0,
            started: false,
        },
        100,
        "test",
        |b| {
            assert_eq!(b.len(), 100);
            seen += 1;
            seen < 50
        },
    )
    .unwrap();
    assert_eq!(seen, 50);
    assert_eq!(n, 5000);
}

fn chunks(
    data: &'static [u8],
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
    let mut parts = Vec::new();
    let mut pos = 0;
    let mut step = 0;
    while pos < data.len() {
        step = step % 7 + 1;
        let end = (pos + step).min(data.len());
        parts.push(Ok(Bytes::from_static(&data[pos..end])));
        pos = end;
    }
    futures_util::stream::iter(parts)
}

#[tokio::test]
async fn async_stream_in_tiny_chunks() {
    let mut s = spawn_data_value_parser(chunks(TRICKY.as_bytes()), 2, "test".into());
    let mut sizes = Vec::new();
    while let Some(b) = s.next().await {
        sizes.push(b.unwrap().len());
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert!(s.next_batch().await.is_none());
}

#[tokio::test]
async fn async_stream_reports_cut_connection() {
    let good = futures_util::stream::iter(vec![Ok(Bytes::from_static(
        br#"{"dataValues":[{"dataElement":"d","period":"p","orgUnit":"o"},"#,
    ))]);
    let cut = futures_util::stream::iter(vec![Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "reset by peer",
    ))]);
    let mut s = spawn_data_value_parser(good.chain(cut), 10, "test".into());
    let first = s.next().await.unwrap();
    let e = first.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(s.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_the_parser() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let endless = futures_util::stream::unfold((true, Some(tx)), |(first, tx)| async move {
        let chunk: &'static [u8] = if first {
            br#"{"dataValues":["#
        } else {
            br#"{"dataElement":"d","period":"2024","orgUnit":"o","value":"1"},"#
        };
        Some((Ok::<_, io::Error>(Bytes::from_static(chunk)), (false, tx)))
    });
    // The oneshot sender lives in the stream: it is dropped when the parser ends.
    let mut s = spawn_data_value_parser(endless, 10, "test".into());
    assert_eq!(s.next().await.unwrap().unwrap().len(), 10);
    drop(s);
    tokio::time::timeout(std::time::Duration::from_secs(10), rx)
        .await
        .expect("parser did not stop after the stream was dropped")
        .expect_err("sender dropped, never sent");
}
