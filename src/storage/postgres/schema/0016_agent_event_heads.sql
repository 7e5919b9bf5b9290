-- Issue 15: the head of each user's agent events, PostgreSQL only (SQLite has one writer, which
-- numbers events without a race). A writer locks the user's head row before it reads the last
-- seq, so two nodes writing the same user's next event wait for each other on this one row
-- (FOR UPDATE, then the fresh value) instead of both reading MAX(seq) + 1, inserting the same
-- key and running a job again. Created on a user's first event, from their newest event.
CREATE TABLE agent_event_heads (
  username TEXT COLLATE "C" PRIMARY KEY,
  seq BIGINT NOT NULL
);
INSERT INTO agent_event_heads (username, seq)
SELECT username, MAX(seq) FROM agent_events GROUP BY username;
