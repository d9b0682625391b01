//! A filled-in model without an engine: for the snapshot tests and the
//! rendering benchmark (`syncdeck bench console`). Times are fixed so
//! snapshots do not move.

use std::sync::Arc;

use crate::config::{AutoSettings, ExecMode};
use crate::engine::events::SchedulerStatus;
use crate::engine::handle::AutoState;
use crate::store::queue::{Job, JobKind, JobProgress, JobState, ResourceProgress, ResourceStatus};
use crate::store::state::{Detection, LifecycleState};

use super::keymap::Keymap;
use super::model::{ConfigRow, LiveJob, Model, Session};
use super::theme::Theme;
use crate::logs::tail::{Tail, TailLevel, TailLine};

/// 2026-11-21 10:00:00 UTC.
pub const NOW: i64 = 1_795_255_200_000;

pub fn job(id: i64, config_id: i64, state: JobState, synced: u64, errors: u64) -> Job {
    let finished = !matches!(state, JobState::Queued | JobState::Running);
    Job {
        id,
        queue: "default".into(),
        config_id: Some(config_id),
        exclusive_key: Some(format!("config:{config_id}")),
        kind: JobKind::Incremental,
        reason: "changes detected".into(),
        resources: Vec::new(),
        state,
        wait_for_metadata: false,
        attempt: 1,
        max_attempts: 3,
        priority: 0,
        run_at: NOW - 600_000,
        locked_by: None,
        lease_until: None,
        created_at: NOW - 600_000 + (id % 50) * 1_000,
        started_at: Some(NOW - 300_000 + (id % 50) * 1_000),
        finished_at: finished.then_some(NOW - 120_000 + (id % 50) * 1_000),
        progress: JobProgress {
            expected: synced + errors,
            processed: synced + errors,
            synced,
            errors,
            ..Default::default()
        },
        progress_at: None,
        last_error: (state == JobState::Failed)
            .then(|| "destination: authentication failed (401); check the username and password_env of \"regional\"".into()),
        error_kind: (state == JobState::Failed).then(|| "auth".into()),
    }
}

const METADATA: &[&str] = &[
    "categoryOptions",
    "categories",
    "categoryCombos",
    "organisationUnits",
    "dataElements",
    "indicators",
    "dataSets",
    "programs",
];

/// Data sets of the sample: (id, name).
const DATA_SETS: &[(&str, &str)] = &[
    ("BfMAe6Itzgt", "Child health"),
    ("QX4ZTUbOt3a", "ANC monthly"),
    ("VTdjfLXXmoi", "Expanded immunization monthly"),
    ("aLpVgfXiz0f", "Malaria weekly"),
    ("eZDhcZi6FLP", "Nutrition"),
];

fn data_set(i: usize) -> (String, String) {
    let (id, name) = DATA_SETS[i % DATA_SETS.len()];
    (
        format!("dataValues:{id}{i:02}"),
        format!("Data values: {name}"),
    )
}

/// `n` resources, the first third done, one running, the rest pending.
pub fn resources(n: usize) -> Vec<ResourceProgress> {
    (0..n)
        .map(|i| {
            let metadata = i < n / 2;
            let (resource, label) = if metadata {
                let t = METADATA[i % METADATA.len()];
                (format!("metadata:{t}"), t.to_string())
            } else {
                data_set(i)
            };
            let total = if metadata { 120 + i as u64 * 7 } else { 10_000 };
            let (status, processed) = match i {
                _ if i < n / 3 => (ResourceStatus::Done, total),
                _ if i == n / 3 => (ResourceStatus::Running, total * 2 / 5),
                _ => (ResourceStatus::Pending, 0),
            };
            ResourceProgress {
                resource,
                label,
                rtype: if metadata { "metadata" } else { "data" }.into(),
                position: i as u32,
                status,
                total,
                processed,
                synced: processed.saturating_sub(u64::from(i == 1) * 3),
                errors: u64::from(i == 1) * 3,
                speed: if status == ResourceStatus::Running {
                    4_250.0
                } else {
                    0.0
                },
                message: None,
            }
        })
        .collect()
}

