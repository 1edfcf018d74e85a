-- Tags shared by ASR import (issue 6), tagging (issue 7) and export (issue 8).
-- The project's `tag_schema` JSON says which fields and feature codes exist; these tables
-- hold the values. Portable as written to Postgres.

-- The model behind a segment's `asr_text` (e.g. "whisper-large-v3"); `asr_source` says the
-- format or service it came from (e.g. "whisper-json", "openai-api").
ALTER TABLE segment ADD COLUMN asr_model TEXT;

-- Segment-level tag values from controlled vocabularies: one row per value, so a
-- multi-select field has several rows. `field` and `value` are schema ids (e.g.
-- field 'variety', value 'mandarin.southwestern'). Labels imported with ASR output
-- (Label Studio regions) use field 'label'.
CREATE TABLE segment_tag (
    segment_id INTEGER NOT NULL REFERENCES segment (id),
    field      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    author_id  INTEGER REFERENCES app_user (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (segment_id, field, value)
);
CREATE INDEX segment_tag_by_value ON segment_tag (field, value, segment_id);

-- The second, blind annotator's segment tags, for Cohen's kappa (see `second_pass`).
CREATE TABLE second_pass_tag (
    segment_id INTEGER NOT NULL REFERENCES second_pass (segment_id),
    field      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (segment_id, field, value)
);

-- An accent feature on the characters that carry it. Offsets count Unicode scalar values
-- in the segment's `text_verbatim`, end exclusive; `chars` keeps the tagged characters so
-- the span can be re-anchored after an edit, or flagged (`needs_review`) when they are gone.
CREATE TABLE span_tag (
    id              INTEGER PRIMARY KEY,
    segment_id      INTEGER NOT NULL REFERENCES segment (id),
    char_start      INTEGER NOT NULL,
    char_end        INTEGER NOT NULL,
    chars           TEXT    NOT NULL,
    feature         TEXT    NOT NULL,             -- schema code, e.g. INIT_RETRO_TO_DENTAL
    expected        TEXT    NOT NULL DEFAULT '',  -- pinyin with tone numbers, e.g. shi4
    realised        TEXT    NOT NULL DEFAULT '',  -- as heard, pinyin or IPA
    realised_script TEXT    NOT NULL DEFAULT 'pinyin' CHECK (realised_script IN ('pinyin', 'ipa')),
    start_sample    INTEGER,                      -- time span inside the segment (absolute samples)
    end_sample      INTEGER,
    note            TEXT    NOT NULL DEFAULT '',
    needs_review    INTEGER NOT NULL DEFAULT 0,
    pass            INTEGER NOT NULL DEFAULT 1,   -- 2: the second annotator's span (agreement)
    author_id       INTEGER REFERENCES app_user (id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (char_start >= 0 AND char_start < char_end)
);
CREATE INDEX span_tag_by_segment ON span_tag (segment_id);
CREATE INDEX span_tag_by_feature ON span_tag (feature, segment_id);
CREATE INDEX span_tag_by_realised ON span_tag (realised);

-- Segments by status within a recording: progress dashboards and export filters.
CREATE INDEX segment_by_status ON segment (status, recording_id);
