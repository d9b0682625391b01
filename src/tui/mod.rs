//! The console: a keyboard-driven ratatui dashboard over an `EngineHandle`.
//!
//! `model` holds what is shown, `update` is the pure state machine (keys,
//! engine events and loaded data in; effects out), `dispatch` is the one
//! door for commands (read-only, confirmations), `views` draws, `app` runs
//! the loop and `terminal` owns the screen.

pub mod app;
pub mod dispatch;
pub mod keymap;
pub mod logview;
pub mod model;
pub mod sample;
pub mod settings;
pub mod stats;
pub mod tail;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod views;

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod update_tests;
