-- Mirror of sqlite/0016_claim_free_and_abandoned.sql (see there for why).

CREATE INDEX segment_unassigned ON segment (recording_id, start_sample, id)
    WHERE deleted = 0 AND status IN ('new', 'in_progress') AND assignee_id IS NULL;

CREATE INDEX segment_abandoned ON segment (recording_id, COALESCE(lease_until, 0), id)
    WHERE deleted = 0 AND status IN ('new', 'in_progress') AND assignee_id IS NOT NULL;

DROP INDEX segment_open;
