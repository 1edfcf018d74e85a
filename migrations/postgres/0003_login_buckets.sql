-- Mirror of sqlite/0012_login_buckets.sql.
CREATE TABLE login_bucket (
    key        TEXT COLLATE "C" PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    at_ms      BIGINT NOT NULL,
    full_at_ms BIGINT NOT NULL
);
CREATE INDEX login_bucket_full ON login_bucket (full_at_ms);
