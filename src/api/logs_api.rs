//! The log files over HTTP, as the old web viewer had them: list, view
//! (`lines`, `tail`), download, search, clear. Files are chosen only by a
//! name from the directory's own listing (`LogCatalog`), and every line is
//! made inert, exactly as the CLI does.

use std::sync::atomic::{AtomicBool, AtomicU64};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::ApiState;
use super::error::{ApiError, ApiResult};
use crate::logs::document::{complete_end, tail_lines};
use crate::logs::inert::display_line;
use crate::logs::search::search_file;
use crate::logs::{LogCatalog, LogEntry, LogLevel, SearchQuery, SelectError};

const LINE_CHARS: usize = 4096;

fn catalog(s: &ApiState) -> ApiResult<&LogCatalog> {
    s.logs.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this daemon writes no log files",
        )
    })
}

fn refused(e: SelectError) -> ApiError {
    let status = if e.is_bad_input() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    ApiError::new(status, "log", e.to_string())
}

fn io(name: &str, e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "log",
        format!("cannot read {name}: {e}"),
    )
}

fn line_json(file: &str, line: Option<u64>, raw: &[u8]) -> serde_json::Value {
    json!({
        "file": file,
        "line": line.map(|n| n + 1),
        "level": LogLevel::of_line(raw),
        "text": display_line(raw, LINE_CHARS),
    })
}

/// The listing, and the directory: a console attached over the socket (on
/// this host, as this user) reads the files there itself.
pub async fn list(State(s): State<ApiState>) -> ApiResult<Response> {
    let catalog = catalog(&s)?;
    let entries = catalog.list().map_err(refused)?;
    let dir = std::path::absolute(catalog.dir()).unwrap_or_else(|_| catalog.dir().to_path_buf());
    Ok(Json(json!({ "dir": dir, "files": entries })).into_response())
}

#[derive(Deserialize)]
pub struct ViewQuery {
    lines: Option<usize>,
    /// `tail=N`: the same as `lines=N` (the old viewer's name).
    tail: Option<usize>,
    level: Option<String>,
}

fn level(text: Option<&str>) -> ApiResult<Option<LogLevel>> {
    text.map(|t| {
        t.parse::<LogLevel>()
            .map_err(|_| ApiError::bad_request("level must be error, warn, info, debug or trace"))
    })
    .transpose()
}

fn open_end(entry: &LogEntry) -> ApiResult<(std::fs::File, u64)> {
    let file = entry.open().map_err(refused)?;
    let len = file.metadata().map_err(|e| io(&entry.name, e))?.len();
    let end = if entry.rotation == 0 {
        complete_end(&file, len).map_err(|e| io(&entry.name, e))?
    } else {
        len
    };
    Ok((file, end))
}

pub async fn view(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    Query(q): Query<ViewQuery>,
) -> ApiResult<Response> {
    let entry = catalog(&s)?.select(&name).map_err(refused)?;
    let n = q.tail.or(q.lines).unwrap_or(100).min(10_000);
    let min = level(q.level.as_deref())?;
    let lines = tokio::task::spawn_blocking(move || {
        let (file, end) = open_end(&entry)?;
        let raw = tail_lines(&file, end, n, min).map_err(|e| io(&entry.name, e))?;
        Ok::<_, ApiError>(
            raw.iter()
                .map(|l| line_json(&entry.name, None, l))
                .collect::<Vec<_>>(),
        )
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(Json(json!({ "file": name, "lines": lines })).into_response())
}

/// The file as it is, as an attachment (its lines as written; a client
/// shows them inert).
#[derive(Deserialize)]
pub struct DownloadQuery {
    /// Only the bytes from this offset (a copy that has the start already).
    #[serde(default)]
    from: u64,
}

pub async fn download(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> ApiResult<Response> {
    let entry = catalog(&s)?.select(&name).map_err(refused)?;
    let (file, end) = open_end(&entry)?;
    let from = q.from.min(end);
    let mut file = tokio::fs::File::from_std(file);
    tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(from))
        .await
        .map_err(|e| io(&entry.name, e))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::io::AsyncReadExt::take(file, end - from),
    ));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", entry.name),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct SearchParams {
    query: String,
    /// Comma-separated names from the listing (default: every file).
    files: Option<String>,
    level: Option<String>,
    #[serde(default)]
    regex: bool,
    #[serde(default)]
    ignore_case: bool,
    max: Option<usize>,
}

pub async fn search(
    State(s): State<ApiState>,
    Query(q): Query<SearchParams>,
) -> ApiResult<Response> {
    let catalog = catalog(&s)?.clone();
    let min = level(q.level.as_deref())?;
    let max = q.max.unwrap_or(200).min(5_000);
    let matcher = SearchQuery {
        pattern: q.query.clone(),
        regex: q.regex,
        ignore_case: q.ignore_case,
    }
    .compile()
    .map_err(ApiError::bad_request)?;
    let entries = match q.files.as_deref().filter(|f| !f.is_empty()) {
        None => catalog.list().map_err(refused)?,
        Some(names) => names
            .split(',')
            .map(|n| catalog.select(n).map_err(refused))
            .collect::<ApiResult<Vec<_>>>()?,
    };
    let found = tokio::task::spawn_blocking(move || {
        let (cancel, scanned) = (AtomicBool::new(false), AtomicU64::new(0));
        let mut hits = Vec::new();
        let mut count = 0u64;
        for entry in &entries {
            let (file, end) = open_end(entry)?;
            search_file(&file, end, &matcher, min, &cancel, &scanned, |line, raw| {
                count += 1;
                if hits.len() < max {
                    hits.push(line_json(&entry.name, Some(line), raw));
                }
                true
            })
            .map_err(|e| io(&entry.name, e))?;
        }
        Ok::<_, ApiError>((hits, count))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(Json(json!({ "matches": found.1, "lines": found.0 })).into_response())
}

/// Empties an active file (rotations stay), like `logs clear NAME --yes`.
pub async fn clear(State(s): State<ApiState>, Path(name): Path<String>) -> ApiResult<Response> {
    let entry = catalog(&s)?.select(&name).map_err(refused)?;
    if entry.rotation != 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "log",
            format!(
                "{} is a rotated file; only active files can be cleared",
                entry.name
            ),
        ));
    }
    crate::logs::rotate::clear_file(entry.path()).map_err(|e| io(&entry.name, e))?;
    Ok(Json(json!({ "cleared": entry.name, "bytes": entry.size })).into_response())
}
