//! The console: a keyboard-driven ratatui dashboard over an `EngineHandle`.
//!
//! `model` holds what is shown, `update` is the pure state machine (keys,
//! engine events and loaded data in; effects out) that hands each view's
//! keys and data to that view's handler (`dashboard`, `jobs`,
//! `detections`, `logview`, `settings`: each its state and its `update`),
//! `msg` is what flows in and out, `dispatch` is the one door for commands
//! (read-only, confirmations), `views` draws, `app` runs the loop and
//! `terminal` owns the screen.

pub mod app;
pub mod dashboard;
pub mod detections;
pub mod dispatch;
pub mod flash;
pub mod input;
pub mod jobs;
pub mod keymap;
pub mod list;
pub mod logview;
pub mod model;
pub mod msg;
pub mod overlay;
pub mod sample;
pub mod scroll;
pub mod settings;
pub mod stats;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod views;

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod update_tests;
