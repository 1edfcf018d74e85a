-- Mirror of sqlite/0014_job_leases.sql.
ALTER TABLE job ADD COLUMN lease_owner TEXT;
ALTER TABLE job ADD COLUMN lease_until BIGINT;
ALTER TABLE job ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
CREATE INDEX job_unfinished ON job (status, id);
