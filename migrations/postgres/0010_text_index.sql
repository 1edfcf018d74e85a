-- Mirror of sqlite/0019_text_index.sql. The document arrives as text in `grams` (the same
-- INSERT as on SQLite); a trigger keeps only its terms, as a tsvector without positions
-- under the `simple` configuration (lowercase ASCII words, nothing stemmed or dropped), and
-- the GIN index answers an AND of terms.
CREATE TABLE segment_grams (
    rowid BIGINT PRIMARY KEY,
    grams TEXT,
    terms tsvector NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX segment_grams_terms ON segment_grams USING gin (terms);
-- Id windows as a bitmap to AND with the GIN index's (text_index::candidate_ids): rows are
-- appended in id order, so a BRIN index of the id is exact enough and tiny. On `rowid + 0`,
-- so that the planner cannot take the primary key instead and test every row's terms.
CREATE INDEX segment_grams_window ON segment_grams USING brin ((rowid + 0)) WITH (pages_per_range = 32, autosummarize = on);

CREATE FUNCTION segment_grams_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.terms := strip(to_tsvector('simple', COALESCE(NEW.grams, '')));
    NEW.grams := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER segment_grams_terms BEFORE INSERT OR UPDATE ON segment_grams
    FOR EACH ROW EXECUTE FUNCTION segment_grams_terms();

CREATE TABLE segment_grams_built (
    pending BIGINT NOT NULL,
    through BIGINT NOT NULL
);
INSERT INTO segment_grams_built (pending, through) SELECT COALESCE(MAX(id), 0), 0 FROM segment;

DROP INDEX span_tag_by_feature;
CREATE INDEX span_tag_by_feature ON span_tag (feature, segment_id, id);
DROP INDEX span_tag_by_realised;
CREATE INDEX span_tag_by_realised ON span_tag (realised, segment_id, id);
