-- Issue 15: the twin of PostgreSQL's delivery_leases (which node delivers a conversation's
-- outbound events, until when). A SQLite database has one node, which holds every lease
-- implicitly: the SQLite store never reads or writes this table. It is created so both stores
-- have the same schema versions.
CREATE TABLE delivery_leases (
  conversation_id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