/// A resource done: `processed` of its own total, `synced`, `errors`.
pub fn done_resource(
    resource: String,
    label: String,
    processed: u64,
    synced: u64,
    errors: u64,
    message: Option<&str>,
) -> ResourceProgress {
    ResourceProgress {
        rtype: if resource.starts_with("metadata") {
            "metadata"
        } else {
            "data"
        }
        .into(),
        resource,
        label,
        position: 0,
        status: ResourceStatus::Done,
        total: processed,
        processed,
        synced,
        errors,
        speed: 0.0,
        message: message.map(str::to_string),
    }
}

/// A finished job's resources: clean, with skipped objects, with
/// rejections, and the deletion pass that checked 7,993 and deleted 1.
pub fn finished_resources() -> Vec<ResourceProgress> {
    let row = done_resource;
    let (ds0, l0) = data_set(0);
    let (ds2, l2) = data_set(2);
    let mut rows = vec![
        row(
            "metadata:organisationUnits".into(),
            "organisationUnits".into(),
            637,
            637,
            0,
            None,
        ),
        row(
            "metadata:dataElements".into(),
            "dataElements".into(),
            7,
            7,
            0,
            None,
        ),
        row(ds0, l0, 30_817, 17, 0, Some("30,800 values unchanged")),
        row(
            ds2,
            l2,
            2_000,
            1_996,
            4,
            Some("4 values refused: E7641 period 202401 is closed for data entry (permanent)"),
        ),
        row(
            "metadataDeletions".into(),
            "Metadata deletions".into(),
            7_993,
            1,
            0,
            None,
        ),
    ];
    for (i, r) in rows.iter_mut().enumerate() {
        r.position = i as u32;
    }
    rows
}

fn config(id: i64, name: &str, active: bool, auto: Option<AutoSettings>) -> ConfigRow {
    ConfigRow {
        id,
        name: name.into(),
        source: "national".into(),
        destination: Some("regional".into()),
        mode: if auto.is_some() {
            ExecMode::Automatic
        } else {
            ExecMode::Manual
        },
        active,
        auto: match &auto {
            Some(a) if a.enabled => AutoState::Enabled,
            Some(_) => AutoState::Disabled,
            None => AutoState::NotConfigured,
        },
        settings: auto,
        pull: None,
        lifecycle: LifecycleState {
            initial_done: true,
            next_check_at: Some(NOW + 252_000),
            ..Default::default()
        },
        running_job: None,
        queued_jobs: 0,
        next_job: None,
        last_job: Some(job(id * 100, id, JobState::Completed, 11_208, 0)),
    }
}

fn tail() -> Arc<Tail> {
    let tail = Arc::new(Tail::new());
    let lines = [
        (
            TailLevel::Info,
            "auto_sync",
            "initial sync queued: first full sync config=national-to-regional job=2",
        ),
        (
            TailLevel::Info,
            "sync_jobs",
            "job started: initial (first full sync) job=2 attempt=1",
        ),
        (
            TailLevel::Info,
            "changes",
            "3 changes in metadata:dataElements since 2026-11-21T12:55:00.000",
        ),
        (
            TailLevel::Warn,
            "sync_jobs",
            "attempt failed (transient): source: cannot connect to http://127.0.0.1:9/api/system/info; will be retried in 32s",
        ),
        // What a hostile server could put in a name: shown, never obeyed.
        (
            TailLevel::Error,
            "sync_jobs",
            "import refused for \u{1b}]0;pwned\u{7}\u{1b}[2J org unit \"Bo\u{1b}[31m\"",
        ),
    ];
    for (i, (level, component, text)) in lines.into_iter().enumerate() {
        tail.push(TailLine {
            level,
            time: format!("09:59:{:02}", 50 + i),
            component: component.into(),
            text: crate::text::inert(text),
        });
    }
    tail
}

