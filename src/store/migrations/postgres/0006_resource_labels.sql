-- A resource's name for people (a data set's or program's name, a metadata
-- type) beside its stable key, so the console need not show `dataValues:UID`.
-- Empty for rows written before this migration: they are shown by their key.
ALTER TABLE job_resources ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE detections ADD COLUMN label TEXT NOT NULL DEFAULT '';
