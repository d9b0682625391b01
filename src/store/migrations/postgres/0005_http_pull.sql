-- http_pull configs: their [sync.pull] settings (JSON, NULL for DHIS2 syncs)
-- and what the last pull found. Hashes are MD5 hex; times ms since the epoch.
ALTER TABLE sync_configs ADD COLUMN pull TEXT;

CREATE TABLE pull_state (
    config_id         BIGINT PRIMARY KEY REFERENCES sync_configs(id) ON DELETE CASCADE,
    last_sync_at      BIGINT,
    last_sync_ok      BIGINT,
    last_sync_error   TEXT,
    current_hash      TEXT,
    backend_hash      TEXT,
    config_updated_at BIGINT,
    items             BIGINT,
    items_kind        TEXT,
    refused_hash      TEXT,
    failures          BIGINT NOT NULL DEFAULT 0
);
