//! Import parameter enums shared by the metadata, data value and tracker imports.

/// `importStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportStrategy {
    #[default]
    CreateAndUpdate,
    Create,
    Update,
    Delete,
}

impl ImportStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStrategy::CreateAndUpdate => "CREATE_AND_UPDATE",
            ImportStrategy::Create => "CREATE",
            ImportStrategy::Update => "UPDATE",
            ImportStrategy::Delete => "DELETE",
        }
    }
}

/// `importMode`: `VALIDATE` is a dry run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    #[default]
    Commit,
    Validate,
}

impl ImportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Commit => "COMMIT",
            ImportMode::Validate => "VALIDATE",
        }
    }
}

/// Metadata `atomicMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AtomicMode {
    /// Any error and nothing is saved.
    All,
    /// Best effort: valid objects are committed. The default here, because one
    /// bad object must not block a whole sync.
    #[default]
    None,
}

impl AtomicMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AtomicMode::All => "ALL",
            AtomicMode::None => "NONE",
        }
    }
}

/// Tracker `atomicMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackerAtomicMode {
    All,
    /// Per object: the sync default (one bad event must not block the others).
    #[default]
    Object,
}

impl TrackerAtomicMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerAtomicMode::All => "ALL",
            TrackerAtomicMode::Object => "OBJECT",
        }
    }
}

/// `importReportMode` (metadata) / `reportMode` (tracker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportMode {
    /// Only objects with errors: small reports.
    #[default]
    Errors,
    /// Tracker only; mapped to `ERRORS` for metadata.
    Warnings,
    Full,
    /// Metadata only; mapped to `FULL` for tracker.
    Debug,
}

impl ReportMode {
    pub fn metadata_str(self) -> &'static str {
        match self {
            ReportMode::Errors | ReportMode::Warnings => "ERRORS",
            ReportMode::Full => "FULL",
            ReportMode::Debug => "DEBUG",
        }
    }

    pub fn tracker_str(self) -> &'static str {
        match self {
            ReportMode::Errors => "ERRORS",
            ReportMode::Warnings => "WARNINGS",
            ReportMode::Full | ReportMode::Debug => "FULL",
        }
    }
}

/// Query pairs as sent (repeated keys allowed).
pub type Query = Vec<(String, String)>;

pub(crate) fn push(q: &mut Query, k: &str, v: impl Into<String>) {
    q.push((k.to_string(), v.into()));
}

pub(crate) fn push_bool(q: &mut Query, k: &str, v: bool) {
    push(q, k, if v { "true" } else { "false" });
}
