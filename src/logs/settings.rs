//! Rotation settings: the `[logs]` table of the local settings file
//! (`$XDG_CONFIG_HOME/syncdeck/syncdeck.toml`, i.e. `~/.config/syncdeck/…`).
//!
//! ```toml
//! [logs]
//! syncdeck = { max_size = "20MB", keep = 5 }
//! changes_detected = { keep = 20 }
//! ```
//!
//! Sizes take B, KB, MB, GB (powers of 1024; KiB/MiB/GiB are the same) or a
//! plain number of bytes. Anything not set keeps its default. Other tables
//! in the file are left for other settings.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::names::{LogName, MAX_ROTATION};

/// Per-file rotation: a file is rotated before a record would take it past
/// `max_bytes`; `keep` rotated files (`NAME.log.1` … `NAME.log.keep`) stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_bytes: u64,
    pub keep: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    files: [Rotation; 5],
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            files: LogName::ALL.map(|n| {
                let (max_bytes, keep) = n.default_limits();
                Rotation { max_bytes, keep }
            }),
        }
    }
}

/// Smallest accepted file size: below it nearly every line gets a file.
pub const MIN_SIZE: u64 = 1024;

impl LogSettings {
    pub fn rotation(&self, name: LogName) -> Rotation {
        self.files[name.index()]
    }

    pub fn set(&mut self, name: LogName, rotation: Rotation) {
        self.files[name.index()] = rotation;
    }

    /// `$XDG_CONFIG_HOME/syncdeck/syncdeck.toml` (or the platform's config dir).
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("syncdeck").join("syncdeck.toml"))
    }

    /// The settings in the default file, or the defaults when there is none.
    pub fn load_default() -> anyhow::Result<LogSettings> {
        match Self::default_path() {
            Some(path) if path.exists() => Self::load(&path),
            _ => Ok(LogSettings::default()),
        }
    }

    /// Reads `path`; errors say `FILE:LINE:COL: what to do`.
    pub fn load(path: &Path) -> anyhow::Result<LogSettings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, file: &str) -> anyhow::Result<LogSettings> {
        let doc: Document = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            let (line, col) = crate::config::errors::line_col(text, at);
            anyhow::anyhow!("{file}:{line}:{col}: {}", e.message().trim_end())
        })?;
        let mut settings = LogSettings::default();
        let Some(table) = doc.logs else {
            return Ok(settings);
        };
        for (name, spec) in [
            (LogName::Syncdeck, table.syncdeck),
            (LogName::Errors, table.errors),
            (LogName::AutoSync, table.auto_sync),
            (LogName::ChangesDetected, table.changes_detected),
            (LogName::SyncJobs, table.sync_jobs),
        ] {
            let Some(spec) = spec else { continue };
            let mut r = settings.rotation(name);
            if let Some(size) = spec.max_size {
                r.max_bytes = size.0;
            }
            if let Some(keep) = spec.keep {
                r.keep = keep.0;
            }
            settings.set(name, r);
        }
        Ok(settings)
    }
}

#[derive(Deserialize)]
struct Document {
    logs: Option<LogsTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsTable {
    syncdeck: Option<FileSpec>,
    errors: Option<FileSpec>,
    auto_sync: Option<FileSpec>,
    changes_detected: Option<FileSpec>,
    sync_jobs: Option<FileSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    max_size: Option<Size>,
    keep: Option<Keep>,
}

/// Bytes, from `10485760` or `"10MB"`; errors carry the value's position.
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(i64),
            Text(String),
        }
        let hint = "write a size such as \"10MB\", \"512KB\" or a number of bytes";
        let bytes = match Raw::deserialize(d)? {
            Raw::Bytes(n) => u64::try_from(n)
                .map_err(|_| serde::de::Error::custom(format!("negative size; {hint}")))?,
            Raw::Text(t) => parse_size(&t).ok_or_else(|| {
                serde::de::Error::custom(format!("cannot read size {t:?}; {hint}"))
            })?,
        };
        if bytes < MIN_SIZE {
            return Err(serde::de::Error::custom(format!(
                "max_size {bytes} B is below the minimum of {MIN_SIZE} B"
            )));
        }
        Ok(Size(bytes))
    }
}

struct Keep(usize);

impl<'de> Deserialize<'de> for Keep {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if !(1..=i64::from(MAX_ROTATION)).contains(&n) {
            return Err(serde::de::Error::custom(format!(
                "keep must be between 1 and {MAX_ROTATION} rotated files, not {n}"
            )));
        }
        Ok(Keep(n as usize))
    }
}

pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let unit = unit.trim().to_ascii_uppercase();
    let factor: u64 = match unit.as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = LogSettings::parse(
            "[other]\nx = 1\n[logs]\nsyncdeck = { max_size = \"20MB\" }\nchanges_detected = { max_size = 4096, keep = 2 }\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            s.rotation(LogName::Syncdeck),
            Rotation {
                max_bytes: 20 << 20,
                keep: 5
            }
        );
        assert_eq!(
            s.rotation(LogName::ChangesDetected),
            Rotation {
                max_bytes: 4096,
                keep: 2
            }
        );
        assert_eq!(
            s.rotation(LogName::SyncJobs),
            Rotation {
                max_bytes: 10 << 20,
                keep: 10
            }
        );
    }

    #[test]
    fn errors_point_at_file_line_col() {
        let e = LogSettings::parse("[logs]\nerrors = { max_size = \"ten\" }\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:2:"), "{e}");
        assert!(e.contains("\"10MB\""), "{e}");
        let e = LogSettings::parse("[logs]\nerors = { keep = 2 }\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:2:1:"), "{e}");
        let e = LogSettings::parse("[logs]\nerrors = { keep = 0 }\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("between 1 and 999"), "{e}");
    }
}
