//! The signals that end a long-running process cleanly: SIGTERM (service
//! manager), SIGHUP (terminal or SSH session closed) and SIGINT (Ctrl-C).
//! The daemon waits for one; the console polls for one inside its loop.

pub struct Shutdown {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
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
    pub async fn requested(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
