-- The login throttle's token buckets (issue 15): in the database, so every replica draws on
-- the same buckets. `key` is 'n:' + client + name hash or 'c:' + client; a bucket holds
-- `tokens` as of `at_ms` and is full again at `full_at_ms`, after which it is pruned.
CREATE TABLE login_bucket (
    key        TEXT    PRIMARY KEY,
    tokens     REAL    NOT NULL,
    at_ms      INTEGER NOT NULL,
    full_at_ms INTEGER NOT NULL
);
CREATE INDEX login_bucket_full ON login_bucket (full_at_ms);
