//! The integration tests: one binary (one link of sqlx, axum, reqwest and
//! ratatui instead of one per file), one module per area. Run one area with
//! `cargo test --test it client_sim::`; shared helpers are in [`common`].

// A test that meets the unexpected should stop there and say where: the
// helpers and tests unwrap freely (Cargo.toml denies it in the crate itself).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests print figures with println! (the crate itself goes through
// syncdeck's output module: clippy.toml).
#![allow(clippy::disallowed_macros)]

mod common;

mod api;
mod cli;
mod client_sim;
mod client_sim_copy;
mod client_sim_faults;
mod client_sim_reports;
mod config_apply;
mod config_pull;
mod console_tmux;
mod demo_cleanup;
mod dhis2_sync;
mod dhis2_sync_time;
mod engine_e2e;
mod fixture_parsing;
mod hostile;
mod logs_cli;
mod logs_daemon;
mod logs_document;
mod logs_follow;
mod logs_full_disk;
mod logs_writer;
mod python_hash;
mod queue_conformance;
mod rejections_e2e;
mod rejections_store;
mod sim_http;
mod sim_import_validation;
mod sim_lenient;
mod sim_order_time_events;
mod sim_schemas_users;
mod users_e2e;
