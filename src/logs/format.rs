//! One tracing event as one line of a log file:
//! `[AUTO-SYNC] [LEVEL] YYYY-MM-DD HH:MM:SS+02:00 [component] - message key=value`
//! or a JSON object. Times are local with their UTC offset, the same form on
//! stderr ([`LocalTime`]), so no line leaves its zone to be guessed. Control characters (ESC, CR, newlines…) in messages and
//! fields are written escaped, so a record is always exactly one line and a
//! file never carries terminal sequences.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// How every log line (files and stderr) writes its time: local, with the
/// offset (`2025-03-04 05:06:07+02:00`). The first 19 characters stay the
/// `YYYY-MM-DD HH:MM:SS` that `:goto` and `row_at_time` compare.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%:z";

/// [`TIME_FORMAT`] for tracing-subscriber's stderr lines (whose default is
/// UTC, which would mix zones with the files).
pub struct LocalTime;

impl tracing_subscriber::fmt::time::FormatTime for LocalTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", chrono::Local::now().format(TIME_FORMAT))
    }
}

/// The message and the other fields of an event, as text.
#[derive(Default)]
pub struct Fields {
    pub message: String,
    pub fields: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl Fields {
    fn push(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

/// The component shown in brackets: the target without the crate prefix.
pub fn component(target: &str) -> &str {
    target.strip_prefix("syncdeck::").unwrap_or(target)
}

/// Text with every control character written as an escape (`\n`,
/// `\u{1b}`), so it cannot break a line or drive a terminal.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

/// Formats one record, newline included.
pub fn record(
    format: LogFormat,
    level: tracing::Level,
    time: chrono::DateTime<chrono::Local>,
    target: &str,
    fields: &Fields,
) -> String {
    let level = super::names::LogLevel::from_tracing(level).as_str();
    let time = time.format(TIME_FORMAT);
    let mut out = String::with_capacity(96 + fields.message.len());
    match format {
        LogFormat::Text => {
            let _ = write!(out, "[AUTO-SYNC] [{level}] {time} [");
            push_escaped(&mut out, component(target));
            out.push_str("] - ");
            push_escaped(&mut out, &fields.message);
            for (k, v) in &fields.fields {
                let _ = write!(out, " {k}=");
                push_escaped(&mut out, v);
            }
        }
        LogFormat::Json => {
            // "level" first: the indexer reads a line's level from its start.
            let s = |t: &str| serde_json::Value::String(t.to_string()).to_string();
            let _ = write!(
                out,
                "{{\"level\":\"{level}\",\"time\":\"{time}\",\"component\":{},\"message\":{}",
                s(component(target)),
                s(&fields.message)
            );
            if !fields.fields.is_empty() {
                out.push_str(",\"fields\":{");
                for (i, (k, v)) in fields.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{}:{}", s(k), s(v));
                }
                out.push('}');
            }
            out.push('}');
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> chrono::DateTime<chrono::Local> {
        chrono::Local
            .with_ymd_and_hms(2025, 3, 4, 5, 6, 7)
            .single()
            .unwrap()
    }

    #[test]
    fn text_line_is_one_inert_line() {
        let f = Fields {
            message: "3 changed\n\u{1b}[2Jfake".into(),
            fields: vec![("config", "copy".into())],
        };
        let line = record(
            LogFormat::Text,
            tracing::Level::WARN,
            at(),
            "syncdeck::engine::worker",
            &f,
        );
        assert_eq!(
            line,
            format!(
                "[AUTO-SYNC] [WARN] 2025-03-04 05:06:07{} [engine::worker] - 3 changed\\n\\u{{1b}}[2Jfake config=copy\n",
                at().format("%:z")
            )
        );
    }

    #[test]
    fn json_line_parses_and_starts_with_level() {
        let f = Fields {
            message: "job \"x\"\n".into(),
            fields: vec![("job", "7".into())],
        };
        let line = record(
            LogFormat::Json,
            tracing::Level::ERROR,
            at(),
            "sync_jobs",
            &f,
        );
        assert!(line.starts_with("{\"level\":\"ERROR\""), "{line}");
        assert_eq!(line.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["message"], "job \"x\"\n");
        assert_eq!(v["fields"]["job"], "7");
        assert_eq!(v["component"], "sync_jobs");
    }
}
