-- Per-instance request deadlines in seconds (`[[instance]]` connect_timeout,
-- first_byte_timeout, import_timeout, idle_timeout); NULL = the client's default.
ALTER TABLE instances ADD COLUMN connect_timeout_s INTEGER;
ALTER TABLE instances ADD COLUMN first_byte_timeout_s INTEGER;
ALTER TABLE instances ADD COLUMN import_timeout_s INTEGER;
ALTER TABLE instances ADD COLUMN idle_timeout_s INTEGER;
