//! Paged list exports: metadata lists, deletedObjects and `/api/tracker/*`.
//!
//! Envelopes seen in the wild:
//! - metadata: `{"pager":{page,pageCount,total,pageSize,nextPage?},"<plural>":[…]}`
//! - tracker ≤2.40: flat `page,pageSize,total?,pageCount?` + `instances`
//! - tracker 2.41: `pager{}` plus the deprecated flat fields + plural key
//! - tracker 2.42+: `pager{}` + plural key
//!
//! One page is held in memory at a time, so memory follows the page size, not
//! the export size.

use std::marker::PhantomData;

use futures_util::Stream;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::Dhis2Client;
use super::error::{Dhis2Error, Result};
use super::params::{Query, push};
use super::response::{ResponseMeta, check};

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

/// Parses any of the envelopes above; items come from the first of `item_keys` present.
pub fn parse_page<T: DeserializeOwned>(
    body: &[u8],
    item_keys: &[&str],
    what: &str,
) -> Result<Page<T>> {
    let mut v: Value = serde_json::from_slice(body)
        .map_err(|e| Dhis2Error::bad_payload(format!("{what}: {e}"), body))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(Dhis2Error::bad_payload(
            format!("{what}: expected a JSON object"),
            body,
        ));
    };
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
    let has_paging = info.has_pager_object || obj.contains_key("page");
    let items_value = item_keys.iter().find_map(|k| obj.remove(*k));
    let items = match items_value {
        Some(Value::Array(a)) => a
            .into_iter()
            .map(serde_json::from_value)
            .collect::<std::result::Result<Vec<T>, _>>()
            .map_err(|e| Dhis2Error::bad_payload(format!("{what}: {e}"), body))?,
        Some(Value::Null) => Vec::new(),
        Some(_) => {
            return Err(Dhis2Error::bad_payload(
                format!("{what}: `{}` is not a list", item_keys.join("`/`")),
                body,
            ));
        }
        // DHIS2 drops an empty list in some versions; without paging info it's not a list at all.
        None if has_paging => Vec::new(),
        None => {
            return Err(Dhis2Error::bad_payload(
                format!("{what}: neither a pager nor `{}`", item_keys.join("`/`")),
                body,
            ));
        }
    };
    Ok(Page { info, items })
}

/// Parses a page response with its HTTP status (for tests and callers with raw bodies).
pub fn page_from<T: DeserializeOwned>(
    meta: &ResponseMeta,
    body: &[u8],
    item_keys: &[&str],
    what: &str,
) -> Result<Page<T>> {
    check(meta, body)?;
    parse_page(body, item_keys, what)
}

/// Walks a paged export page by page (`next_page().await`) or as a `Stream`.
///
/// A failed page is not skipped: calling `next_page` again retries it.
pub struct Pager<T> {
    client: Dhis2Client,
    segments: Vec<String>,
    query: Query,
    item_keys: Vec<String>,
    page_size: u32,
    next: u32,
    done: bool,
    what: String,
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
        item_keys: Vec<String>,
        page_size: u32,
        what: String,
    ) -> Self {
        Pager {
            client,
            segments,
            query,
            item_keys,
            page_size: page_size.max(1),
            next: 1,
            done: false,
            what,
            _items: PhantomData,
        }
    }

    /// The page the next call fetches (1-based).
    pub fn next_page_number(&self) -> u32 {
        self.next
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
        let keys: Vec<&str> = self.item_keys.iter().map(String::as_str).collect();
        let res = match self.client.request(Method::GET, &segs, &q, None).await {
            Ok((meta, body)) => page_from::<T>(&meta, &body, &keys, &self.what),
            Err(e) => Err(e),
        };
        Some(res.inspect(|page| {
            if page
                .info
                .is_last(self.next, self.page_size, page.items.len())
            {
                self.done = true;
            } else {
                self.next += 1;
            }
        }))
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

    fn info(body: &str, keys: &[&str]) -> (PageInfo, usize) {
        let p: Page<Value> = parse_page(body.as_bytes(), keys, "t").unwrap();
        (p.info, p.items.len())
    }

    #[test]
    fn metadata_pager_loops_while_page_lt_page_count() {
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageCount":3,"total":5,"pageSize":2},"x":[1,2]}"#,
            &["x"],
        );
        assert!(!i.is_last(1, 2, n));
        let (i, n) = info(
            r#"{"pager":{"page":3,"pageCount":3,"total":5,"pageSize":2},"x":[5]}"#,
            &["x"],
        );
        assert!(i.is_last(3, 2, n));
        // pageCount wins over a full page.
        let (i, n) = info(
            r#"{"pager":{"page":2,"pageCount":2,"total":4,"pageSize":2},"x":[3,4]}"#,
            &["x"],
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
            &["events", "instances"],
        );
        assert!(!i.has_pager_object);
        assert!(!i.is_last(1, 2, n));
        let (i, n) = info(
            r#"{"page":2,"pageSize":2,"instances":[{}]}"#,
            &["events", "instances"],
        );
        assert!(i.is_last(2, 2, n));
        // 2.42: pager without totals; nextPage decides on a full page.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageSize":2,"nextPage":"http://h/api/tracker/events?page=2"},"events":[{},{}]}"#,
            &["events", "instances"],
        );
        assert!(!i.is_last(1, 2, n));
        let (i, n) = info(
            r#"{"pager":{"page":2,"pageSize":2,"prevPage":"x"},"events":[{},{}]}"#,
            &["events", "instances"],
        );
        assert!(i.is_last(2, 2, n));
        // Page 1, full, no links at all: can't tell, so ask for page 2.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageSize":2},"events":[{},{}]}"#,
            &["events"],
        );
        assert!(!i.is_last(1, 2, n));
        // 2.41 with totals in the flat fields only.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageSize":2},"page":1,"pageSize":2,"total":6,"pageCount":3,"events":[{},{}]}"#,
            &["events"],
        );
        assert_eq!((i.total, i.page_count), (Some(6), Some(3)));
        assert!(!i.is_last(1, 2, n));
        // Empty page always stops.
        let (i, n) = info(
            r#"{"pager":{"page":1,"pageCount":9},"events":[]}"#,
            &["events"],
        );
        assert!(i.is_last(1, 2, n));
        // A server that caps pageSize below the request: short vs its own size.
        let (i, n) = info(
            r#"{"page":1,"pageSize":2,"instances":[{},{}]}"#,
            &["instances"],
        );
        assert!(!i.is_last(1, 1000, n));
    }

    #[test]
    fn bad_shapes() {
        assert!(parse_page::<Value>(b"[1,2]", &["x"], "t").is_err());
        assert!(parse_page::<Value>(br#"{"x":{}}"#, &["x"], "t").is_err());
        assert!(parse_page::<Value>(br#"{"y":[]}"#, &["x"], "t").is_err());
        assert!(parse_page::<Value>(b"{\"pager\":", &["x"], "t").is_err());
        let p = parse_page::<Value>(br#"{"pager":{"page":1,"pageCount":1}}"#, &["x"], "t").unwrap();
        assert!(p.items.is_empty());
    }
}
