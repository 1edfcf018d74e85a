-- Claim next on a busy project (issue 14): the rank "first free segment" looked through
-- `segment_open`, where every segment leased to someone else sits in front of the free ones,
-- so each claim stepped over all the live leases before it (on Postgres a table row each,
-- to lock). It is now two lookups, each answered from an index of its own:
-- abandoned work (a holder whose lease ran out, or who has none) in recording order, the
-- longest-abandoned first within a recording, then the first unassigned segment in recording
-- and time order. A lease moves a segment from the second index to the first; a lapse needs
-- no write to be found there.

CREATE INDEX segment_unassigned ON segment (recording_id, start_sample, id)
    WHERE deleted = 0 AND status IN ('new', 'in_progress') AND assignee_id IS NULL;

CREATE INDEX segment_abandoned ON segment (recording_id, COALESCE(lease_until, 0), id)
    WHERE deleted = 0 AND status IN ('new', 'in_progress') AND assignee_id IS NOT NULL;

DROP INDEX segment_open;
