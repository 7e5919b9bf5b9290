-- Issue 15: presence across nodes. An agent is online while any node holds one of their event
-- streams, so each node counts the streams it holds, per user (agent_presence.streams is the
-- sum over the nodes, kept with these rows). A node that starts forgets only its own rows; the
-- rows of a node that died (SIGKILL) go when its lease in node_leases expires, removed by
-- another node's routing sweep. A SQLite database has one node (node_id ''), which clears every
-- row when it starts, as before; it never writes node_leases, created so both stores have the
-- same schema versions.
CREATE TABLE node_streams (
  node_id TEXT NOT NULL,
  username TEXT NOT NULL,
  streams INTEGER NOT NULL,
  PRIMARY KEY (node_id, username)
) WITHOUT ROWID;
CREATE INDEX node_streams_by_user ON node_streams (username);

CREATE TABLE node_leases (
  node_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
