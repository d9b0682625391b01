//! The declarative configuration (`syncdeck apply -f FILE.toml`, `syncdeck
//! export`) and the model it describes.

pub(crate) mod errors;
pub(crate) mod export;
pub mod file;
pub mod model;
pub(crate) mod spec;

pub use errors::{ValidationError, ValidationErrors};
pub use model::{AutoSettings, ExecMode, Instance, SecretRef, Selection, SyncConfig, SyncKind};
pub use spec::{ConfigFile, InstanceSpec, SyncSpec};
