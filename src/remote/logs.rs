//! The daemon's log files for an attached console's log viewer. On this
//! host (a unix socket) the console reads them where the daemon writes
//! them; over TCP it keeps a private copy (a temporary directory, mode
//! 0700). A listing makes placeholders of the listed sizes (nothing is
//! downloaded for it); opening a file, and each follow poll, fetches it,
//! then only what it grew by. Only names the daemon's listing gives, and
//! that are log file names, are ever written.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use super::RemoteEngine;
use super::http::Http;
use crate::engine::EngineError;
use crate::logs::LogCatalog;

/// Where an attached console's log viewer reads.
pub enum DaemonLogs {
    /// The daemon's own directory, readable here.
    Here(PathBuf),
    /// A copy of the daemon's files, refreshed as the viewer reads.
    Copy(Arc<LogMirror>),
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    dir: Option<PathBuf>,
    files: Vec<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    name: String,
    size: u64,
    #[serde(default)]
    rotation: u32,
    /// Changes when a rotation gives the name other content.
    #[serde(default)]
    modified: Option<String>,
}

impl RemoteEngine {
    /// Where this console reads the daemon's logs.
    pub async fn daemon_logs(&self) -> Result<DaemonLogs, EngineError> {
        let listing = list(&self.http).await?;
        if let Some(dir) = listing.dir.filter(|_| self.on_this_host())
            && std::fs::read_dir(&dir).is_ok()
        {
            return Ok(DaemonLogs::Here(dir));
        }
        LogMirror::new(self.http.clone()).map(|m| DaemonLogs::Copy(Arc::new(m)))
    }
}

impl RemoteEngine {
    /// A private copy of the daemon's files, filled as they are asked for.
    pub fn log_copy(&self) -> Result<LogMirror, EngineError> {
        LogMirror::new(self.http.clone())
    }

    /// The daemon's listing as it answers it (`dir`, `files`).
    pub async fn log_listing(&self) -> Result<serde_json::Value, EngineError> {
        listing(&self.http).await
    }
}

/// `GET /api/v1/logs`, as the caller reads it.
async fn listing<T: serde::de::DeserializeOwned>(http: &Http) -> Result<T, EngineError> {
    let req = http.request(Method::GET, &["api", "v1", "logs"])?;
    http.call(req, || {
        EngineError::Invalid("the daemon writes no log files".into())
    })
    .await
}

async fn list(http: &Http) -> Result<Listing, EngineError> {
    listing(http).await
}

pub struct LogMirror {
    http: Http,
    dir: tempfile::TempDir,
    /// The files fetched, as listed then.
    fetched: Mutex<HashMap<String, Fetched>>,
    /// When each file was last asked for (a follow poll comes four times a
    /// second, and a daemon that is down must not be asked as often).
    asked: Mutex<HashMap<String, Instant>>,
}

#[derive(Clone)]
struct Fetched {
    modified: Option<String>,
}

/// How stale a followed copy may be.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

