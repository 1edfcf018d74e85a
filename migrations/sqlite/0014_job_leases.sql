-- Job leases (issue 15): the server running a job and until when, renewed while it runs; a job
-- whose lease ran out is taken over by another server (src/jobs/lease.rs).
ALTER TABLE job ADD COLUMN lease_owner TEXT;
ALTER TABLE job ADD COLUMN lease_until INTEGER;
ALTER TABLE job ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX job_unfinished ON job (status, id);
