-- Per-user preferences of the browser workbench (keyboard shortcut remapping, playback
-- speed, view toggles). One JSON object per user: the browser owns its shape, the server
-- checks only that it is a JSON object of bounded size. Portable as written to Postgres
-- (where `settings` may become JSONB).
CREATE TABLE user_settings (
    user_id    INTEGER PRIMARY KEY REFERENCES app_user (id),
    settings   TEXT    NOT NULL DEFAULT '{}',   -- JSON object, at most 16 KiB
    updated_at INTEGER NOT NULL                 -- unix milliseconds
);
