//! What DHIS2's request mapping makes of a path before a handler sees it: the
//! API version prefix (`/api/37/…`), a trailing slash and a file-name suffix
//! (`.json`, `.json.gz`, `.xml`, `.csv`…) are all accepted on every `/api` path.
//!
//! dhis2-core (paths under `dhis-2/dhis-web-api/src/main/java/org/hisp/dhis/webapi/`):
//! - suffix and trailing-slash match on every mapping: 2.39.6–2.41.3
//!   `mvc/ContentNegotiationConfig.java` `configurePathMatch`
//!   (`setUseSuffixPatternMatch(true)`, Spring 5.3's trailing-slash default),
//!   2.42.1 `security/config/WebMvcConfig.java` `createRequestMappingHandlerMapping`
//!   (`setUseTrailingSlashMatch(true)`, `setUseSuffixPatternMatch(true)`), and
//!   in all four `mvc/CustomRequestMappingHandlerMapping.java` for `@ApiVersion`
//!   controllers;
//! - the format is everything after the *first* dot, looked up in a fixed
//!   table: `view/CustomPathExtensionContentNegotiationStrategy.java`
//!   `getFilenameExtension`, `security/config/WebMvcConfig.java` `mediaTypeMap`
//!   (identical in the four tags). An extension not in the table is still cut
//!   off by the suffix match and the answer is JSON.

use axum::extract::Request;
use axum::http::Uri;

/// Set when a request came in as `/api/NN/...`.
#[derive(Clone, Copy, Debug)]
pub struct VersionedPath(pub u32);

impl VersionedPath {
    /// `/api/37/...` (and older) kept the plain import report up to 2.41; 2.42 always wraps.
    pub fn wants_plain_report(versioned: Option<Self>, version: super::Dhis2Version) -> bool {
        versioned.is_some_and(|v| v.0 <= 37) && version.minor() <= 41
    }
}

/// The format a path suffix asked for (`WebMvcConfig.mediaTypeMap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    /// `.json.gz`: `application/json+gzip`, a raw gzip body sent as an attachment.
    JsonGzip,
    /// Any other registered type (`.xml`, `.csv`, `.json.zip`, `.pdf`…): the
    /// simulator renders JSON only, so these are refused (see `formats`).
    Other(&'static str),
}

/// The registered extensions and their media types.
const MEDIA_TYPES: &[(&str, &str)] = &[
    ("json", "application/json"),
    ("json.gz", "application/json+gzip"),
    ("json.zip", "application/json+zip"),
    ("jsonp", "application/javascript"),
    ("xml", "application/xml"),
    ("xml.gz", "application/xml+gzip"),
    ("xml.zip", "application/xml+zip"),
    ("png", "image/png"),
    ("pdf", "application/pdf"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.ms-excel"),
    ("csv", "text/csv"),
    ("csv.gz", "application/csv+gzip"),
    ("csv.zip", "application/csv+zip"),
    ("adx.xml", "application/adx+xml"),
    ("adx.xml.gz", "application/adx+xml+gzip"),
    ("adx.xml.zip", "application/adx+xml+zip"),
    ("geojson", "application/json+geojson"),
];

/// A suffix cut off the path: its format (`None` when not registered) and
/// the raw extension after the first dot (`json.gz`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suffix {
    pub format: Option<Format>,
    pub extension: String,
}

impl Suffix {
    /// The `{uid}` a `/api/{plural}/{uid}.{ext}` request reaches: up to 2.41
    /// AntPathMatcher matches `{uid}.*` with a greedy variable, so the uid ends
    /// at the *last* dot (`abc.json.gz` → `abc.json`, not found); 2.42.1 maps
    /// `/{uid:[a-zA-Z0-9]{11}}` (AbstractFullReadOnlyController `getObject`),
    /// so it ends after 11 characters, at the first dot.
    pub fn uid_seen(&self, stem: &str, minor: u32) -> String {
        match self.extension.rsplit_once('.') {
            Some((inner, _)) if minor <= 41 => format!("{stem}.{inner}"),
            _ => stem.to_string(),
        }
    }
}

