//! DHIS2's metadata query language: `fields=`, `filter=` and the pager.

use serde_json::{Map, Value, json};

use super::clock;

/// Raw query parameters, keeping repeated keys (`filter` may appear many times).
#[derive(Default, Debug, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.eq_ignore_ascii_case("true"))
    }
    pub fn number(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("Value `{v}` of parameter `{key}` is not a number")),
        }
    }
}

/// One item of a `fields=` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldItem {
    pub name: String,
    pub exclude: bool,
    pub children: Option<Vec<FieldItem>>,
}

/// Parses `id,name,parent[id,name],!href` (presets such as `:owner` and `*` kept as names).
pub fn parse_fields(spec: &str) -> Vec<FieldItem> {
    fn items(chars: &mut std::iter::Peekable<std::str::Chars>) -> Vec<FieldItem> {
        let mut out = Vec::new();
        let mut name = String::new();
        let finish = |name: &mut String, children, out: &mut Vec<FieldItem>| {
            let raw = std::mem::take(name);
            let raw = raw.trim();
            if !raw.is_empty() {
                let (exclude, n) = match raw.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, raw),
                };
                out.push(FieldItem {
                    name: n.to_string(),
                    exclude,
                    children,
                });
            }
        };
        while let Some(c) = chars.next() {
            match c {
                ',' => finish(&mut name, None, &mut out),
                '[' | '(' => {
                    let children = items(chars);
                    finish(&mut name, Some(children), &mut out);
                    // swallow a following comma
                    if chars.peek() == Some(&',') {
                        chars.next();
                    }
                }
                ']' | ')' => break,
                c => name.push(c),
            }
        }
        finish(&mut name, None, &mut out);
        out
    }
    items(&mut spec.chars().peekable())
}

const IDENTIFIABLE: &[&str] = &["id", "name", "code", "created", "lastUpdated"];
const NAMEABLE: &[&str] = &[
    "id",
    "name",
    "code",
    "created",
    "lastUpdated",
    "shortName",
    "description",
];

/// Shapes one object as a `fields=` expression asks.
pub fn apply_fields(obj: &Map<String, Value>, fields: &[FieldItem]) -> Map<String, Value> {
    let mut out = Map::new();
    for item in fields.iter().filter(|f| !f.exclude) {
        match item.name.as_str() {
            "*" | ":all" | ":owner" | ":persisted" => {
                for (k, v) in obj {
                    out.insert(k.clone(), v.clone());
                }
                if item.name != ":owner" {
                    add_display_name(obj, &mut out);
                }
            }
            ":identifiable" | ":nameable" => {
                let keys = if item.name == ":identifiable" {
                    IDENTIFIABLE
                } else {
                    NAMEABLE
                };
                for k in keys {
                    if let Some(v) = obj.get(*k) {
                        out.insert((*k).into(), v.clone());
                    }
                }
                add_display_name(obj, &mut out);
            }
            "displayName" | "displayShortName" => add_display_name(obj, &mut out),
            name => {
                if let Some(v) = obj.get(name) {
                    let v = match &item.children {
                        Some(children) => apply_nested(v, children),
                        None => v.clone(),
                    };
                    out.insert(name.into(), v);
                }
            }
        }
    }
    for item in fields.iter().filter(|f| f.exclude) {
        out.remove(&item.name);
    }
    out
}

fn apply_nested(v: &Value, children: &[FieldItem]) -> Value {
    match v {
        Value::Object(m) => Value::Object(apply_fields(m, children)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| apply_nested(i, children)).collect())
        }
        other => other.clone(),
    }
}

fn add_display_name(obj: &Map<String, Value>, out: &mut Map<String, Value>) {
    if let Some(name) = obj.get("name") {
        out.insert("displayName".into(), name.clone());
    }
    if let Some(name) = obj.get("shortName") {
        out.insert("displayShortName".into(), name.clone());
    }
}

/// One `prop:op:value` filter.
#[derive(Debug, Clone)]
pub struct Filter {
    pub path: Vec<String>,
    pub op: String,
    pub value: String,
}

