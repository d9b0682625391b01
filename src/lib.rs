//! syncdeck: runs and monitors DHIS2 synchronisations from the terminal.

mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connectors;
mod engine;
pub mod hashing;
pub mod logging;
pub mod logs;
mod signals;
mod sim;
pub mod store;
mod text;
mod tui;
