-- Corpus exports (issue 8): one row per export run. The files live in the data directory
-- under exports/<id>/ and are streamed as .tar.gz on download.
CREATE TABLE export (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES project (id),
    created_by    INTEGER REFERENCES app_user (id),
    definition    TEXT    NOT NULL,              -- JSON: filters and options
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress      REAL    NOT NULL DEFAULT 0,
    utterances    INTEGER,
    seconds       REAL,
    error_message TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX export_project ON export (project_id, id);
