-- Issue 17: the review loop closed, and users managed from the browser.

-- Accounts (src/accounts): a disabled user cannot log in, and their sessions and tokens are
-- refused (src/accounts/db.rs joins this column); `last_login_at` is set by each login.
ALTER TABLE app_user ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE app_user ADD COLUMN last_login_at INTEGER;

-- Invite links (src/accounts/invites.rs): single use, expiring; only the SHA-256 of the
-- secret is kept, as for sessions. `used_at`/`used_by` are set once, by the accept.
CREATE TABLE invite (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES project (id),
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'transcriber', 'reviewer')),
    created_by INTEGER NOT NULL REFERENCES app_user (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    INTEGER REFERENCES app_user (id)
);
CREATE INDEX invite_project ON invite (project_id, id);

-- Comment threads on segments (src/comments): reviewer and transcriber talk about one
-- segment; a review decision with a comment is also the thread's next comment.
CREATE TABLE segment_comment (
    id         INTEGER PRIMARY KEY,
    segment_id INTEGER NOT NULL REFERENCES segment (id),
    author_id  INTEGER NOT NULL REFERENCES app_user (id),
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX segment_comment_thread ON segment_comment (segment_id, id);

-- How far each user has read each thread: unread = comments by others with a larger id.
CREATE TABLE comment_read (
    user_id      INTEGER NOT NULL REFERENCES app_user (id),
    segment_id   INTEGER NOT NULL REFERENCES segment (id),
    last_read_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, segment_id)
);
