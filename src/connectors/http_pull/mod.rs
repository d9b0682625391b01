//! The config-pull connector: a backend holds the official configuration of
//! each site; this agent polls it, compares MD5 hashes computed as a Python
//! backend computes them, and keeps the last good document in a local file.
//!
//! - `fetch`: one GET with the site's token and `If-None-Match`, judged as a
//!   document (JSON object, its hash field verified) or a clear error.
//! - `target`: the local file, read as the fallback and replaced atomically
//!   (the previous one kept as `TARGET.prev`).
//! - `on_change`: the operator's command after a change, argv with a timeout.
//! - `syncdeck_apply`: a pulled document that is a syncdeck configuration.
//! - `adapter`: the engine's port (`SyncConnector`) and the pull state.

pub(crate) mod adapter;
pub(crate) mod fetch;
pub(crate) mod on_change;
pub(crate) mod syncdeck_apply;
pub(crate) mod target;

/// The one resource of an `http_pull` config's plan.
pub const RESOURCE_KEY: &str = "document";
