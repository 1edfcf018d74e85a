-- Mirror of migrations/sqlite/0011_claim_indexes_and_first_revisions.sql (see there for why).

-- Ranks "rejected work returned to me" and "my own open work": a user's segments by status,
-- in recording and time order.
CREATE INDEX segment_by_assignee ON segment (assignee_id, status, recording_id, start_sample, id)
    WHERE deleted = 0;

-- Rank "first free segment": open segments in recording and time order. Holder and lease
-- are in the index, so skipping the segments leased to others reads no table row.
CREATE INDEX segment_open ON segment (recording_id, start_sample, id, assignee_id, lease_until)
    WHERE deleted = 0 AND status IN ('new', 'in_progress');

-- Rank "a second pass": submitted and approved segments in recording and time order (with
-- their first-pass author, whom the rank skips).
CREATE INDEX segment_done ON segment (recording_id, start_sample, id, assignee_id)
    WHERE deleted = 0 AND status IN ('submitted', 'approved');

-- A transcriber's own live second pass.
CREATE INDEX second_pass_by_assignee ON second_pass (assignee_id, status);

-- Every segment now has a first revision when it is made (the VAD's ones had none): give the
-- segments made before this migration theirs, at their current version, by nobody.
INSERT INTO segment_revision (segment_id, version, author_id, save_id, created_at, text_verbatim,
    text_display, text_norm, start_sample, end_sample, speaker_id, status)
SELECT s.id, s.version, NULL, NULL, 0, s.text_verbatim, s.text_display, s.text_norm,
    s.start_sample, s.end_sample, s.speaker_id, s.status
FROM segment s
WHERE NOT EXISTS (SELECT 1 FROM segment_revision v WHERE v.segment_id = s.id);
