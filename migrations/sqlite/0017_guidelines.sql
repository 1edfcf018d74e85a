-- Transcription guidelines (issue 17, point 4; src/guidelines): each project's Markdown text,
-- kept in versions (a change is a new row, never a rewrite), and how far each member has
-- acknowledged them.
CREATE TABLE guideline (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES project (id),
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    author_id  INTEGER REFERENCES app_user (id),
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, version)
);

CREATE TABLE guideline_ack (
    project_id INTEGER NOT NULL REFERENCES project (id),
    user_id    INTEGER NOT NULL REFERENCES app_user (id),
    version    INTEGER NOT NULL,
    acked_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
