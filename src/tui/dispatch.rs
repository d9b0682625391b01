//! The one door for every command that changes something: read-only mode
//! and confirmations are enforced here, not in each view (k9s leaked
//! read-only through views that checked it themselves).

use super::flash::Flash;
use super::model::{Model, Overlay};
use super::msg::{Command, Effect};

/// Runs `command` now, asks first (naming the target), or refuses it in
/// read-only mode.
pub fn dispatch(model: &mut Model, command: Command) -> Vec<Effect> {
    if model.session.read_only {
        model.flash = Some(Flash::warn(format!(
            "read-only: cannot {} (started with --read-only)",
            command.describe()
        )));
        return Vec::new();
    }
    if command.confirmation().is_some() {
        model.overlay = Some(Overlay::Confirm(command));
        return Vec::new();
    }
    vec![Effect::Run(command)]
}