impl LogMirror {
    fn new(http: Http) -> Result<LogMirror, EngineError> {
        let dir = tempfile::Builder::new()
            .prefix("syncdeck-daemon-logs-")
            .tempdir()
            .map_err(|e| {
                EngineError::Invalid(format!("cannot create a temporary directory: {e}"))
            })?;
        Ok(LogMirror {
            http,
            dir,
            fetched: Mutex::new(HashMap::new()),
            asked: Mutex::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the log viewer calls the copy.
    pub fn label(&self) -> String {
        format!("the daemon's, copied from {}", self.http.shown())
    }

    fn fetched(&self, name: &str) -> Option<Fetched> {
        let fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        fetched.get(name).cloned()
    }

    /// `None`: the listing, as placeholders of the listed sizes for files
    /// not fetched (files the daemon no longer lists are removed).
    /// `Some(name)`: that file, fetched at most once a second (a follow
    /// poll comes four times a second, and a daemon that is down must not
    /// be asked as often).
    pub async fn refresh(&self, only: Option<&str>) -> Result<(), String> {
        let Some(name) = only else {
            return self.placeholders().await;
        };
        {
            let mut asked = self.asked.lock().unwrap_or_else(|e| e.into_inner());
            if asked.get(name).is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                return Ok(());
            }
            asked.insert(name.to_string(), Instant::now());
        }
        self.fetch(&[name.to_string()]).await
    }

    async fn placeholders(&self) -> Result<(), String> {
        let listing = list(&self.http).await.map_err(|e| e.to_string())?;
        let listed: Vec<&Listed> = listing
            .files
            .iter()
            .filter(|f| LogCatalog::is_log_file_name(&f.name))
            .collect();
        for entry in std::fs::read_dir(self.dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !listed.iter().any(|f| f.name == name) {
                let _ = std::fs::remove_file(entry.path());
                self.fetched
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&name);
            }
        }
        for file in listed.iter().filter(|f| self.fetched(&f.name).is_none()) {
            let path = self.dir().join(&file.name);
            std::fs::File::create(&path)
                .and_then(|f| f.set_len(file.size))
                .map_err(|e| format!("cannot write the copy of {}: {e}", file.name))?;
        }
        Ok(())
    }

    /// Brings the copies of `names` up to date, on one listing.
    pub async fn fetch(&self, names: &[String]) -> Result<(), String> {
        let listing = list(&self.http).await.map_err(|e| e.to_string())?;
        for name in names {
            let file = listing
                .files
                .iter()
                .filter(|f| LogCatalog::is_log_file_name(&f.name))
                .find(|f| &f.name == name)
                .ok_or_else(|| format!("the daemon no longer lists {name}"))?;
            self.copy(file).await?;
        }
        Ok(())
    }

    /// The first time whole; then what an active file grew by is appended,
    /// and a file that shrank (cleared) or changed its date (rotated) is
    /// fetched whole again.
    async fn copy(&self, file: &Listed) -> Result<(), String> {
        let path = self.dir().join(&file.name);
        let have = match self.fetched(&file.name) {
            None => None,
            Some(f) if file.rotation > 0 && f.modified != file.modified => None,
            Some(_) => Some(std::fs::metadata(&path).map_or(0, |m| m.len())),
        };
        let from = match have {
            Some(have) if have == file.size => return self.note_fetched(file),
            Some(have) if have < file.size => have,
            _ => 0,
        };
        let req = self
            .http
            .request(Method::GET, &["api", "v1", "logs", &file.name, "download"])
            .map_err(|e| e.to_string())?
            .query(&[("from", from)]);
        let resp = self.http.send(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!(
                "{} answered {} for {}",
                self.http.shown(),
                resp.status(),
                file.name
            ));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("the download of {} broke off: {e}", file.name))?;
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(from > 0)
            .truncate(from == 0)
            .open(&path)
            .map_err(|e| format!("cannot write the copy of {}: {e}", file.name))?;
        out.write_all(&bytes)
            .map_err(|e| format!("cannot write the copy of {}: {e}", file.name))?;
        self.note_fetched(file)
    }

    fn note_fetched(&self, file: &Listed) -> Result<(), String> {
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        fetched.insert(
            file.name.clone(),
            Fetched {
                modified: file.modified.clone(),
            },
        );
        Ok(())
    }

    /// Clears the daemon's file (through its writer), then the copy.
    pub async fn clear(&self, name: &str) -> Result<String, String> {
        let req = self
            .http
            .request(Method::POST, &["api", "v1", "logs", name, "clear"])
            .map_err(|e| e.to_string())?;
        let _: serde_json::Value = self
            .http
            .call(req, || {
                EngineError::Invalid(format!("the daemon has no {name}"))
            })
            .await
            .map_err(|e| e.to_string())?;
        self.fetched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.refresh(Some(name)).await?;
        Ok(format!("cleared {name} on the daemon; rotated files kept"))
    }
}
