-- Canned responses: texts agents insert with "/" + shortcut. owner '' is a shared response
-- (managed by admins); otherwise the username of the agent it belongs to.
CREATE TABLE responses (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL DEFAULT '',
  shortcut TEXT NOT NULL,
  title TEXT NOT NULL,
  text TEXT NOT NULL,
  queues TEXT NOT NULL DEFAULT '[]', -- JSON array of queue names; empty: every queue
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX responses_by_owner ON responses (owner, shortcut);
