-- The text search index (issue 15): one document of terms per live segment, rowid = segment
-- id, the terms spelled by src/text/grams.rs and written by src/segments/text_index.rs.
-- Contentless (the text is in `segment`), deletable by rowid, without positions (a query
-- is an AND of terms), split at spaces.
CREATE VIRTUAL TABLE segment_grams USING fts5 (
    grams,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'ascii'
);

-- Segments that were there before the index: ids up to `pending` are indexed by the
-- catch-up at start (text_index::catch_up), which records how far it got in `through`.
CREATE TABLE segment_grams_built (
    pending INTEGER NOT NULL,
    through INTEGER NOT NULL
);
INSERT INTO segment_grams_built (pending, through) SELECT COALESCE(MAX(id), 0), 0 FROM segment;

-- Span hits in segment order straight from an index, for the realised form as for the
-- feature (span_tag_by_feature is (feature, segment_id), rowid last).
DROP INDEX span_tag_by_realised;
CREATE INDEX span_tag_by_realised ON span_tag (realised, segment_id);
