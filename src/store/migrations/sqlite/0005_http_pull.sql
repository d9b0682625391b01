-- http_pull configs: their [sync.pull] settings (JSON, NULL for DHIS2 syncs)
-- and what the last pull found. Hashes are MD5 hex; times ms since the epoch.
ALTER TABLE sync_configs ADD COLUMN pull TEXT;

CREATE TABLE pull_state (
    config_id         INTEGER PRIMARY KEY REFERENCES sync_configs(id) ON DELETE CASCADE,
    last_sync_at      INTEGER,           -- the last pull that reached an answer or failed
    last_sync_ok      INTEGER,           -- 0/1, NULL before the first pull
    last_sync_error   TEXT,
    current_hash      TEXT,              -- of the document in target
    backend_hash      TEXT,              -- as the backend last announced it
    config_updated_at INTEGER,           -- when target last changed
    items             INTEGER,           -- devices (or top-level entries) of the current document
    items_kind        TEXT,              -- what items counts: devices | syncs | entries
    refused_hash      TEXT,              -- a document refused as invalid: not fetched again until it changes
    failures          INTEGER NOT NULL DEFAULT 0 -- consecutive failed pulls (backoff)
);
