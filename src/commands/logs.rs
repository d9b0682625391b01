//! `syncdeck logs list|view|search|clear`: the log files from the shell.
//! Files are chosen only by a name from the logs directory's own listing;
//! every line printed is made inert first. Bad input exits with 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use clap::Subcommand;
use serde::Serialize;
use serde_json::json;

use super::JsonFlag;
use crate::logs::document::{complete_end, tail_lines};
use crate::logs::follow::{Tail, TailEvent};
use crate::logs::inert::display_line;
use crate::logs::search::search_file;
use crate::logs::{LogCatalog, LogEntry, LogLevel, SearchQuery, SelectError};
use crate::output::outln;

/// Longest line printed, in characters.
const PRINT_CHARS: usize = 4096;

#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub action: LogsAction,
    /// Directory of the log files (default: `logs` in the data directory).
    #[arg(long, value_name = "DIR", global = true)]
    pub logs: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Subcommand, Debug)]
pub enum LogsAction {
    /// The log files with size and modification time.
    List,
    /// The last lines of one file (a name from `logs list`), optionally
    /// following it as it grows, across rotations.
    View {
        /// A file name from `logs list` (`sync_jobs.log`, `sync_jobs.log.1`).
        #[arg(value_name = "NAME")]
        name: String,
        /// How many lines.
        #[arg(long, default_value_t = 50)]
        lines: usize,
        /// Keep printing new lines (Ctrl-C stops).
        #[arg(long)]
        follow: bool,
        /// Only lines at this level or above (error, warn, info, debug, trace).
        #[arg(long)]
        level: Option<LogLevel>,
    },
    /// Lines matching a text (or --regex) in all files, or in --files.
    Search {
        /// The text to find (a regular expression with --regex).
        #[arg(value_name = "QUERY")]
        query: String,
        /// Comma-separated names from `logs list` (default: every file).
        #[arg(long, value_delimiter = ',')]
        files: Vec<String>,
        /// Only lines at this level or above (error, warn, info, debug, trace).
        #[arg(long)]
        level: Option<LogLevel>,
        /// QUERY is a regular expression.
        #[arg(long)]
        regex: bool,
        /// Ignore case.
        #[arg(short = 'i', long)]
        ignore_case: bool,
        /// Matching lines printed at most (all are counted).
        #[arg(long, default_value_t = 200)]
        max: usize,
    },
    /// Empty an active log file (its rotations stay). Needs --yes.
    Clear {
        /// An active file's name from `logs list`.
        #[arg(value_name = "NAME")]
        name: String,
        /// Confirm: the file's content is deleted.
        #[arg(long)]
        yes: bool,
    },
}

/// Bad input: the message on stderr, exit code 2.
fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn selected(catalog: &LogCatalog, name: &str) -> Result<LogEntry, ExitCode> {
    catalog.select(name).map_err(|e| refuse(&e))
}

fn refuse(e: &SelectError) -> ExitCode {
    if e.is_bad_input() {
        bad_input(e)
    } else {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    }
}

pub fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let dir = args.logs.unwrap_or_else(crate::logging::default_dir);
    let catalog = LogCatalog::new(dir);
    let json = args.json.json;
    let code = match args.action {
        LogsAction::List => list(&catalog, json),
        LogsAction::View {
            name,
            lines,
            follow,
            level,
        } => view(&catalog, &name, lines, follow, level, json),
        LogsAction::Search {
            query,
            files,
            level,
            regex,
            ignore_case,
            max,
        } => {
            let query = SearchQuery {
                pattern: query,
                regex,
                ignore_case,
            };
            search(&catalog, &query, &files, level, max, json)
        }
        LogsAction::Clear { name, yes } => clear(&catalog, &name, yes, json),
    };
    Ok(code.unwrap_or_else(|e| e))
}