/// The three demo configs: one syncing, one idle and manual, one in
/// cooldown after an error (whose name carries an escape sequence).
pub fn model() -> Model {
    let session = Session {
        origin: crate::tui::model::Origin::Local,
        database: "/var/lib/syncdeck/syncdeck.db".into(),
        read_only: false,
        local_time: false,
    };
    let mut m = Model::new(
        session,
        Keymap::defaults(),
        Theme {
            color: true,
            ascii: false,
        },
        tail(),
        NOW,
    );
    let auto = AutoSettings::default();
    let mut running = config(1, "national-to-regional", true, Some(auto.clone()));
    let mut job1 = job(7, 1, JobState::Running, 5_200, 3);
    job1.progress.expected = 20_000;
    running.running_job = Some(job1);
    running.queued_jobs = 1;
    let manual = config(2, "manual-reporting", true, None);
    let mut failing = config(3, "offline-\u{1b}[31mdistrict", true, Some(auto));
    failing.lifecycle.cooldown_until = Some(NOW + 1_500_000);
    failing.lifecycle.last_error = Some(
        "source: temporary failure: cannot connect to http://127.0.0.1:9/api/system/info (Connection refused); check the host, port and network".into(),
    );
    failing.last_job = Some(job(300, 3, JobState::Failed, 0, 0));
    // Its next try is waiting for a retry after a failed attempt.
    let mut retry = job(301, 3, JobState::Queued, 0, 0);
    retry.run_at = NOW + 28_000;
    retry.last_error = Some("source: temporary failure: cannot connect to http://127.0.0.1:9/api/system/info; check the host, port and network".into());
    failing.next_job = Some(retry);
    failing.queued_jobs = 1;
    m.configs = vec![running, manual, failing];
    m.loaded = true;
    m.failed_jobs = 1;
    m.synced_stored = 33_624;
    m.live.insert(
        1,
        LiveJob {
            job_id: 7,
            progress: JobProgress {
                expected: 20_000,
                processed: 8_200,
                synced: 8_197,
                errors: 3,
                speed: 4_250.0,
                current_step: Some("importing".into()),
                current_resource: Some("metadata:dataElements".into()),
            },
            resources: resources(12),
            eta_secs: Some(42),
        },
    );
    m.schedulers.insert(
        1,
        SchedulerStatus::Waiting {
            next_check_at: NOW + 252_000,
        },
    );
    m.dashboard
        .throughput
        .insert(1, (0..90u64).map(|i| (i * 97) % 5_000 + 500).collect());
    m.dashboard.history = vec![
        job(7, 1, JobState::Running, 5_200, 3),
        job(6, 1, JobState::Completed, 120, 0),
        job(5, 1, JobState::Failed, 0, 0),
        job(4, 1, JobState::Completed, 11_208, 0),
    ];
    m.dashboard.history_of = Some(1);
    m.dashboard.history_resources = finished_resources();
    m.jobs.loaded = true;
    m.jobs.rows = vec![
        job(8, 1, JobState::Queued, 0, 0),
        job(7, 1, JobState::Running, 5_200, 3),
        job(6, 1, JobState::Completed, 120, 0),
        job(5, 1, JobState::Failed, 0, 0),
        job(300, 3, JobState::Failed, 0, 0),
    ];
    m.detections.rows = vec![
        Detection {
            config_id: 1,
            at: NOW - 60_000,
            resource: "metadata:dataElements".into(),
            changed_count: 3,
            exact: true,
            since: Some("2026-11-21T12:55:00.000".into()),
            label: "dataElements".into(),
        },
        Detection {
            config_id: 1,
            at: NOW - 60_000,
            resource: "dataValues:BfMAe6Itzgt".into(),
            changed_count: 1_000,
            exact: false,
            since: Some("2026-11-21T12:55:00.000".into()),
            label: "Data values: Child health".into(),
        },
    ];
    m
}

/// `configs` configs of `resources` resources each, all syncing: the
/// rendering benchmark's worst case.
pub fn busy_model(configs: usize, resources_each: usize) -> Model {
    let mut m = model();
    m.configs.clear();
    m.live.clear();
    for i in 0..configs as i64 {
        let mut c = config(
            i + 1,
            &format!("config-{i:03}"),
            true,
            Some(AutoSettings::default()),
        );
        let mut j = job(1_000 + i, i + 1, JobState::Running, 100, 0);
        j.progress.expected = 30_000;
        c.running_job = Some(j);
        m.configs.push(c);
        m.live.insert(
            i + 1,
            LiveJob {
                job_id: 1_000 + i,
                progress: JobProgress {
                    expected: 30_000,
                    processed: 10_000 + i as u64,
                    synced: 10_000 + i as u64,
                    errors: 0,
                    speed: 3_000.0,
                    current_step: Some("data values".into()),
                    current_resource: Some("dataValues:DataSet010".into()),
                },
                resources: resources(resources_each),
                eta_secs: Some(60),
            },
        );
    }
    m
}