pub fn parse_filter(s: &str) -> Result<Filter, String> {
    let mut parts = s.splitn(3, ':');
    let prop = parts.next().unwrap_or_default();
    let op = parts
        .next()
        .ok_or_else(|| format!("Invalid filter `{s}`: expected property:operator:value"))?;
    let value = parts.next().unwrap_or_default().to_string();
    const OPS: &[&str] = &[
        "eq", "!eq", "ne", "neq", "gt", "ge", "lt", "le", "like", "!like", "ilike", "!ilike", "in",
        "!in", "null", "!null", "empty", "token",
    ];
    if !OPS.contains(&op) {
        return Err(format!("Unsupported operator `{op}` in filter `{s}`"));
    }
    Ok(Filter {
        path: prop.split('.').map(str::to_string).collect(),
        op: op.to_string(),
        value,
    })
}

impl Filter {
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        let mut current: Option<&Value> = None;
        for (i, key) in self.path.iter().enumerate() {
            current = if i == 0 {
                obj.get(key)
            } else {
                current.and_then(|v| v.get(key))
            };
        }
        let actual = current.filter(|v| !v.is_null());
        let text = actual.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let is_time = matches!(
            self.path.last().map(String::as_str),
            Some("lastUpdated" | "created")
        );
        let cmp = |want: &str| -> Option<std::cmp::Ordering> {
            let have = text.as_deref()?;
            if is_time {
                return Some(clock::parse(have)?.cmp(&clock::parse(want)?));
            }
            if let (Ok(a), Ok(b)) = (have.parse::<f64>(), want.parse::<f64>()) {
                return a.partial_cmp(&b);
            }
            Some(have.cmp(want))
        };
        use std::cmp::Ordering::*;
        let list = || {
            self.value
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(str::trim)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let lower = |s: &str| s.to_lowercase();
        match self.op.as_str() {
            "eq" => cmp(&self.value) == Some(Equal),
            "!eq" | "ne" | "neq" => cmp(&self.value) != Some(Equal),
            "gt" => cmp(&self.value) == Some(Greater),
            "ge" => matches!(cmp(&self.value), Some(Greater | Equal)),
            "lt" => cmp(&self.value) == Some(Less),
            "le" => matches!(cmp(&self.value), Some(Less | Equal)),
            "like" => text.is_some_and(|t| t.contains(&self.value)),
            "!like" => !text.is_some_and(|t| t.contains(&self.value)),
            "ilike" | "token" => text.is_some_and(|t| lower(&t).contains(&lower(&self.value))),
            "!ilike" => !text.is_some_and(|t| lower(&t).contains(&lower(&self.value))),
            "in" => text.is_some_and(|t| list().contains(&t)),
            "!in" => !text.is_some_and(|t| list().contains(&t)),
            "null" => actual.is_none(),
            "!null" => actual.is_some(),
            "empty" => actual.is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)),
            _ => false,
        }
    }
}

/// Filters combined with `rootJunction` (AND by default).
pub struct FilterSet {
    pub filters: Vec<Filter>,
    pub any: bool,
}

impl FilterSet {
    pub fn from_params(params: &Params, key: &str) -> Result<Self, String> {
        let filters = params
            .all(key)
            .into_iter()
            .map(parse_filter)
            .collect::<Result<Vec<_>, _>>()?;
        let any = params
            .get("rootJunction")
            .is_some_and(|j| j.eq_ignore_ascii_case("OR"));
        Ok(Self { filters, any })
    }
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        if self.filters.is_empty() {
            return true;
        }
        if self.any {
            self.filters.iter().any(|f| f.matches(obj))
        } else {
            self.filters.iter().all(|f| f.matches(obj))
        }
    }
}

/// A page request: DHIS2 pages from 1 with 50 items by default.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub enabled: bool,
    pub page: u64,
    pub page_size: u64,
}

impl Paging {
    pub fn from_params(params: &Params) -> Result<Self, String> {
        Ok(Self {
            enabled: params.flag("paging") != Some(false),
            page: params.number("page")?.unwrap_or(1).max(1),
            page_size: params.number("pageSize")?.unwrap_or(50).max(1),
        })
    }

    pub fn window(&self, total: usize) -> std::ops::Range<usize> {
        if !self.enabled {
            return 0..total;
        }
        let start = ((self.page - 1) * self.page_size) as usize;
        let end = start.saturating_add(self.page_size as usize);
        start.min(total)..end.min(total)
    }

