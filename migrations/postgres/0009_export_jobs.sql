-- Mirror of sqlite/0018_export_jobs.sql.
ALTER TABLE job ADD COLUMN export_id BIGINT REFERENCES export (id);
