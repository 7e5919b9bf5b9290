-- Issue 19, supervisors: who is told of every queue and agent (admins and supervisors), agents'
-- time in each status and away reason, the figures of today for the wallboard, and who
-- monitors or has joined a conversation.

-- Admins and supervisors get every queue.updated and agent.status event.
DROP INDEX users_admins;
CREATE INDEX users_overseers ON users (username) WHERE role IN ('admin', 'supervisor');

-- One row per stretch of time an agent spent in one status (available, away, after_chat,
-- offline) and away reason; the open one has ended_at NULL. Reports clip them to their period.
CREATE TABLE agent_status_periods (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE INDEX agent_status_periods_by_user ON agent_status_periods (username, started_at);
CREATE INDEX agent_status_periods_by_start ON agent_status_periods (started_at);
CREATE INDEX agent_status_periods_open ON agent_status_periods (username) WHERE ended_at IS NULL;

-- The presence's away reason, since when its status (and reason) holds, the status+reason of
-- the open period, and the agent's figures of today (UTC day `day`).
ALTER TABLE agent_presence ADD COLUMN away_reason TEXT;
ALTER TABLE agent_presence ADD COLUMN status_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN status_period TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_presence ADD COLUMN day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN chats_today INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN handle_sum_today_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN handle_count_today INTEGER NOT NULL DEFAULT 0;

-- A queue's waits (of the answered) and handle times of today, for their averages.
-- The share of answers within service_level_s a queue aims at (the wallboard marks below it).
ALTER TABLE queues ADD COLUMN service_level_target REAL NOT NULL DEFAULT 0.8;
ALTER TABLE queue_stats ADD COLUMN wait_sum_today_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue_stats ADD COLUMN handle_sum_today_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue_stats ADD COLUMN handle_count_today INTEGER NOT NULL DEFAULT 0;

-- Supervisors monitoring a conversation (mode 'monitor': its events reach them) or joined to it
-- ('join': they may also write to the customer).
CREATE TABLE conversation_watchers (
  conversation_id TEXT NOT NULL,
  username TEXT NOT NULL,
  mode TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, username)
);
