-- Objects (or data values) the destination refused, per job: what, why, when.
-- One row per (job, resource, object, code); a re-sent object seen again in the
-- same job (a retried attempt) bumps times_seen and last_seen.
CREATE TABLE rejections (
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    resource    TEXT    NOT NULL,
    object_key  TEXT    NOT NULL,           -- UID, or de/pe/ou/coc/aoc of a data value
    error_code  TEXT    NOT NULL,           -- '' when the report gave none
    class       TEXT    NOT NULL,           -- permanent | reference | lock | other
    message     TEXT    NOT NULL,
    first_seen  INTEGER NOT NULL,           -- ms since the epoch
    last_seen   INTEGER NOT NULL,
    times_seen  INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (job_id, resource, object_key, error_code)
);
