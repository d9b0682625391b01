//! The console: a keyboard-driven ratatui dashboard over an `EngineHandle`.
//!
//! Layers, each naming only those below it: `state` holds each view's own
//! state (dashboard, jobs, detections, the log viewer, the settings form);
//! `msg` is what flows in and out; `model` composes the states with what all
//! views share; `update` is the pure state machine (keys, engine events and
//! loaded data in; effects out) that hands each view's keys and data to that
//! view's handler (`update::dashboard`, `update::jobs`…), with `dispatch`
//! the one door for commands (read-only, confirmations); `views` draws the
//! model; `log_session` does the log viewer's file I/O; `app` runs the loop
//! and `terminal` owns the screen. `python3 tools/module_cycles.py` checks
//! that no arrow points back up.

pub mod app;
pub mod clipboard;
pub mod command_line;
pub mod dispatch;
pub mod flash;
pub mod input;
pub mod keymap;
pub mod list;
pub mod log_session;
pub mod model;
pub mod msg;
pub mod names;
pub mod sample;
pub mod scroll;
pub mod state;
pub mod stats;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod views;

#[cfg(test)]
pub mod log_fixture;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod update_tests;
