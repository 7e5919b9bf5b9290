-- Issue 14: agent events in a rowid table. As a WITHOUT ROWID table keyed by (username, seq),
-- each new event went in the middle of the tree, at its agent's place: an accept dirtied a
-- leaf per agent it told, pages split there, and a frame over about 1,000 bytes (a
-- conversation.message with its entry) does not fit an index-tree cell and took an overflow
-- page of its own. An accept wrote 5 to 7 pages of agent_events to the WAL (of about 30).
-- A rowid table appends every event at its end, where the events of one group commit share
-- pages and a frame of up to about 4,000 bytes stays in its cell; the (username, seq) index
-- that replays a stream holds only the keys.
CREATE TABLE agent_events_by_rowid (
  username TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,                -- the whole frame as JSON
  created_at INTEGER NOT NULL
);
INSERT INTO agent_events_by_rowid (username, seq, type, body, created_at)
  SELECT username, seq, type, body, created_at FROM agent_events ORDER BY created_at, username, seq;
DROP TABLE agent_events;
ALTER TABLE agent_events_by_rowid RENAME TO agent_events;
CREATE UNIQUE INDEX agent_events_by_user ON agent_events (username, seq);
CREATE INDEX agent_events_by_time ON agent_events (created_at);
