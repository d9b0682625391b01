//! Where a queue reads "now".
//!
//! Every queue statement that needs the time takes it as its first bind
//! parameter and writes `COALESCE($1, <database clock>)` (River's pattern; see
//! `statements.rs`). A production queue ([`Store::queue`]) binds NULL, so
//! leases and due times follow the database clock, on which several hosts
//! sharing one PostgreSQL agree. A queue on a [`ManualClock`]
//! ([`Store::queue_on_manual_clock`]) binds the clock's value instead, so the
//! conformance suite moves time forward rather than sleeping.
//!
//! A fake clock cannot reach production by accident: nothing in the
//! configuration, the command line or the environment selects one, and
//! `clippy.toml` disallows [`ManualClock::starting_at`], so any code that makes
//! one must say `#[allow(clippy::disallowed_methods)]` where a reviewer sees it.
//!
//! [`Store::queue`]: crate::store::Store::queue
//! [`Store::queue_on_manual_clock`]: crate::store::Store::queue_on_manual_clock

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Longest delay or lease we write: keeps `now + ms` far from i64 overflow.
const MAX_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(MAX_MS).min(MAX_MS)
}

/// The clock of one queue handle.
#[derive(Debug, Clone)]
pub(super) enum Clock {
    /// The database's own clock (production).
    Database,
    /// A time set by hand (tests).
    Manual(ManualClock),
}

impl Clock {
    /// The value bound as `$1`: `None` (SQL NULL) means the database clock.
    pub(super) fn bind(&self) -> Option<i64> {
        match self {
            Clock::Database => None,
            Clock::Manual(clock) => Some(clock.now_ms()),
        }
    }
}

/// A clock for tests that moves only when told to. Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `ms` since the epoch (tests; disallowed elsewhere by
    /// `clippy.toml`).
    pub fn starting_at(ms: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(ms)))
    }

    /// The time shown, in ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(ms(by), Ordering::SeqCst);
    }

    /// Moves the clock forward to `at` (ms since the epoch); never backwards.
    pub fn advance_to(&self, at: i64) {
        self.0.fetch_max(at, Ordering::SeqCst);
    }
}
