//! DHIS2 Web API client for DHIS2→DHIS2 synchronisation: 2.39–2.42, whose
//! dhis2-core was read (docs/dhis2-conformance.md); other versions get a warning.
//!
//! - [`Dhis2Client`] is the entry point; endpoint methods are grouped by module
//!   (`system`, `metadata`, `aggregate`, `tracker`, `jobs`).
//! - Every failure is a [`Dhis2Error`] the engine can act on
//!   (`is_retryable`, `retry_after`, `into_report`).
//! - Exports stream page by page (metadata, tracker) or item by item
//!   (`dataValueSets`), so memory does not grow with the export size.
//! - The `parse_*` functions take a raw body plus HTTP status, for tests and
//!   for callers that fetched a body themselves.

pub mod accounting;
pub(crate) mod adapter;
pub(crate) mod aggregate;
pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod data_value;
pub(crate) mod error;
pub mod jobs;
pub(crate) mod metadata;
pub(crate) mod pager;
pub(crate) mod params;
pub(crate) mod report_parsing;
pub(crate) mod reports;
pub mod response;
pub(crate) mod secrets;
pub(crate) mod stream_json;
pub(crate) mod sync;
pub mod syncable;
pub(crate) mod system;
pub(crate) mod time;
pub(crate) mod timeouts;
pub(crate) mod tracker;
pub(crate) mod tracker_report;
pub(crate) mod version;

#[cfg(test)]
mod http_tests;

pub use aggregate::{ChangeCount, DataValueImportParams, DataValueQuery};
pub use auth::{Credentials, Secret, SecretSource};
pub use client::{ClientOptions, Dhis2Client};
pub use data_value::{DataValue, DataValueSet, parse_data_value_set};
pub use error::{ConflictReport, Dhis2Error, Result};
pub use jobs::{JobStarted, Notification, parse_job_started, parse_notifications};
pub use metadata::{
    DeletedObject, MetadataExportQuery, MetadataImportParams, MetadataQuery,
    metadata_payload_counts,
};
pub use pager::{Envelope, Page, PageInfo, Pager, parse_page};
pub use params::{AtomicMode, ImportMode, ImportStrategy, ReportMode, TrackerAtomicMode};
pub use report_parsing::{parse_data_value_import, parse_metadata_import, parse_tracker_import};
pub use reports::{
    ErrorReport, ImportConflict, ImportCount, ImportReport, ImportStatus, ImportSummary,
    ObjectReport, Stats, TypeReport,
};
pub use stream_json::{DataValueStream, parse_data_values, spawn_data_value_parser};
pub use sync::{
    Conflict, ConflictClass, Dhis2Sync, NoProgress, ProgressSink, ResourceOutcome, ResourceSpec,
    ResourceType, RetryPolicy, SyncOptions, Target,
};
pub use system::{ImportOrder, Me, Schema, SystemInfo, parse_me, parse_schemas, parse_system_info};
pub use time::{format_timestamp, parse_timestamp};
pub use timeouts::{TimeoutPhase, Timeouts};
pub use tracker::{
    OrgUnitMode, TrackerImportParams, TrackerKind, TrackerQuery, tracker_payload_counts,
    tracker_query_params,
};
pub use tracker_report::{TrackerErrorReport, TrackerReport, TrackerType};
pub use version::DhisVersion;