fn list(catalog: &LogCatalog, json: bool) -> Result<ExitCode, ExitCode> {
    let entries = catalog.list().map_err(|e| refuse(&e))?;
    let printed = (|| {
        if json {
            let v = json!({ "dir": catalog.dir().display().to_string(), "files": entries });
            return outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        if entries.is_empty() {
            return outln!(
                "no log files in {} (the daemon writes them; another --logs DIR?)",
                crate::text::inert(&catalog.dir().display().to_string())
            );
        }
        outln!("{:<24} {:>10}  MODIFIED", "NAME", "SIZE")?;
        for e in &entries {
            outln!(
                "{:<24} {:>10}  {}",
                e.name,
                crate::text::human_size(e.size),
                crate::text::when(e.modified_ms())
            )?;
        }
        Ok(())
    })();
    // A closed stdout (`| head`) ends the listing quietly.
    let _ = printed;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct JsonLine<'a> {
    file: &'a str,
    line: Option<u64>,
    level: Option<LogLevel>,
    text: String,
}

impl<'a> JsonLine<'a> {
    /// `line` as printed: 1-based.
    fn new(file: &'a str, line: Option<u64>, raw: &[u8]) -> JsonLine<'a> {
        JsonLine {
            file,
            line,
            level: LogLevel::of_line(raw),
            text: display_line(raw, PRINT_CHARS),
        }
    }
}

/// Prints one line; false when stdout is gone (`| head`).
fn emit(out: &mut impl Write, file: &str, line: Option<u64>, raw: &[u8], json: bool) -> bool {
    let r = if json {
        serde_json::to_string(&JsonLine::new(file, line, raw))
            .map_err(std::io::Error::other)
            .and_then(|s| writeln!(out, "{s}"))
    } else {
        let text = display_line(raw, PRINT_CHARS);
        match line {
            Some(n) => writeln!(out, "{file}:{}: {text}", n + 1),
            None => writeln!(out, "{text}"),
        }
    };
    r.and_then(|()| out.flush()).is_ok()
}

fn view(
    catalog: &LogCatalog,
    name: &str,
    lines: usize,
    follow: bool,
    level: Option<LogLevel>,
    json: bool,
) -> Result<ExitCode, ExitCode> {
    let entry = selected(catalog, name)?;
    if follow && let Some(why) = entry.follow_refusal() {
        return Err(bad_input(why));
    }
    let io_err = |e: std::io::Error| {
        eprintln!("error: cannot read {}: {e}", entry.name);
        ExitCode::FAILURE
    };
    let file = Arc::new(entry.open().map_err(|e| refuse(&e))?);
    let len = file.metadata().map_err(io_err)?.len();
    // An active file may end mid-write: stop at the last newline and let
    // the follower take the rest once it is whole.
    let end = if entry.rotation == 0 {
        complete_end(&file, len).map_err(io_err)?
    } else {
        len
    };
    let last = tail_lines(&file, end, lines, level).map_err(io_err)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json && !follow {
        let v: Vec<JsonLine> = last
            .iter()
            .map(|raw| JsonLine::new(&entry.name, None, raw))
            .collect();
        let doc = json!({ "file": entry.name, "lines": v });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for raw in &last {
        if !emit(&mut out, &entry.name, None, raw, json) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut tail = Tail::new(entry.path(), file, end).map_err(io_err)?;
    loop {
        let events = tail.poll().map_err(io_err)?;
        for event in events {
            match event {
                TailEvent::Lines { data, .. } => {
                    for raw in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        if LogLevel::passes(level, raw)
                            && !emit(&mut out, &entry.name, None, raw, json)
                        {
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                }
                TailEvent::Rotated { .. } => {
                    eprintln!("-- {} rotated; following the new file", entry.name)
                }
                TailEvent::Truncated => eprintln!("-- {} was cleared", entry.name),
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn search(
    catalog: &LogCatalog,
    query: &SearchQuery,
    files: &[String],
    level: Option<LogLevel>,
    max: usize,
    json: bool,
) -> Result<ExitCode, ExitCode> {
    let matcher = query.compile().map_err(bad_input)?;
    let entries = if files.is_empty() {
        catalog.list().map_err(|e| refuse(&e))?
    } else {
        files
            .iter()
            .map(|f| selected(catalog, f.trim()))
            .collect::<Result<Vec<_>, _>>()?
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (cancel, scanned) = (AtomicBool::new(false), AtomicU64::new(0));
    let mut count = 0u64;
    let mut shown = Vec::new();
    let mut printed = 0usize;
    for entry in &entries {
        let file = entry.open().map_err(|e| refuse(&e))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let r = search_file(&file, len, &matcher, level, &cancel, &scanned, |n, raw| {
            count += 1;
            if printed >= max {
                return true;
            }
            printed += 1;
            if json {
                shown.push(JsonLine::new(&entry.name, Some(n + 1), raw));
                true
            } else {
                emit(&mut out, &entry.name, Some(n), raw, false)
            }
        });
        if let Err(e) = r {
            eprintln!("error: cannot read {}: {e}", entry.name);
            return Err(ExitCode::FAILURE);
        }
    }
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    if json {
        let doc = json!({
            "query": query,
            "level": level,
            "files": names,
            "count": count,
            "matches": shown,
            "truncated": count > printed as u64,
        });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    } else {
        let more = if count > max as u64 {
            format!(" ({} shown; --max N for more)", max)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{count} matching lines in {} files{more}",
            entries.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn clear(catalog: &LogCatalog, name: &str, yes: bool, json: bool) -> Result<ExitCode, ExitCode> {
    let entry = selected(catalog, name)?;
    if entry.rotation != 0 {
        return Err(bad_input(format!(
            "{} is a rotated file; only active files can be cleared ({})",
            entry.name,
            entry.log.file_name()
        )));
    }
    if !yes {
        return Err(bad_input(format!(
            "clearing {} deletes its {} of log lines (rotated files stay): run again with --yes to confirm",
            entry.name,
            crate::text::human_size(entry.size)
        )));
    }
    // A daemon writing this file notices the shrink before its next write
    // and resets its byte count (logs::rotate).
    if let Err(e) = crate::logs::rotate::clear_file(entry.path()) {
        eprintln!("error: cannot clear {}: {e}", entry.name);
        return Err(ExitCode::FAILURE);
    }
    // The file is cleared either way; a closed stdout only loses the note.
    let _ = if json {
        let v = json!({ "cleared": entry.name, "bytes": entry.size });
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        outln!(
            "cleared {} ({}); rotated files kept",
            entry.name,
            crate::text::human_size(entry.size)
        )
    };
    Ok(ExitCode::SUCCESS)
}

/// `logs … --connect`: the daemon's files, as this command shows local
/// ones. `list` is the daemon's listing and `clear` goes to its writer;
/// `view` and `search` are this command run on a private copy of the files
/// they read (fetched whole, then what they grow by, so `--follow` follows
/// the copy as it is refreshed every second).
pub async fn run_remote(
    args: LogsArgs,
    engine: &crate::remote::RemoteEngine,
) -> anyhow::Result<ExitCode> {
    let json = args.json.json;
    let failed = |e: String| {
        eprintln!("error: {e}");
        Ok(ExitCode::FAILURE)
    };
    let mirror = Arc::new(engine.log_copy()?);
    // Placeholders first: names the daemon does not list are refused by
    // the same catalog rules as local ones.
    if let Err(e) = mirror.refresh(None).await {
        return failed(e);
    }
    let catalog = LogCatalog::new(mirror.dir());
    let wanted: Vec<String> = match &args.action {
        LogsAction::List => return remote_list(engine, json).await,
        LogsAction::Clear { name, yes } => {
            let entry = match selected(&catalog, name) {
                Ok(e) => e,
                Err(code) => return Ok(code),
            };
            if entry.rotation != 0 || !*yes {
                // The local rules and words (placeholders have the sizes).
                return Ok(clear(&catalog, name, false, json).unwrap_or_else(|e| e));
            }
            return match mirror.clear(name).await {
                Err(e) => failed(e),
                Ok(said) => {
                    let _ = if json {
                        outln!("{}", json!({ "cleared": name, "bytes": entry.size }))
                    } else {
                        outln!("{said}")
                    };
                    Ok(ExitCode::SUCCESS)
                }
            };
        }
        LogsAction::View { name, .. } => vec![name.clone()],
        LogsAction::Search { files, .. } if files.is_empty() => catalog
            .list()
            .map(|l| l.into_iter().map(|e| e.name).collect())
            .unwrap_or_default(),
        LogsAction::Search { files, .. } => files.iter().map(|f| f.trim().to_string()).collect(),
    };
    for name in &wanted {
        if let Err(code) = selected(&catalog, name) {
            return Ok(code);
        }
    }
    if let Err(e) = mirror.fetch(&wanted).await {
        return failed(e);
    }
    let refresher = matches!(args.action, LogsAction::View { follow: true, .. }).then(|| {
        let (mirror, wanted) = (mirror.clone(), wanted.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                if let Err(e) = mirror.fetch(&wanted).await {
                    eprintln!("-- cannot refresh the copy from the daemon: {e}");
                }
            }
        })
    });
    let local = LogsArgs {
        logs: Some(mirror.dir().to_path_buf()),
        ..args
    };
    let code = tokio::task::spawn_blocking(move || run(local)).await?;
    if let Some(r) = refresher {
        r.abort();
    }
    code
}

/// The daemon's listing, printed as `list` prints a local one.
async fn remote_list(engine: &crate::remote::RemoteEngine, json: bool) -> anyhow::Result<ExitCode> {
    let listing = engine.log_listing().await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&listing)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{:<24} {:>10}  MODIFIED", "NAME", "SIZE")?;
    for f in listing["files"].as_array().into_iter().flatten() {
        outln!(
            "{:<24} {:>10}  {}",
            crate::text::inert(f["name"].as_str().unwrap_or_default()),
            crate::text::human_size(f["size"].as_u64().unwrap_or(0)),
            crate::text::inert(f["modified"].as_str().unwrap_or("-"))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
