//! The status line's message. Below everything that reports to the
//! operator (handlers, the log session), so none of them needs the model.
//! A message goes after a while (a result sooner than a warning), so an old
//! one never sits beside what the operator did since.

/// How long a result stays, ms.
pub const INFO_MS: i64 = 6_000;
/// How long a warning stays, ms.
pub const WARN_MS: i64 = 20_000;

/// The status line's message: the last action's result or a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub warning: bool,
    /// Stays until replaced (a condition that lasts, like log writes failing).
    pub lasting: bool,
    /// When it was first drawn (set by the first tick after it appeared).
    pub since: Option<i64>,
}

impl Flash {
    /// The result of an action.
    pub fn info(text: impl Into<String>) -> Flash {
        Flash {
            text: text.into(),
            warning: false,
            lasting: false,
            since: None,
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
            warning: true,
            ..Flash::info(text)
        }
    }

    /// A warning about a state that lasts: it stays until replaced.
    pub fn lasting(text: impl Into<String>) -> Flash {
        Flash {
            lasting: true,
            ..Flash::warn(text)
        }
    }

    /// Whether it has been shown long enough at `now` (ms); starts its
    /// clock on the first call.
    pub fn expired(&mut self, now: i64) -> bool {
        let since = *self.since.get_or_insert(now);
        let ttl = if self.warning { WARN_MS } else { INFO_MS };
        !self.lasting && now - since >= ttl
    }
}
