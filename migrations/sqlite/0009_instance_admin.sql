-- Instance roles (issue 13). Beside the per-project roles of `membership`, a user may be an
-- instance admin: by default only instance admins may create projects (and so become a
-- project's admin). Only the command line grants it (`fangyan user add --admin`,
-- `fangyan user grant-admin`); no API route can. Existing users start as ordinary users:
-- after an upgrade the operator grants the role to whoever should create projects.
ALTER TABLE app_user ADD COLUMN is_instance_admin INTEGER NOT NULL DEFAULT 0
    CHECK (is_instance_admin IN (0, 1));
