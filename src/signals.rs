//! The signals that end a long-running process cleanly: SIGTERM (service
//! manager), SIGHUP (terminal or SSH session closed) and SIGINT (Ctrl-C).
//! The daemon and `trigger --wait` wait for one; the console polls for one
//! inside its loop.

pub struct Shutdown {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

/// Which signal asked for the shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Term,
    Hup,
    Int,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Hup => "SIGHUP",
            StopSignal::Int => "SIGINT",
        }
    }

    /// The shell's convention for "ended by signal N": 128 + N.
    pub fn exit_code(self) -> u8 {
        128 + match self {
            StopSignal::Hup => 1,
            StopSignal::Int => 2,
            StopSignal::Term => 15,
        }
    }
}

impl Shutdown {
    /// Installs the handlers (from then on these signals no longer kill
    /// the process outright).
    pub fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Shutdown {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when one of them arrives.
    pub async fn requested(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.term.recv() => StopSignal::Term,
            _ = self.hup.recv() => StopSignal::Hup,
            _ = self.int.recv() => StopSignal::Int,
        }
    }
}
