-- The workbench data model. Portable SQL: integer keys, TEXT for JSON and enums (checked),
-- times as INTEGER unix milliseconds. A Postgres mirror differs only in key declarations
-- (BIGINT GENERATED ALWAYS AS IDENTITY instead of INTEGER PRIMARY KEY).

-- A project: one corpus, one set of conventions, one team.
CREATE TABLE project (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    analysis_rate INTEGER NOT NULL DEFAULT 16000,   -- Hz of the analysis copies
    conventions   TEXT    NOT NULL DEFAULT '{}',    -- JSON: markers, fillers, normalisation
    tag_schema    TEXT    NOT NULL DEFAULT '{}',    -- JSON: filled in by the tagging stage
    created_at    INTEGER NOT NULL
);

-- People. Passwords are argon2id PHC strings; nothing reversible is stored.
CREATE TABLE app_user (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Who may do what where. Roles are per project; a non-member sees nothing of it.
CREATE TABLE membership (
    project_id INTEGER NOT NULL REFERENCES project (id),
    user_id    INTEGER NOT NULL REFERENCES app_user (id),
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'transcriber', 'reviewer')),
    PRIMARY KEY (project_id, user_id)
);

-- Browser sessions and script tokens: only SHA-256 hashes of the secrets are kept.
CREATE TABLE session (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES app_user (id),
    expires_at INTEGER NOT NULL
);
CREATE TABLE api_token (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES app_user (id),
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Speakers of a project, with the metadata dialect work needs.
CREATE TABLE speaker (
    id                   INTEGER PRIMARY KEY,
    project_id           INTEGER NOT NULL REFERENCES project (id),
    code                 TEXT    NOT NULL,
    gender               TEXT,
    age_band             TEXT,
    birthplace           TEXT,
    self_reported_accent TEXT,
    native_variety       TEXT,
    UNIQUE (project_id, code)
);

-- A recording: its original is stored under sha256; status moves importing -> ready | failed.
CREATE TABLE recording (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES project (id),
    name          TEXT    NOT NULL,               -- display text only, never a path
    status        TEXT    NOT NULL CHECK (status IN ('importing', 'ready', 'failed')),
    sha256        TEXT,
    analysis_rate INTEGER NOT NULL,
    samples       INTEGER,                        -- length of the analysis copy
    meta          TEXT,                           -- JSON RecordingMeta from ingest
    error_code    TEXT,                           -- ingest error code when failed
    error_message TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX recording_by_project ON recording (project_id, id);

-- A segment: sample-exact bounds at the analysis rate, three text layers, workflow state.
-- `version` increases with every accepted save (optimistic concurrency).
CREATE TABLE segment (
    id            INTEGER PRIMARY KEY,
    recording_id  INTEGER NOT NULL REFERENCES recording (id),
    start_sample  INTEGER NOT NULL,
    end_sample    INTEGER NOT NULL,
    speaker_id    INTEGER REFERENCES speaker (id),
    channel       INTEGER NOT NULL DEFAULT 0,
    asr_text      TEXT,
    asr_source    TEXT,
    text_verbatim TEXT    NOT NULL DEFAULT '',
    text_display  TEXT    NOT NULL DEFAULT '',
    text_norm     TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'new'
                  CHECK (status IN ('new', 'in_progress', 'submitted', 'approved', 'rejected')),
    version       INTEGER NOT NULL DEFAULT 1,
    assignee_id   INTEGER REFERENCES app_user (id),
    lease_until   INTEGER,
    deleted       INTEGER NOT NULL DEFAULT 0,     -- deleted segments stay in history
    CHECK (start_sample >= 0 AND start_sample < end_sample)
);
CREATE INDEX segment_by_recording ON segment (recording_id, start_sample);

-- Append-only history: every accepted save, with the client's save id for idempotent retries.
CREATE TABLE segment_revision (
    id            INTEGER PRIMARY KEY,
    segment_id    INTEGER NOT NULL REFERENCES segment (id),
    version       INTEGER NOT NULL,
    author_id     INTEGER REFERENCES app_user (id),
    save_id       TEXT    UNIQUE,
    created_at    INTEGER NOT NULL,
    text_verbatim TEXT    NOT NULL,
    text_display  TEXT    NOT NULL,
    text_norm     TEXT    NOT NULL,
    start_sample  INTEGER NOT NULL,
    end_sample    INTEGER NOT NULL,
    speaker_id    INTEGER,
    status        TEXT    NOT NULL,
    UNIQUE (segment_id, version)
);

-- A reviewer's verdict on one revision.
CREATE TABLE review (
    id          INTEGER PRIMARY KEY,
    revision_id INTEGER NOT NULL REFERENCES segment_revision (id),
    reviewer_id INTEGER NOT NULL REFERENCES app_user (id),
    verdict     TEXT    NOT NULL CHECK (verdict IN ('approved', 'rejected')),
    comment     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

-- Background work (ingest, analysis, ASR) with progress, resumable across restarts.
CREATE TABLE job (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    recording_id  INTEGER REFERENCES recording (id),
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress      REAL    NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
