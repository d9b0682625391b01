-- syncdeck schema v1 (SQLite). Times are integer milliseconds since the Unix
-- epoch; due and lease checks use the database clock. DHIS2 watermarks are the
-- source's own server-local timestamps, kept as text.
-- Flags are 0/1 integers in both dialects, so one Rust decoder serves both.

CREATE TABLE instances (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    url         TEXT    NOT NULL,
    username    TEXT,
    auth_kind   TEXT    NOT NULL,           -- basic | token
    secret_kind TEXT    NOT NULL,           -- env | file
    secret_ref  TEXT    NOT NULL,           -- env var name or file path, never the secret
    updated_at  INTEGER NOT NULL
);

CREATE TABLE sync_configs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,        -- dhis2 | http_pull
    source_id      INTEGER NOT NULL REFERENCES instances(id),
    destination_id INTEGER REFERENCES instances(id),
    mode           TEXT    NOT NULL,        -- manual | automatic
    selection      TEXT    NOT NULL,        -- JSON: metadata, data_sets, programs, org_units, exclude
    active         INTEGER NOT NULL DEFAULT 1, -- scheduler wanted (start/stop)
    updated_at     INTEGER NOT NULL
);

CREATE TABLE auto_sync_settings (
    config_id              INTEGER PRIMARY KEY REFERENCES sync_configs(id) ON DELETE CASCADE,
    is_enabled             INTEGER NOT NULL,
    check_interval_s       INTEGER NOT NULL CHECK (check_interval_s >= 60),
    delay_before_sync_s    INTEGER NOT NULL,
    immediate_sync         INTEGER NOT NULL,
    monitor_metadata       INTEGER NOT NULL,
    monitor_data_values    INTEGER NOT NULL,
    metadata_resources     TEXT    NOT NULL, -- JSON array
    exclude_resources      TEXT    NOT NULL, -- JSON array
    max_sync_per_hour      INTEGER NOT NULL,
    cooldown_after_error_s INTEGER NOT NULL,
    notify_on_change       INTEGER NOT NULL,
    notify_on_sync_complete INTEGER NOT NULL
);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    queue             TEXT    NOT NULL DEFAULT 'sync',
    config_id         INTEGER REFERENCES sync_configs(id) ON DELETE CASCADE,
    exclusive_key     TEXT,                 -- at most one running job per key
    kind              TEXT    NOT NULL,     -- initial | incremental | manual | resync | noop
    reason            TEXT    NOT NULL,
    resources         TEXT    NOT NULL DEFAULT '[]', -- JSON array; empty = as planned
    state             TEXT    NOT NULL,     -- queued | running | completed | failed | cancelled
    wait_for_metadata INTEGER NOT NULL DEFAULT 0,
    attempt           INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL,
    priority          INTEGER NOT NULL DEFAULT 0,
    run_at            INTEGER NOT NULL,
    locked_by         TEXT,
    lease_until       INTEGER,
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    expected          INTEGER NOT NULL DEFAULT 0,
    processed         INTEGER NOT NULL DEFAULT 0,
    synced            INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    speed             REAL    NOT NULL DEFAULT 0,
    current_step      TEXT,
    current_resource  TEXT,
    progress_at       INTEGER,
    last_error        TEXT,
    error_kind        TEXT
);
-- Claim order: a claim walks this index in (priority, run_at, id) order and
-- stops at its LIMIT instead of sorting every queued job.
CREATE INDEX jobs_due ON jobs (queue, state, priority, run_at, id);
CREATE INDEX jobs_config ON jobs (config_id, state);
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (exclusive_key)
    WHERE state = 'running' AND exclusive_key IS NOT NULL;
-- The claim's per-key checks (a running job, an earlier queued one).
CREATE INDEX jobs_key ON jobs (exclusive_key, state, priority, run_at, id)
    WHERE exclusive_key IS NOT NULL;

CREATE TABLE job_resources (
    job_id    INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    resource  TEXT    NOT NULL,
    rtype     TEXT    NOT NULL,             -- metadata | data
    position  INTEGER NOT NULL,
    status    TEXT    NOT NULL,             -- pending | running | done | failed | skipped
    total     INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    synced    INTEGER NOT NULL DEFAULT 0,
    errors    INTEGER NOT NULL DEFAULT 0,
    speed     REAL    NOT NULL DEFAULT 0,
    message   TEXT,
    PRIMARY KEY (job_id, resource)
);

CREATE TABLE watermarks (
    config_id   INTEGER NOT NULL REFERENCES sync_configs(id) ON DELETE CASCADE,
    resource    TEXT    NOT NULL,
    server_time TEXT    NOT NULL,           -- source serverDate at the start of the run
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (config_id, resource)
);

CREATE TABLE lifecycle_state (
    config_id       INTEGER PRIMARY KEY REFERENCES sync_configs(id) ON DELETE CASCADE,
    initial_done    INTEGER NOT NULL DEFAULT 0,
    cooldown_until  INTEGER,
    recent_syncs    TEXT    NOT NULL DEFAULT '[]', -- JSON array of ms, last hour
    throttled_until INTEGER,
    next_check_at   INTEGER,
    last_check_at   INTEGER,
    last_result     TEXT,
    last_error      TEXT,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE detections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    config_id     INTEGER NOT NULL REFERENCES sync_configs(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    resource      TEXT    NOT NULL,
    changed_count INTEGER NOT NULL,
    exact         INTEGER NOT NULL,
    since         TEXT
);
CREATE INDEX detections_config ON detections (config_id, at);