    /// The `pager` object as DHIS2 writes it, with absolute `nextPage`/`prevPage`.
    pub fn pager(&self, total: usize, base_url: &str, params: &Params) -> Value {
        let page_count = (total as u64).div_ceil(self.page_size).max(1);
        let mut pager = json!({"page": self.page, "pageCount": page_count, "total": total, "pageSize": self.page_size});
        let link = |page: u64| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in params.0.iter().filter(|(k, _)| k != "page") {
                q.append_pair(k, v);
            }
            q.append_pair("page", &page.to_string());
            format!("{base_url}?{}", q.finish())
        };
        if self.page < page_count {
            pager["nextPage"] = json!(link(self.page + 1));
        }
        if self.page > 1 {
            pager["prevPage"] = json!(link(self.page - 1));
        }
        pager
    }
}

/// `order=name:asc,id:desc` applied in place (stable, so id order breaks ties).
pub fn sort_by_order(items: &mut [&Map<String, Value>], order: Option<&str>) {
    let Some(order) = order else { return };
    let keys: Vec<(String, bool)> = order
        .split(',')
        .filter_map(|o| {
            let mut p = o.split(':');
            let field = p.next()?.trim().to_string();
            let desc = p
                .next()
                .is_some_and(|d| d.eq_ignore_ascii_case("desc") || d.eq_ignore_ascii_case("idesc"));
            Some((field, desc))
        })
        .collect();
    let as_key = |v: Option<&Value>| {
        v.map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    items.sort_by(|a, b| {
        for (field, desc) in &keys {
            let ord = as_key(a.get(field)).cmp(&as_key(b.get(field)));
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
}

/// Counts per key, for `/api/_sim/stats`.
pub fn bump(map: &mut std::collections::BTreeMap<String, u64>, key: &str, by: u64) {
    *map.entry(key.to_string()).or_default() += by;
}

/// `{type}:fields` / `{type}:filter` style lookups for `/api/metadata`.
pub fn scoped<'a>(params: &'a Params, scope: &str, key: &str) -> Vec<&'a str> {
    params.all(&format!("{scope}:{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn fields_presets_lists_nesting_and_exclusions() {
        let o =
            obj(json!({"id": "a", "name": "A", "href": "h", "parent": {"id": "p", "name": "P"}}));
        let f = apply_fields(&o, &parse_fields("id,parent[id]"));
        assert_eq!(Value::Object(f), json!({"id": "a", "parent": {"id": "p"}}));
        let f = apply_fields(&o, &parse_fields("*,!href"));
        assert_eq!(f.get("displayName"), Some(&json!("A")));
        assert!(!f.contains_key("href"));
        let f = apply_fields(&o, &parse_fields(":owner"));
        assert_eq!(f.len(), 4);
        let f = apply_fields(&o, &parse_fields("id,displayName"));
        assert_eq!(Value::Object(f), json!({"id": "a", "displayName": "A"}));
    }

    #[test]
    fn filters_on_times_numbers_lists_and_paths() {
        let o = obj(
            json!({"id": "abc", "level": 3, "lastUpdated": "2024-05-01T10:00:00.000",
                           "parent": {"id": "root"}}),
        );
        let m = |s: &str| parse_filter(s).unwrap().matches(&o);
        assert!(m("lastUpdated:gt:2024-05-01T09:59:59.999"));
        assert!(m("lastUpdated:ge:2024-05-01T10:00:00.000"));
        assert!(!m("lastUpdated:gt:2024-05-01T10:00:00.000"));
        assert!(
            m("lastUpdated:gt:2024-05-01T06:00:00Z"),
            "offsets are converted to server time"
        );
        assert!(m("level:ge:3") && !m("level:gt:3"));
        assert!(m("id:in:[x,abc]") && !m("id:in:[x,y]"));
        assert!(m("parent.id:eq:root"));
        assert!(m("code:null") && m("id:!null"));
        assert!(parse_filter("id:bogus:1").is_err());
        assert!(parse_filter("id").is_err());
    }

    #[test]
    fn pager_links_and_windows() {
        let params = Params::parse(Some("pageSize=10&page=2&fields=id"));
        let p = Paging::from_params(&params).unwrap();
        assert_eq!(p.window(25), 10..20);
        let pager = p.pager(25, "http://h/api/x", &params);
        assert_eq!(pager["pageCount"], 3);
        assert_eq!(pager["total"], 25);
        assert!(pager["nextPage"].as_str().unwrap().ends_with("page=3"));
        assert!(pager["prevPage"].as_str().unwrap().contains("fields=id"));
        let last = Paging { page: 3, ..p };
        assert!(
            last.pager(25, "http://h", &params)
                .get("nextPage")
                .is_none()
        );
        assert_eq!(last.window(25), 20..25);
    }
}
