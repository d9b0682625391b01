//! syncdeck: runs and monitors DHIS2 synchronisations from the terminal.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod engine;
pub mod hashing;
pub mod logging;
pub mod logs;
pub mod signals;
pub mod sim;
pub mod store;
pub mod text;
pub mod tui;
