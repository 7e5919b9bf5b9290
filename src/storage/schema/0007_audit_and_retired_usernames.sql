-- Usernames are never reused: a deleted user's name is kept here and creating a user of that
-- name is refused (409 username_retired), so nothing the deleted user left (conversations,
-- transcripts, the live-event history keyed by username) can reach a later user of the name.
CREATE TABLE retired_usernames (
  username TEXT PRIMARY KEY,
  retired_at INTEGER NOT NULL
);

-- What administrators did (GET /api/v1/audit): who, what, on what, from which address, when.
-- `detail` is a JSON object of the field names a change carried, never their secret values.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,    -- a username, or "admin-token" for the static admin token
  role TEXT NOT NULL,     -- admin
  action TEXT NOT NULL,   -- connection.create, user.delete, secret.rotate, ...
  target TEXT NOT NULL,   -- a connection id, a username, a queue or bot name
  address TEXT NOT NULL,  -- the client's address (behind a trusted proxy: X-Forwarded-For)
  outcome INTEGER NOT NULL,  -- the HTTP status answered
  detail TEXT NOT NULL DEFAULT '{}'
);
