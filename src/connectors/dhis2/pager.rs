//! Paged list exports: metadata lists, deletedObjects and `/api/tracker/*`.
//!
//! Envelopes, by dhis2-core source:
//! - metadata lists and deletedObjects: `{"pager":{page,pageCount,total,pageSize,
//!   nextPage?,prevPage?},"<collection>":[…]}` (`common/Pager.java`: `pageCount =
//!   ceil(total / pageSize)`, the page capped at it; 2.39.0–2.42.0 alike);
//! - tracker ≤2.40: flat `page,pageSize,total?` + `instances` (`PagingWrapper`, 2.40.0);
//! - tracker 2.41: `pager{}` plus the deprecated flat fields + the plural (`tracker/view/Page.java`);
//! - tracker 2.42+: `pager{}` + the plural.
//!
//! A page is accepted only in the envelope its endpoint and version answer
//! with, and only when it adds up: the page asked for, no more items than a
//! page holds, as many as the pager's `total` leaves for it, and the same
//! `total` on every page (a total that moves means objects came or went while
//! paging, and with them an object may have slipped between two pages).
//!
//! One page is held in memory at a time, so memory follows the page size, not
//! the export size.

use std::marker::PhantomData;

use futures_util::Stream;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::client::Dhis2Client;
use super::error::{Dhis2Error, Result};
use super::params::{Query, push};
use super::response::{ResponseMeta, check};
use super::version::DhisVersion;

/// The envelope a paged endpoint answers with; anything else is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// `/api/{plural}` and `/api/deletedObjects`: a full `pager` beside the collection.
    Metadata { key: String },
    /// `/api/tracker/*` up to 2.40: flat paging fields beside `instances`.
    TrackerFlat,
    /// `/api/tracker/*` from 2.41: a `pager` object beside the plural.
    TrackerPager { key: String },
}

impl Envelope {
    pub fn metadata(key: &str) -> Self {
        Envelope::Metadata {
            key: key.to_string(),
        }
    }

    /// The tracker envelope of this server version.
    pub fn tracker(plural: &str, version: DhisVersion) -> Self {
        if version.at_least(2, 41) {
            Envelope::TrackerPager {
                key: plural.to_string(),
            }
        } else {
            Envelope::TrackerFlat
        }
    }

    /// The key holding the items.
    pub fn key(&self) -> &str {
        match self {
            Envelope::Metadata { key } | Envelope::TrackerPager { key } => key,
            Envelope::TrackerFlat => "instances",
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Envelope::Metadata { .. } => "a metadata list",
            Envelope::TrackerFlat => "a DHIS2 2.40 (or older) tracker page",
            Envelope::TrackerPager { .. } => "a DHIS2 2.41+ tracker page",
        }
    }
}

/// Paging facts of one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInfo {
    pub page: u32,
    pub page_size: Option<u32>,
    /// Only with totals (`totalPages=true` on tracker; always on metadata).
    pub page_count: Option<u32>,
    pub total: Option<u64>,
    pub next_page: Option<String>,
    pub prev_page: Option<String>,
    /// The envelope had a `pager` object (metadata, tracker 2.41+).
    pub has_pager_object: bool,
}

impl PageInfo {
    /// Whether the page fetched as `requested_page` with `requested_size` is the
    /// last one. Order of evidence: empty page, `pageCount`, a short page, and
    /// a missing `nextPage` from a server that shows page links (it sent
    /// `prevPage`). Without that proof a full page means "ask again": one extra
    /// request that returns nothing costs less than silently missing data from
    /// a version that never sends links.
    pub fn is_last(&self, requested_page: u32, requested_size: u32, items: usize) -> bool {
        if items == 0 {
            return true;
        }
        if let Some(pc) = self.page_count {
            return requested_page.max(self.page) >= pc;
        }
        // The server may cap pageSize; compare with what it says it used.
        let size = self
            .page_size
            .unwrap_or(requested_size)
            .min(requested_size)
            .max(1);
        if (items as u64) < u64::from(size) {
            return true;
        }
        self.has_pager_object && self.next_page.is_none() && self.prev_page.is_some()
    }

