//! Answers in the format a path suffix asked for (see `path`): JSON as it is,
//! `.json.gz` gzipped where DHIS2 has a gzip writer, anything else refused.
//!
//! dhis2-core (paths under `dhis-2/dhis-web-api/src/main/java/org/hisp/dhis/webapi/`):
//! - metadata (`/api/metadata`, `/api/{plural}`, `/api/{plural}/{uid}`,
//!   `/api/deletedObjects`): the message converters registered per
//!   `Compression` write raw gzip, `Content-Type: application/json+gzip`,
//!   `Content-Disposition: attachment; filename=metadata.json.gz` whatever the
//!   path, `Content-Transfer-Encoding: binary`, no `Content-Encoding`
//!   (mvc/messageconverter/MetadataExportParamsMessageConverter.java
//!   `writeInternal`, MessageConverterUtils `getContentDispositionHeaderValue`;
//!   2.39.6–2.42.1);
//! - tracker events: `@GetMapping(produces = CONTENT_TYPE_JSON_GZIP)`,
//!   `events.json.gz` (2.39.6/2.40.5 controller/tracker/export/TrackerEventsExportController.java,
//!   2.41.3/2.42.1 controller/tracker/export/event/EventsExportController.java
//!   `getEventsAsJsonGzip`); the handler answers unpaged (see `tracker_api`);
//! - `dataValueSets` produces JSON, XML, ADX and CSV only
//!   (controller/datavalue/DataValueSetController.java), so `.json.gz` there
//!   is 406 (gzip is `?compression=gzip` instead); `system/*`, `me`,
//!   `schemas` and the other tracker exports have no gzip writer either.
//!
//! XML, CSV and the other registered types are refused with 406 here even
//! where DHIS2 renders them (XML on `dataValueSets` and tracker, CSV on
//! metadata lists, `dataValueSets` and events): the simulator renders JSON
//! only, and its message says so rather than answering in the wrong format.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::path::{Format, Suffix};
use super::response::error;

pub async fn respond(req: Request, next: Next) -> Response {
    let Some(Suffix {
        format: Some(format),
        ..
    }) = req.extensions().get::<Suffix>().cloned()
    else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    match format {
        Format::Json => next.run(req).await,
        Format::JsonGzip => match gzip_attachment(&path) {
            Some(filename) => gzipped(next.run(req).await, filename).await,
            None => not_acceptable("application/json+gzip", false),
        },
        Format::Other(media) => not_acceptable(media, true),
    }
}

/// The attachment name DHIS2 gives a `.json.gz` answer of `path`, if it has one.
fn gzip_attachment(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    match segments.as_slice() {
        ["tracker", "events"] => Some("events.json.gz"),
        ["tracker", ..] | ["system", ..] | ["dataValueSets"] | ["me"] | ["schemas"] => None,
        [_] | [_, _] => Some("metadata.json.gz"),
        _ => None,
    }
}

/// The answer's body gzipped as DHIS2 writes it; errors stay plain JSON.
async fn gzipped(resp: Response, filename: &str) -> Response {
    use std::io::Write;
    if !resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zipped = match gz.write_all(&bytes).and_then(|()| gz.finish()) {
        Ok(z) => z,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let headers = &mut parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json+gzip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={filename}")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        "content-transfer-encoding",
        HeaderValue::from_static("binary"),
    );
    Response::from_parts(parts, Body::from(zipped))
}

/// DHIS2 answers 406 where no writer produces the type (body *inferred*: the
/// WebMessage of CrudControllerAdvice `httpMediaTypeNotAcceptableExceptionHandler`).
fn not_acceptable(media: &str, simulator_limit: bool) -> Response {
    let message = if simulator_limit {
        format!(
            "Not Acceptable: syncdeck sim answers JSON only, not {media} (DHIS2 renders some endpoints in {media}; ask for .json)"
        )
    } else {
        format!("Not Acceptable: this endpoint cannot produce {media}")
    };
    error(StatusCode::NOT_ACCEPTABLE, &message)
}