fn format_of(extension: &str) -> Option<Format> {
    let ext = extension.to_ascii_lowercase();
    let (name, media) = MEDIA_TYPES.iter().find(|(e, _)| *e == ext)?;
    Some(match *name {
        "json" => Format::Json,
        "json.gz" => Format::JsonGzip,
        _ => Format::Other(media),
    })
}

/// Rewrites the request's path as DHIS2's mapping sees it and records what
/// was cut off (`VersionedPath`, `Suffix`) for the handlers.
pub fn normalize(mut req: Request) -> Request {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/api/") else {
        return req;
    };
    let mut segments: Vec<&str> = rest.split('/').collect();
    let mut versioned = None;
    if let Some(v) = segments.first().and_then(|s| s.parse::<u32>().ok())
        && (28..=43).contains(&v)
    {
        versioned = Some(VersionedPath(v));
        segments.remove(0);
    }
    // `/api/dataElements/` is `/api/dataElements`.
    while segments.len() > 1 && segments.last() == Some(&"") {
        segments.pop();
    }
    let mut suffix = None;
    if let Some(last) = segments.last_mut()
        && let Some((stem, ext)) = last.split_once('.')
        && !stem.is_empty()
    {
        suffix = Some(Suffix {
            format: format_of(ext),
            extension: ext.to_string(),
        });
        *last = stem;
    }
    let mut new = format!("/api/{}", segments.join("/"));
    if let Some(q) = req.uri().query() {
        new.push('?');
        new.push_str(q);
    }
    if let Ok(uri) = new.parse::<Uri>() {
        *req.uri_mut() = uri;
        if let Some(v) = versioned {
            req.extensions_mut().insert(v);
        }
        if let Some(s) = suffix {
            req.extensions_mut().insert(s);
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(path: &str) -> (String, Option<Option<Format>>, Option<u32>) {
        let req = normalize(
            Request::builder()
                .uri(path)
                .body(Default::default())
                .unwrap(),
        );
        (
            req.uri().to_string(),
            req.extensions().get::<Suffix>().map(|s| s.format),
            req.extensions().get::<VersionedPath>().map(|v| v.0),
        )
    }

    #[test]
    fn suffixes_slashes_and_versions_are_cut_off() {
        assert_eq!(seen("/api/dataElements").0, "/api/dataElements");
        assert_eq!(seen("/api/dataElements/").0, "/api/dataElements");
        let (uri, suffix, _) = seen("/api/dataElements/fbfJHSPpUQD.json?fields=id");
        assert_eq!(uri, "/api/dataElements/fbfJHSPpUQD?fields=id");
        assert_eq!(suffix, Some(Some(Format::Json)));
        let (uri, suffix, version) = seen("/api/41/metadata.json.gz");
        assert_eq!(
            (uri.as_str(), suffix, version),
            ("/api/metadata", Some(Some(Format::JsonGzip)), Some(41))
        );
        let (uri, suffix, _) = seen("/api/dataValueSets.CSV");
        assert_eq!(uri, "/api/dataValueSets");
        assert_eq!(suffix, Some(Some(Format::Other("text/csv"))));
        // Not registered: still cut off (suffix pattern match), answered as JSON.
        assert_eq!(seen("/api/dataElements.foo").1, Some(None));
        assert_eq!(seen("/dhis-web-login/").0, "/dhis-web-login/");
    }

    #[test]
    fn the_uid_before_a_double_suffix_depends_on_the_version() {
        let gz = Suffix {
            format: Some(Format::JsonGzip),
            extension: "json.gz".into(),
        };
        assert_eq!(gz.uid_seen("fbfJHSPpUQD", 41), "fbfJHSPpUQD.json");
        assert_eq!(gz.uid_seen("fbfJHSPpUQD", 42), "fbfJHSPpUQD");
        let json = Suffix {
            format: Some(Format::Json),
            extension: "json".into(),
        };
        assert_eq!(json.uid_seen("fbfJHSPpUQD", 39), "fbfJHSPpUQD");
    }
}
