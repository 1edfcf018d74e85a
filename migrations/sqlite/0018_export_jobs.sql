-- Exports as leased jobs (issue 15): the export a job runs, so any server can take it over
-- when its runner dies (src/exports/job.rs); the finished archive lives in the store.
ALTER TABLE job ADD COLUMN export_id INTEGER REFERENCES export (id);
