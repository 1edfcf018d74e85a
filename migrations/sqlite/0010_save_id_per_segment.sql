-- A client save id is unique per segment, not across the database (issue 13, item 4): the
-- outbox generates ids per save, but nothing stops two segments' saves from carrying the same
-- one, and a global UNIQUE made the second save answer 200 without being applied.
--
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt, inside the
-- migration's transaction and with foreign keys on (they cannot be turned off inside a
-- transaction): the reviews that point at revisions are set aside first, so dropping the old
-- table deletes no referenced row; then a copy with the new constraint, every row moved with
-- its id, the old table dropped, the copy renamed (a rename rewrites references to the
-- renamed table only, so `review` keeps pointing at `segment_revision`), and the reviews put
-- back. `review` is the only table that references `segment_revision`.
CREATE TEMP TABLE review_aside AS SELECT * FROM review;
DELETE FROM review;

CREATE TABLE segment_revision_new (
    id            INTEGER PRIMARY KEY,
    segment_id    INTEGER NOT NULL REFERENCES segment (id),
    version       INTEGER NOT NULL,
    author_id     INTEGER REFERENCES app_user (id),
    save_id       TEXT,                            -- the client's id of the save, per segment
    created_at    INTEGER NOT NULL,
    text_verbatim TEXT    NOT NULL,
    text_display  TEXT    NOT NULL,
    text_norm     TEXT    NOT NULL,
    start_sample  INTEGER NOT NULL,
    end_sample    INTEGER NOT NULL,
    speaker_id    INTEGER,
    status        TEXT    NOT NULL,
    UNIQUE (segment_id, version),
    UNIQUE (segment_id, save_id)                   -- NULLs (server-made revisions) never clash
);

INSERT INTO segment_revision_new (id, segment_id, version, author_id, save_id, created_at,
    text_verbatim, text_display, text_norm, start_sample, end_sample, speaker_id, status)
SELECT id, segment_id, version, author_id, save_id, created_at,
    text_verbatim, text_display, text_norm, start_sample, end_sample, speaker_id, status
FROM segment_revision;

DROP TABLE segment_revision;
ALTER TABLE segment_revision_new RENAME TO segment_revision;

INSERT INTO review SELECT * FROM review_aside;
DROP TABLE review_aside;
