//! The declarative configuration (`syncdeck apply -f FILE.toml`, `syncdeck
//! export`) and the model it describes.

pub mod model;

pub use model::{AutoSettings, ExecMode, Instance, SecretRef, Selection, SyncConfig, SyncKind};
