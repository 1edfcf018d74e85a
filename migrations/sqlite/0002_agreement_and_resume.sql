-- Double annotation and resumable jobs.

-- The share of segments (0 to 1) that a second transcriber also transcribes, blind to the
-- first, so that agreement can be measured. Which segments: those whose id hashes below the
-- share (see tasks::second_pass_pick), so the choice is stable and needs no extra column.
ALTER TABLE project ADD COLUMN second_pass_share REAL NOT NULL DEFAULT 0;

-- The second, blind transcription of a segment chosen for agreement: one per segment, by a
-- transcriber other than the segment's own. Leased like a first-pass claim.
CREATE TABLE second_pass (
    segment_id  INTEGER PRIMARY KEY REFERENCES segment (id),
    assignee_id INTEGER NOT NULL REFERENCES app_user (id),
    lease_until INTEGER,
    text        TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status IN ('in_progress', 'submitted')),
    updated_at  INTEGER NOT NULL
);

-- The file a job works on, relative to the store root (an acknowledged upload waiting in
-- tmp/), so that an ingest interrupted by a crash starts again at the next start.
ALTER TABLE job ADD COLUMN input TEXT;
