//! Progress of one running job: totals per resource and for the job, speed
//! smoothed over a few seconds, ETA. Fed by the connector through
//! [`ResourceProgressSink`]; read by the worker to publish (coalesced events)
//! and to persist (at a bounded rate).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::connector::{PlannedResource, ResourceProgressSink};
use crate::store::queue::{JobProgress, ResourceProgress, ResourceStatus};

/// Speed is measured over this window.
const SPEED_WINDOW: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Inner {
    resources: Vec<ResourceProgress>,
    current: Option<usize>,
    step: Option<String>,
    samples: VecDeque<(Instant, u64)>,
    resource_samples: VecDeque<(Instant, u64)>,
    version: u64,
    /// Resources an earlier attempt of this job started but did not finish.
    resumed: Vec<String>,
}

/// Shared between the worker and the connector (behind an `Arc`).
#[derive(Debug)]
pub struct ProgressTracker {
    inner: Mutex<Inner>,
    /// Held from snapshot to stored, by whoever stores progress, so saves
    /// reach the database in the order of their snapshots.
    pub save_order: tokio::sync::Mutex<()>,
}

/// A consistent copy for events and persistence.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressSnapshot {
    pub job: JobProgress,
    pub resources: Vec<ResourceProgress>,
    pub eta: Option<Duration>,
    /// Changes whenever anything changed (to skip needless writes and events).
    pub version: u64,
}

