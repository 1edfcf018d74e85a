-- Speaker metadata for dialect work: birthplace as province and city (the older free-text
-- `birthplace` stays, kept as "province city" for display and exports).
ALTER TABLE speaker ADD COLUMN birthplace_province TEXT;
ALTER TABLE speaker ADD COLUMN birthplace_city TEXT;
