//! The five log files: writing them (rotated by size, one record per line,
//! never a secret or a terminal sequence) and reading them safely at any
//! size (allowlisted listing, first screen from the end, background line
//! index, follow across rotation, search, export). UI-independent: the
//! `syncdeck logs` commands and the console's log view share it.

pub mod catalog;
pub mod document;
pub mod export;
pub mod follow;
pub mod format;
pub mod index;
pub mod inert;
pub mod names;
pub mod rotate;
pub mod search;
pub mod settings;
pub mod tail;
pub mod writer;

pub use catalog::{LogCatalog, LogEntry, SelectError};
pub use document::{DisplayLine, DocUpdate, LogDocument};
pub use format::LogFormat;
pub use names::{LogLevel, LogName};
pub use search::SearchQuery;
pub use settings::LogSettings;
pub use writer::{FailureNotice, LogFiles, LogHealth};
