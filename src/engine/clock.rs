//! Wall-clock time that follows tokio's clock, so lifecycle rules (cooldown,
//! throttle, delays) run unchanged under paused time in tests.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: i64,
    base: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Clock {
            base_ms,
            base: Instant::now(),
        }
    }

    /// ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The tokio instant of a wall-clock time (for `sleep_until`).
    pub fn instant_at(&self, ms: i64) -> Instant {
        let now = self.now_ms();
        Instant::now() + std::time::Duration::from_millis(u64::try_from(ms - now).unwrap_or(0))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
