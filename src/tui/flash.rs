//! The status line's message. Below everything that reports to the
//! operator (handlers, the log session), so none of them needs the model.

/// The status line's message: the last action's result or a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub warning: bool,
}

impl Flash {
    /// The result of an action.
    pub fn info(text: impl Into<String>) -> Flash {
        Flash {
            text: text.into(),
            warning: false,
        }
    }

    /// A command's outcome: its message, a warning when it failed.
    pub fn of(result: Result<String, String>) -> Flash {
        match result {
            Ok(text) => Flash::info(text),
            Err(text) => Flash::warn(text),
        }
    }

    /// Something the operator should look at.
    pub fn warn(text: impl Into<String>) -> Flash {
        Flash {
            text: text.into(),
            warning: true,
        }
    }
}
