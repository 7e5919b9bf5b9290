-- Issue 15: presence across nodes (the twin of SQLite's 0014). Each node counts the event
-- streams it holds per user; agent_presence.streams is the sum over the nodes. A node renews
-- its row of node_leases at every routing sweep (each second) until now + its lease; a node
-- that starts deletes its own node_streams rows only; another node's sweep deletes the rows
-- and the lease of a node whose lease expired (it was killed), locking the lease row FOR
-- UPDATE SKIP LOCKED so that one sweep does it.
CREATE TABLE node_streams (
  node_id TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  streams BIGINT NOT NULL,
  PRIMARY KEY (node_id, username)
);
CREATE INDEX node_streams_by_user ON node_streams (username);

CREATE TABLE node_leases (
  node_id TEXT COLLATE "C" PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX node_leases_by_expiry ON node_leases (expires_at);