    /// Why a page fetched as `requested_page` with `requested_size`, holding
    /// `items`, does not add up (`None` when it does). With `total`,
    /// `pageCount` and `pageSize` the count is exact, as DHIS2 computes it.
    pub fn inconsistency(
        &self,
        requested_page: u32,
        requested_size: u32,
        items: usize,
    ) -> Option<String> {
        let items = items as u64;
        if self.page != requested_page {
            return Some(format!(
                "page {requested_page} was asked for but page {} came back",
                self.page
            ));
        }
        let size = u64::from(self.page_size.unwrap_or(requested_size).min(requested_size));
        if size == 0 {
            return Some("the pager says pageSize 0".into());
        }
        if items > size {
            return Some(format!("{items} items on a page of at most {size}"));
        }
        let (Some(total), Some(page_count)) = (self.total, self.page_count) else {
            return None;
        };
        let ps = u64::from(self.page_size.unwrap_or(requested_size).max(1));
        let expected_pages = total.div_ceil(ps);
        // DHIS2 says pageCount 0 for an empty list; some servers say 1.
        if u64::from(page_count) != expected_pages && !(total == 0 && page_count == 1) {
            return Some(format!(
                "pageCount {page_count} does not match total {total} in pages of {ps} ({expected_pages} pages)"
            ));
        }
        let before = u64::from(self.page.saturating_sub(1)) * ps;
        let expected = total.saturating_sub(before).min(ps);
        (items != expected).then(|| {
            format!(
                "page {} of {page_count} holds {items} items, but a total of {total} in pages of {ps} leaves {expected} for it",
                self.page
            )
        })
    }
}

/// One page of items.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub info: PageInfo,
    pub items: Vec<T>,
}

fn as_u32(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// Why `obj` is not in the shape of `envelope`.
fn envelope_problem(obj: &Map<String, Value>, envelope: &Envelope) -> Option<String> {
    let key = envelope.key();
    let pager = obj.get("pager");
    let shape = envelope.describe();
    match envelope {
        Envelope::Metadata { .. } => {
            let Some(pager) = pager.and_then(Value::as_object) else {
                return Some(format!("no `pager` object, so it is not {shape}"));
            };
            for field in ["page", "pageCount", "total", "pageSize"] {
                if !pager.get(field).is_some_and(Value::is_u64) {
                    return Some(format!("the `pager` has no number `{field}`"));
                }
            }
            let total = pager.get("total").and_then(Value::as_u64);
            match obj.get(key) {
                Some(Value::Array(_)) => None,
                // A collection left out of an empty answer still adds up.
                None | Some(Value::Null) if total == Some(0) => None,
                None => Some(format!(
                    "no `{key}` list although the pager counts {} objects",
                    total.unwrap_or_default()
                )),
                Some(_) => Some(format!("`{key}` is not a list")),
            }
        }
        Envelope::TrackerFlat | Envelope::TrackerPager { .. } => {
            if let Envelope::TrackerPager { .. } = envelope
                && !pager.is_some_and(Value::is_object)
            {
                return Some(format!("no `pager` object, so it is not {shape}"));
            }
            match obj.get(key) {
                Some(Value::Array(_)) => None,
                Some(_) => Some(format!("`{key}` is not a list")),
                None => {
                    let other = ["instances", "trackedEntities", "enrollments", "events"]
                        .into_iter()
                        .find(|k| *k != key && obj.contains_key(*k));
                    Some(match other {
                        Some(other) => format!(
                            "it lists `{other}` where {shape} has `{key}`: not the envelope of the server's version"
                        ),
                        None => format!("no `{key}` list, so it is not {shape}"),
                    })
                }
            }
        }
    }
}

/// The envelope check and item parse; `Err` holds the reason.
fn parse_envelope<T: DeserializeOwned>(
    body: &[u8],
    envelope: &Envelope,
) -> std::result::Result<Page<T>, String> {
    let mut v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let Some(obj) = v.as_object_mut() else {
        return Err("expected a JSON object".into());
    };
    if let Some(problem) = envelope_problem(obj, envelope) {
        return Err(problem);
    }
    let pager = obj.get("pager").filter(|p| p.is_object());
    // Pager values win; the flat (≤2.41) fields fill gaps.
    let pick = |k: &str| pager.and_then(|p| p.get(k)).or_else(|| obj.get(k));
    let info = PageInfo {
        page: as_u32(pick("page")).unwrap_or(1),
        page_size: as_u32(pick("pageSize")),
        page_count: as_u32(pick("pageCount")),
        total: pick("total").and_then(Value::as_u64),
        next_page: pick("nextPage").and_then(Value::as_str).map(str::to_string),
        prev_page: pick("prevPage").and_then(Value::as_str).map(str::to_string),
        has_pager_object: pager.is_some(),
    };
    let items = match obj.remove(envelope.key()) {
        Some(Value::Array(a)) => a
            .into_iter()
            .map(serde_json::from_value)
            .collect::<std::result::Result<Vec<T>, _>>()
            .map_err(|e| e.to_string())?,
        _ => Vec::new(),
    };
    Ok(Page { info, items })
}

/// Parses a page in `envelope` (not yet checked against the request).
pub fn parse_page<T: DeserializeOwned>(
    body: &[u8],
    envelope: &Envelope,
    what: &str,
) -> Result<Page<T>> {
    parse_envelope(body, envelope)
        .map_err(|reason| Dhis2Error::bad_payload(format!("{what}: {reason}"), body))
}

/// Parses a page response with its HTTP status and checks it against the
/// request (page `requested_page` of `requested_size`).
pub fn page_from<T: DeserializeOwned>(
    meta: &ResponseMeta,
    body: &[u8],
    envelope: &Envelope,
    what: &str,
    requested: (u32, u32),
) -> Result<Page<T>> {
    check(meta, body)?;
    let page = parse_envelope::<T>(body, envelope).map_err(|reason| {
        Dhis2Error::bad_payload(format!("{what} from {}: {reason}", meta.url), body)
    })?;
    let (requested_page, requested_size) = requested;
    if let Some(reason) = page
        .info
        .inconsistency(requested_page, requested_size, page.items.len())
    {
        return Err(Dhis2Error::inconsistent(
            &meta.url,
            format!("{what}: {reason}"),
        ));
    }
    Ok(page)
}

/// Walks a paged export page by page (`next_page().await`) or as a `Stream`.
///
/// A failed page is not skipped: calling `next_page` again retries it.
pub struct Pager<T> {
    client: Dhis2Client,
    segments: Vec<String>,
    query: Query,
    envelope: Envelope,
    page_size: u32,
    next: u32,
    done: bool,
    what: String,
    /// The `total` of the first page that had one; every page must repeat it.
    total: Option<u64>,
    /// Items received so far.
    seen: u64,
    _items: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("what", &self.what)
            .field("next", &self.next)
            .field("done", &self.done)
            .finish()
    }
}

