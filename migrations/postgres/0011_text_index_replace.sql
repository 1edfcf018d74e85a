-- The index's put replaces a row in one statement (`INSERT … ON CONFLICT (rowid) DO UPDATE
-- SET terms = EXCLUDED.terms`, src/segments/text_index.rs; SQLite's `INSERT OR REPLACE` on
-- the FTS5 table has no mirror to add). EXCLUDED carries what the BEFORE INSERT trigger made
-- of the document (its terms, its `grams` emptied), so the update's own trigger run keeps
-- the terms it is given when there is no document to read them from.
CREATE OR REPLACE FUNCTION segment_grams_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.grams IS NOT NULL THEN
        NEW.terms := strip(to_tsvector('simple', NEW.grams));
        NEW.grams := NULL;
    END IF;
    RETURN NEW;
END
$$;
