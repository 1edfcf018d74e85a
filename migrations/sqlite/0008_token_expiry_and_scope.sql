-- API tokens grow up (issue 13 item 7): an expiry, a scope, and when each was last used.
-- Tokens made before this migration never expired; they now expire 90 days after their
-- creation (the new default), so a forgotten old token stops working instead of living forever.
-- The DEFAULT 0 only fills the column for existing rows before the UPDATE: a new row always
-- names its expiry, and a row that forgot would be expired, not eternal.
ALTER TABLE api_token ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE api_token SET expires_at = created_at + 90 * 86400000;

-- 'read' tokens may only GET and HEAD; 'write' tokens may do what their user may.
-- Existing tokens had full rights and keep them.
ALTER TABLE api_token ADD COLUMN scope TEXT NOT NULL DEFAULT 'write'
    CHECK (scope IN ('read', 'write'));

-- Updated at most once a minute per token, so a busy script does not write on every request.
ALTER TABLE api_token ADD COLUMN last_used_at INTEGER;

-- GET /api/tokens lists a user's tokens; logins prune expired sessions.
CREATE INDEX api_token_user ON api_token (user_id);
CREATE INDEX session_expires ON session (expires_at);