impl<T: DeserializeOwned> Pager<T> {
    pub(crate) fn new(
        client: Dhis2Client,
        segments: Vec<String>,
        query: Query,
        envelope: Envelope,
        page_size: u32,
        what: String,
    ) -> Self {
        Pager {
            client,
            segments,
            query,
            envelope,
            page_size: page_size.max(1),
            next: 1,
            done: false,
            what,
            total: None,
            seen: 0,
            _items: PhantomData,
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Fetches the next page; `None` after the last one.
    pub async fn next_page(&mut self) -> Option<Result<Page<T>>> {
        if self.done {
            return None;
        }
        let mut q = self.query.clone();
        push(&mut q, "page", self.next.to_string());
        push(&mut q, "pageSize", self.page_size.to_string());
        let segs: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        let res = match self.client.request(Method::GET, &segs, &q, None).await {
            Ok((meta, body)) => page_from::<T>(
                &meta,
                &body,
                &self.envelope,
                &self.what,
                (self.next, self.page_size),
            )
            .and_then(|page| self.account(&meta.url, page)),
            Err(e) => Err(e),
        };
        Some(res)
    }

    /// Checks a page against the pages before it and moves on.
    fn account(&mut self, url: &str, page: Page<T>) -> Result<Page<T>> {
        let n = self.next;
        if let Some(total) = page.info.total {
            match self.total {
                // Offset paging over a list that lost objects shifts the rest
                // up: one may have moved onto a page already read and be
                // skipped. A list that grew only repeats an object (imports
                // are upserts) and the new ones are changed after the run's
                // watermark, so a live server that keeps receiving data does
                // not fail every sync.
                Some(first) if total < first => {
                    return Err(Dhis2Error::inconsistent(
                        url,
                        format!(
                            "{}: the total went from {first} to {total} at page {n}: objects were removed while paging, so one may have slipped between pages",
                            self.what
                        ),
                    ));
                }
                _ => self.total = Some(total),
            }
        }
        self.seen += page.items.len() as u64;
        if page.info.is_last(n, self.page_size, page.items.len()) {
            if let Some(total) = self.total
                && self.seen != total
            {
                return Err(Dhis2Error::inconsistent(
                    url,
                    format!(
                        "{}: the pages held {} objects but the pager counts {total}",
                        self.what, self.seen
                    ),
                ));
            }
            self.done = true;
        } else {
            self.next += 1;
        }
        Ok(page)
    }

    /// The pages as a `Stream`; it ends after the last page or the first error.
    pub fn into_stream(self) -> impl Stream<Item = Result<Page<T>>> {
        futures_util::stream::unfold((self, false), |(mut pager, failed)| async move {
            if failed {
                return None;
            }
            match pager.next_page().await? {
                Ok(page) => Some((Ok(page), (pager, false))),
                Err(e) => Some((Err(e), (pager, true))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(key: &str) -> Envelope {
        Envelope::metadata(key)
    }

    fn pager(key: &str) -> Envelope {
        Envelope::TrackerPager { key: key.into() }
    }

    fn info(body: &str, envelope: &Envelope) -> (PageInfo, usize) {
        let p: Page<Value> = parse_page(body.as_bytes(), envelope, "t").unwrap();
        (p.info, p.items.len())
    }

    fn reason(body: &str, envelope: &Envelope) -> String {
        parse_page::<Value>(body.as_bytes(), envelope, "t")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn metadata_pager_loops_while_page_lt_page_count() {
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageCount":3,"total":5,"pageSize":2},"x":[1,2]}"#,
            &md("x"),
        );
        assert!(!i.is_last(1, 2, n));
        let (i, n) = info(
            r#"{"pager":{"page":3,"pageCount":3,"total":5,"pageSize":2},"x":[5]}"#,
            &md("x"),
        );
        assert!(i.is_last(3, 2, n));
        // pageCount wins over a full page.
        let (i, n) = info(
            r#"{"pager":{"page":2,"pageCount":2,"total":4,"pageSize":2},"x":[3,4]}"#,
            &md("x"),
        );
        assert!(i.is_last(2, 2, n));
        // Server echoing page 1 forever can't loop us: our own counter counts.
        assert!(i.is_last(5, 2, n));
    }

    #[test]
    fn tracker_envelopes_stop_rules() {
        // ≤2.40 without totals: full page → go on; short page → stop.
        let (i, n) = info(
            r#"{"page":1,"pageSize":2,"instances":[{},{}]}"#,
            &Envelope::TrackerFlat,
        );
        assert!(!i.has_pager_object);
        assert!(!i.is_last(1, 2, n));
        let (i, n) = info(
            r#"{"page":2,"pageSize":2,"instances":[{}]}"#,
            &Envelope::TrackerFlat,
        );
        assert!(i.is_last(2, 2, n));
        // 2.42: pager without totals; nextPage decides on a full page.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageSize":2,"nextPage":"http://h/api/tracker/events?page=2"},"events":[{},{}]}"#,
            &pager("events"),
        );
        assert!(!i.is_last(1, 2, n));
        let (i, n) = info(
            r#"{"pager":{"page":2,"pageSize":2,"prevPage":"x"},"events":[{},{}]}"#,
            &pager("events"),
        );
        assert!(i.is_last(2, 2, n));
        // Page 1, full, no links at all: can't tell, so ask for page 2.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageSize":2},"events":[{},{}]}"#,
            &pager("events"),
        );
        assert!(!i.is_last(1, 2, n));
        // 2.41 with totals in the flat fields only.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageSize":2},"page":1,"pageSize":2,"total":6,"pageCount":3,"events":[{},{}]}"#,
            &pager("events"),
        );
        assert_eq!((i.total, i.page_count), (Some(6), Some(3)));
        assert!(!i.is_last(1, 2, n));
        // Empty page always stops.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageCount":9},"events":[]}"#,
            &pager("events"),
        );
        assert!(i.is_last(1, 2, n));
        // A server that caps pageSize below the request: short vs its own size.
        let (i, n) = info(
            r#"{"page":1,"pageSize":2,"instances":[{},{}]}"#,
            &Envelope::TrackerFlat,
        );
        assert!(!i.is_last(1, 1000, n));
    }

    #[test]
    fn bad_shapes() {
        assert!(parse_page::<Value>(b"[1,2]", &md("x"), "t").is_err());
        assert!(parse_page::<Value>(b"{\"pager\":", &md("x"), "t").is_err());
        let full = r#""pager":{"page":1,"pageCount":1,"total":2,"pageSize":50}"#;
        assert!(reason(&format!("{{{full},\"x\":{{}}}}"), &md("x")).contains("`x` is not a list"));
        // The collection may be left out only when the pager counts nothing.
        assert!(reason(&format!("{{{full}}}"), &md("x")).contains("no `x` list"));
        let empty = r#"{"pager":{"page":1,"pageCount":0,"total":0,"pageSize":50}}"#;
        assert!(
            parse_page::<Value>(empty.as_bytes(), &md("x"), "t")
                .unwrap()
                .items
                .is_empty()
        );
    }

    /// The answers a broken server or proxy gives instead of a page, each
    /// refused with what was wrong.
    #[test]
    fn wrong_envelopes_are_refused() {
        // A WebMessage with status 200.
        let msg = r#"{"httpStatus":"OK","status":"ERROR","message":"database connection lost"}"#;
        assert!(reason(msg, &md("dataElements")).contains("no `pager` object"));
        assert!(reason(msg, &Envelope::TrackerFlat).contains("no `instances` list"));
        assert!(reason(msg, &pager("events")).contains("no `pager` object"));
        // A metadata list without its pager (the tracker ≤2.40 shape).
        assert!(
            reason(
                r#"{"page":1,"pageSize":50,"dataElements":[]}"#,
                &md("dataElements")
            )
            .contains("no `pager` object")
        );
        // A pager missing a field DHIS2 always writes.
        assert!(
            reason(
                r#"{"pager":{"page":1,"pageSize":50},"dataElements":[]}"#,
                &md("dataElements")
            )
            .contains("no number `pageCount`")
        );
        // The other version's tracker envelope.
        let flat = r#"{"page":1,"pageSize":50,"instances":[{}]}"#;
        assert!(reason(flat, &pager("events")).contains("no `pager` object"));
        let flat_with_pager = r#"{"pager":{"page":1,"pageSize":50},"instances":[{}]}"#;
        assert!(
            reason(flat_with_pager, &pager("events"))
                .contains("lists `instances` where a DHIS2 2.41+ tracker page has `events`")
        );
        let modern = r#"{"pager":{"page":1,"pageSize":50},"events":[{}]}"#;
        assert!(
            reason(modern, &Envelope::TrackerFlat).contains(
                "lists `events` where a DHIS2 2.40 (or older) tracker page has `instances`"
            )
        );
        // 10,000 levels deep: serde's recursion limit, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(reason(&deep, &md("x")).contains("recursion limit"));
        // Cut short.
        assert!(reason(r#"{"pager":{"page":1,"pageCount":1,"total":1,"#, &md("x")).contains("EOF"));
    }

    #[test]
    fn pages_must_add_up() {
        let page = |p: u32, pc: u32, total: u64, size: u32| PageInfo {
            page: p,
            page_size: Some(size),
            page_count: Some(pc),
            total: Some(total),
            has_pager_object: true,
            ..Default::default()
        };
        // What DHIS2 sends: 5 in pages of 2 is 2, 2, 1.
        assert_eq!(page(1, 3, 5, 2).inconsistency(1, 2, 2), None);
        assert_eq!(page(3, 3, 5, 2).inconsistency(3, 2, 1), None);
        // An empty list: pageCount 0 (DHIS2) or 1.
        assert_eq!(page(1, 0, 0, 50).inconsistency(1, 50, 0), None);
        assert_eq!(page(1, 1, 0, 50).inconsistency(1, 50, 0), None);
        // A short page before the last one.
        assert!(
            page(1, 3, 5, 2)
                .inconsistency(1, 2, 1)
                .unwrap()
                .contains("leaves 2")
        );
        // A last page holding more (or fewer) than the total leaves.
        assert!(
            page(3, 3, 5, 2)
                .inconsistency(3, 2, 2)
                .unwrap()
                .contains("leaves 1")
        );
        assert!(
            page(1, 1, 28, 1000)
                .inconsistency(1, 1000, 23)
                .unwrap()
                .contains("leaves 28")
        );
        // Items where the total says none.
        assert!(page(1, 0, 0, 50).inconsistency(1, 50, 3).is_some());
        // A pageCount that does not follow from the total.
        assert!(
            page(1, 2, 5, 2)
                .inconsistency(1, 2, 2)
                .unwrap()
                .contains("pageCount 2")
        );
        // Another page than the one asked for.
        assert!(
            page(1, 3, 5, 2)
                .inconsistency(2, 2, 2)
                .unwrap()
                .contains("page 2 was asked")
        );
        // More items than a page holds, totals or not.
        let flat = PageInfo {
            page: 1,
            page_size: Some(2),
            ..Default::default()
        };
        assert!(flat.inconsistency(1, 2, 3).unwrap().contains("at most 2"));
        assert_eq!(flat.inconsistency(1, 2, 2), None);
    }
}
