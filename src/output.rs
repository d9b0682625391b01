//! What the CLI prints on stdout, written so that a closed pipe
//! (`syncdeck jobs | head -1`) is an error the caller returns, not a panic
//! (`println!` panics on EPIPE: Rust ignores SIGPIPE). `main` ends quietly
//! with exit 0 on [`StdoutClosed`], like other Unix tools.

use std::fmt;
use std::io::{self, Write};

/// Stdout could not be written: the reader went away (or stdout is broken).
/// A type of its own so that a broken pipe to a *server* is not mistaken for
/// it.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to stdout: {0}")]
pub struct StdoutClosed(#[source] pub io::Error);

impl StdoutClosed {
    /// Whether `e` is (or wraps) a closed stdout.
    pub fn is_in(e: &anyhow::Error) -> bool {
        e.chain().any(|c| c.is::<StdoutClosed>())
    }
}

/// Writes `args` and a newline to stdout.
pub fn line(args: fmt::Arguments) -> Result<(), StdoutClosed> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(StdoutClosed)
}

/// Writes `text` as it is (no newline added) and flushes.
pub fn text(text: &str) -> Result<(), StdoutClosed> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(StdoutClosed)
}

/// `println!` that returns [`StdoutClosed`] instead of panicking: use as
/// `outln!("…", …)?`.
macro_rules! outln {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}
pub(crate) use outln;
