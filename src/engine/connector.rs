//! What the engine needs from a connector, in the engine's own terms: the
//! engine schedules and records; a connector knows one remote protocol.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

/// One resource of a plan, in the order it must be synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedResource {
    /// Stable key (watermarks are kept per key).
    pub key: String,
    pub label: String,
    pub is_metadata: bool,
}

/// Why some objects of a resource were refused by the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictClass {
    /// A referenced object is missing: re-sync after the next metadata sync.
    MissingReference,
    /// A lock or deadlock at the destination: re-sync in 30 s.
    Lock,
    /// The destination will refuse it again whatever is sent (an expired
    /// period, a wrong value type): recorded, never re-sent; the resource's
    /// watermark moves past it.
    Permanent,
    /// Anything else: not re-synced automatically.
    Other,
}

impl ConflictClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictClass::MissingReference => "reference",
            ConflictClass::Lock => "lock",
            ConflictClass::Permanent => "permanent",
            ConflictClass::Other => "other",
        }
    }
}

/// One refused object, as the destination explained it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub class: ConflictClass,
    pub code: Option<String>,
    pub message: String,
    /// The object's id (a data value's `de/pe/ou/coc/aoc`), when known.
    pub object: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub processed: u64,
    pub synced: u64,
    pub deleted: u64,
    pub errors: u64,
    /// Of `errors`, the permanent ones.
    pub permanent: u64,
    /// The refusals (at most a few hundred per resource; `errors` counts all).
    pub rejections: Vec<Rejection>,
}

impl Outcome {
    /// The resource may move its watermark: no errors, or only permanent ones.
    pub fn watermark_may_move(&self) -> bool {
        self.errors == self.permanent
    }

    pub fn classes(&self) -> Vec<ConflictClass> {
        self.rejections.iter().map(|r| r.class).collect()
    }
}

/// A failure that stopped a resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// Credentials refused: never retried (repeated logins lock DHIS2 accounts).
    #[error("{0}")]
    Auth(String),
    /// The configuration cannot work as it is (a secret not set, an invalid
    /// URL…): never retried, only an operator can fix it.
    #[error("{0}")]
    Config(String),
    /// Network, timeout, 5xx, 429: the job is retried later.
    #[error("{0}")]
    Transient(String),
    /// Unexpected answers: retried, but unlikely to heal.
    #[error("{0}")]
    Other(String),
    #[error("cancelled")]
    Cancelled,
}

impl ConnectorError {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorError::Auth(_) => "auth",
            ConnectorError::Config(_) => "config",
            ConnectorError::Transient(_) => "transient",
            ConnectorError::Other(_) => "error",
            ConnectorError::Cancelled => "cancelled",
        }
    }
}

/// Progress of the resource being synced.
pub trait ResourceProgressSink: Send + Sync {
    fn set_total(&self, total: u64);
    fn add(&self, processed: u64, synced: u64, errors: u64);
    fn step(&self, step: &str);
    /// Of the objects just added, how many the destination already held as
    /// sent (neither written nor refused). A resource resumed after a crash
    /// counts them as synced: the interrupted attempt wrote them.
    fn unchanged(&self, objects: u64);
}

/// Counts of objects changed since a watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCount {
    pub count: u64,
    /// `false` = a lower bound.
    pub exact: bool,
}

#[async_trait]
pub trait SyncConnector: Send + Sync {
    /// The source's clock now (the watermark of a run starting now), as text.
    async fn server_time(&self) -> Result<String, ConnectorError>;
    async fn plan(&self) -> Result<Vec<PlannedResource>, ConnectorError>;
    async fn count_changes(
        &self,
        resource: &PlannedResource,
        since: Option<&str>,
    ) -> Result<ChangeCount, ConnectorError>;
    async fn sync_resource(
        &self,
        resource: &PlannedResource,
        since: Option<&str>,
        progress: &dyn ResourceProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Outcome, ConnectorError>;
}
