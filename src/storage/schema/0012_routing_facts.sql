-- Issue 19, part B: reports from stored facts, the satisfaction survey and business hours.
--
-- routing_facts: what routing decided, one row a decision, appended in the transaction of the
-- step that made it (never updated, never deleted by routing): a conversation entered a queue
-- (offered), was answered by an agent (with its wait), was abandoned while waiting (with its
-- wait), was transferred by its agent, ended with an agent (with its handle time), or was rated
-- (csat). Reports read them by time, so they are right after a restart and on every node.
-- docs/api.md "Reports" defines each figure from these rows.
CREATE TABLE routing_facts (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,              -- ms since the epoch
  kind TEXT NOT NULL,               -- offered | answered | abandoned | transferred | ended | csat
  queue TEXT NOT NULL,
  agent TEXT,                       -- answered, transferred, ended, csat: the agent
  conversation_id TEXT NOT NULL,
  wait_ms INTEGER,                  -- answered, abandoned: from joining the queue to now
  handle_ms INTEGER,                -- transferred, ended: from the assignment to now
  value INTEGER                     -- answered, abandoned: the queue's service_level_s then;
                                    -- csat: the score 1-5
);
CREATE INDEX routing_facts_by_time ON routing_facts (at);

-- The satisfaction survey of a conversation: asked when its agent ended it on a queue with
-- csat on; its phase, and the answer.
CREATE TABLE conversation_csat (
  conversation_id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  agent TEXT,
  phase TEXT NOT NULL,              -- asked | rated | done
  asked_at INTEGER NOT NULL,
  score INTEGER,
  comment TEXT,
  answered_at INTEGER
) WITHOUT ROWID;

-- Ratings per queue and UTC day, for the overview's csat_today (one row read a queue).
CREATE TABLE queue_csat_day (
  queue TEXT NOT NULL,
  day INTEGER NOT NULL,
  count INTEGER NOT NULL,
  sum INTEGER NOT NULL,
  PRIMARY KEY (queue, day)
) WITHOUT ROWID;

-- A queue's survey switch and its business hours (JSON as in docs/api.md; NULL: always open).
ALTER TABLE queues ADD COLUMN csat INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN hours TEXT;
