//! syncdeck: runs and monitors DHIS2 synchronisations from the terminal.

pub mod cli;
pub mod connectors;
pub mod hashing;
pub mod sim;