impl ProgressTracker {
    /// Rows for the resources of the plan; `previous` keeps the results of
    /// resources finished by an earlier attempt of the same job.
    pub fn new(plan: &[PlannedResource], previous: &[ResourceProgress]) -> ProgressTracker {
        let resources = plan
            .iter()
            .enumerate()
            .map(|(i, r)| {
                previous
                    .iter()
                    .find(|p| p.resource == r.key && p.status == ResourceStatus::Done)
                    .cloned()
                    .unwrap_or(ResourceProgress {
                        resource: r.key.clone(),
                        label: r.label.clone(),
                        rtype: if r.is_metadata { "metadata" } else { "data" }.into(),
                        position: u32::try_from(i).unwrap_or(u32::MAX),
                        status: ResourceStatus::Pending,
                        total: 0,
                        processed: 0,
                        synced: 0,
                        errors: 0,
                        speed: 0.0,
                        message: None,
                    })
            })
            .collect();
        // Stored as running (or failed) when the earlier attempt began it.
        let resumed = previous
            .iter()
            .filter(|p| matches!(p.status, ResourceStatus::Running | ResourceStatus::Failed))
            .map(|p| p.resource.clone())
            .collect();
        ProgressTracker {
            inner: Mutex::new(Inner {
                resources,
                current: None,
                step: None,
                samples: VecDeque::new(),
                resource_samples: VecDeque::new(),
                version: 1,
                resumed,
            }),
            save_order: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether an earlier attempt already finished this resource.
    pub fn is_done(&self, key: &str) -> bool {
        self.lock()
            .resources
            .iter()
            .any(|r| r.resource == key && r.status == ResourceStatus::Done)
    }

    pub fn begin(&self, key: &str) {
        let mut g = self.lock();
        let idx = g.resources.iter().position(|r| r.resource == key);
        if let Some(i) = idx {
            let r = &mut g.resources[i];
            r.status = ResourceStatus::Running;
            (r.total, r.processed, r.synced, r.errors, r.speed) = (0, 0, 0, 0, 0.0);
            r.message = None;
        }
        g.current = idx;
        g.step = None;
        g.resource_samples.clear();
        g.version += 1;
    }

    pub fn finish(&self, key: &str, status: ResourceStatus, message: Option<String>) {
        let mut g = self.lock();
        if let Some(r) = g.resources.iter_mut().find(|r| r.resource == key) {
            r.status = status;
            r.message = message;
            r.speed = 0.0;
            if status == ResourceStatus::Done {
                r.total = r.total.max(r.processed);
            }
        }
        g.current = None;
        g.version += 1;
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        let mut g = self.lock();
        let now = Instant::now();
        let processed: u64 = g.resources.iter().map(|r| r.processed).sum();
        let speed = window_speed(&mut g.samples, now, processed);
        let current_processed = g.current.map_or(0, |i| g.resources[i].processed);
        let resource_speed = window_speed(&mut g.resource_samples, now, current_processed);
        if let Some(i) = g.current {
            g.resources[i].speed = resource_speed;
        }
        let job = JobProgress {
            expected: g.resources.iter().map(|r| r.total.max(r.processed)).sum(),
            processed,
            synced: g.resources.iter().map(|r| r.synced).sum(),
            errors: g.resources.iter().map(|r| r.errors).sum(),
            speed,
            current_step: g.step.clone(),
            current_resource: g.current.map(|i| g.resources[i].resource.clone()),
        };
        let remaining = job.expected.saturating_sub(job.processed);
        let eta = (speed > 0.0).then(|| Duration::from_secs_f64(remaining as f64 / speed));
        ProgressSnapshot {
            job,
            resources: g.resources.clone(),
            eta,
            version: g.version,
        }
    }
}

/// Objects per second over the last [`SPEED_WINDOW`], recording `value` now.
fn window_speed(samples: &mut VecDeque<(Instant, u64)>, now: Instant, value: u64) -> f64 {
    if samples
        .back()
        .is_none_or(|&(t, _)| now - t >= Duration::from_millis(200))
    {
        samples.push_back((now, value));
    }
    while samples
        .front()
        .is_some_and(|&(t, _)| now - t > SPEED_WINDOW)
        && samples.len() > 2
    {
        samples.pop_front();
    }
    match (samples.front(), samples.back()) {
        (Some(&(t0, v0)), Some(&(t1, v1))) if t1 > t0 => {
            v1.saturating_sub(v0) as f64 / (t1 - t0).as_secs_f64()
        }
        _ => 0.0,
    }
}

impl ResourceProgressSink for ProgressTracker {
    fn set_total(&self, total: u64) {
        let mut g = self.lock();
        if let Some(i) = g.current {
            g.resources[i].total = total;
            g.version += 1;
        }
    }

    fn add(&self, processed: u64, synced: u64, errors: u64) {
        let mut g = self.lock();
        if let Some(i) = g.current {
            let r = &mut g.resources[i];
            r.processed += processed;
            r.synced += synced;
            r.errors += errors;
            // A known total is a promise: never shown below what was done.
            if r.total != 0 {
                r.total = r.total.max(r.processed);
            }
            g.version += 1;
        }
    }

    fn step(&self, step: &str) {
        let mut g = self.lock();
        g.step = Some(step.to_string());
        g.version += 1;
    }

    fn unchanged(&self, objects: u64) {
        let mut g = self.lock();
        let Some(i) = g.current else { return };
        if objects > 0 && g.resumed.contains(&g.resources[i].resource) {
            let r = &mut g.resources[i];
            // Never more than was processed: synced ≤ processed holds.
            r.synced = (r.synced + objects).min(r.processed.saturating_sub(r.errors));
            g.version += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Vec<PlannedResource> {
        ["metadata:a", "dataValues:b"]
            .iter()
            .map(|k| PlannedResource {
                key: k.to_string(),
                label: k.to_string(),
                is_metadata: k.starts_with("metadata"),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn totals_speed_and_eta() {
        let t = ProgressTracker::new(&plan(), &[]);
        t.begin("dataValues:b");
        t.set_total(1000);
        t.snapshot();
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            t.add(100, 90, 10);
            t.snapshot();
        }
        let s = t.snapshot();
        assert_eq!((s.job.expected, s.job.processed), (1000, 400));
        assert_eq!((s.job.synced, s.job.errors), (360, 40));
        assert!((s.job.speed - 100.0).abs() < 1.0, "{}", s.job.speed);
        assert_eq!(s.eta.map(|d| d.as_secs()), Some(6));
        assert_eq!(s.job.current_resource.as_deref(), Some("dataValues:b"));
        t.finish("dataValues:b", ResourceStatus::Done, None);
        assert!(t.is_done("dataValues:b"));
    }

    #[test]
    fn a_resumed_resource_counts_what_the_cut_attempt_wrote() {
        let first = ProgressTracker::new(&plan(), &[]);
        first.begin("dataValues:b");
        // The process dies here; the next attempt re-sends all 100 values,
        // and the 40 written before come back unchanged.
        let again = ProgressTracker::new(&plan(), &first.snapshot().resources);
        again.begin("dataValues:b");
        again.add(100, 58, 2);
        again.unchanged(40);
        let row = &again.snapshot().resources[1];
        assert_eq!((row.processed, row.synced, row.errors), (100, 98, 2));
        // A resource that was not cut keeps unchanged values out of synced.
        again.begin("metadata:a");
        again.add(10, 7, 0);
        again.unchanged(3);
        assert_eq!(again.snapshot().resources[0].synced, 7);
    }

    #[test]
    fn an_earlier_attempt_keeps_its_finished_resources() {
        let first = ProgressTracker::new(&plan(), &[]);
        first.begin("metadata:a");
        first.add(5, 5, 0);
        first.finish("metadata:a", ResourceStatus::Done, None);
        let again = ProgressTracker::new(&plan(), &first.snapshot().resources);
        assert!(again.is_done("metadata:a"));
        assert!(!again.is_done("dataValues:b"));
        assert_eq!(again.snapshot().job.synced, 5);
    }
}
