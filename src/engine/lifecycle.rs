//! The lifecycle rules, as pure functions of the stored state and the clock:
//! cooldown after errors, the first (initial) sync, the hourly throttle and the
//! delay before a sync. The scheduler applies them; tests drive them with
//! paused time.

use std::time::Duration;

use crate::config::AutoSettings;
use crate::store::state::LifecycleState;

const HOUR_MS: i64 = 3_600_000;

/// What a scheduler tick does before asking the source anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// In cooldown after a failed job: do nothing until then (ms).
    Cooldown { until: i64 },
    /// A job of this config is already queued or running.
    AlreadyQueued,
    /// The first full sync has not completed yet: enqueue it.
    Initial,
    /// Detect changes.
    Detect,
}

pub fn gate(state: &LifecycleState, now: i64, has_pending: bool) -> Gate {
    if let Some(until) = state.cooldown_until.filter(|&u| u > now) {
        return Gate::Cooldown { until };
    }
    if has_pending {
        return Gate::AlreadyQueued;
    }
    if !state.initial_done {
        return Gate::Initial;
    }
    Gate::Detect
}

/// When the next sync may start under `max_sync_per_hour` (0 = no limit):
/// `None` = now; otherwise the time (ms) the oldest sync of the window leaves it.
pub fn throttled_until(recent: &[i64], max_per_hour: u32, now: i64) -> Option<i64> {
    if max_per_hour == 0 {
        return None;
    }
    let mut window: Vec<i64> = recent
        .iter()
        .copied()
        .filter(|&t| t > now - HOUR_MS)
        .collect();
    if window.len() < max_per_hour as usize {
        return None;
    }
    window.sort_unstable();
    // The sync that must leave the window for one more to fit.
    let leaving = window[window.len() - max_per_hour as usize];
    Some(leaving + HOUR_MS)
}

/// Keeps the throttle window to the last hour.
pub fn prune_recent(recent: &mut Vec<i64>, now: i64) {
    recent.retain(|&t| t > now - HOUR_MS);
}

/// How long to wait between deciding to sync and enqueueing.
pub fn delay_before_sync(settings: &AutoSettings) -> Duration {
    if settings.immediate_sync {
        Duration::ZERO
    } else {
        settings.delay_before_sync
    }
}

/// The first tick after a (re)start: at once for a new config that asks for
/// immediate sync, otherwise at a random point inside the interval, so configs
/// restarted together do not all hit their servers at the same moment.
pub fn first_tick_delay(state: &LifecycleState, settings: &AutoSettings, unit: f64) -> Duration {
    if !state.initial_done && settings.immediate_sync {
        return Duration::ZERO;
    }
    settings.check_interval.mul_f64(unit.clamp(0.0, 1.0))
}

/// Cooldown end after a failed job.
pub fn cooldown_after_failure(settings: Option<&AutoSettings>, now: i64) -> Option<i64> {
    let cooldown = settings.map_or(Duration::ZERO, |s| s.cooldown_after_error);
    (!cooldown.is_zero()).then(|| now + i64::try_from(cooldown.as_millis()).unwrap_or(i64::MAX / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_order_cooldown_pending_initial_detect() {
        let mut s = LifecycleState {
            cooldown_until: Some(2_000),
            ..Default::default()
        };
        assert_eq!(gate(&s, 1_000, true), Gate::Cooldown { until: 2_000 });
        assert_eq!(gate(&s, 2_000, true), Gate::AlreadyQueued);
        assert_eq!(gate(&s, 2_000, false), Gate::Initial);
        s.initial_done = true;
        assert_eq!(gate(&s, 2_000, false), Gate::Detect);
    }

    #[test]
    fn throttle_counts_the_last_hour_only() {
        let now = 10 * HOUR_MS;
        let recent = [now - HOUR_MS - 1, now - 50 * 60_000, now - 10 * 60_000];
        assert_eq!(throttled_until(&recent, 3, now), None);
        assert_eq!(
            throttled_until(&recent, 2, now),
            Some(now - 50 * 60_000 + HOUR_MS)
        );
        assert_eq!(
            throttled_until(&recent, 1, now),
            Some(now - 10 * 60_000 + HOUR_MS)
        );
        assert_eq!(throttled_until(&recent, 0, now), None);
    }

    #[test]
    fn first_tick_is_jittered_inside_the_interval() {
        let settings = AutoSettings::default();
        let state = LifecycleState::default();
        assert_eq!(
            first_tick_delay(&state, &settings, 0.5),
            settings.check_interval / 2
        );
        let immediate = AutoSettings {
            immediate_sync: true,
            ..settings.clone()
        };
        assert_eq!(first_tick_delay(&state, &immediate, 0.5), Duration::ZERO);
        let done = LifecycleState {
            initial_done: true,
            ..state
        };
        assert_eq!(
            first_tick_delay(&done, &immediate, 0.25),
            settings.check_interval / 4
        );
    }
}
