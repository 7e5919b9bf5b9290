-- PostgreSQL twin of 0011 (issue 19, supervisors): the overseers' index, agents' status periods,
-- the presence's away reason and figures of today, a queue's figures of today, and who monitors
-- or has joined a conversation.
DROP INDEX users_admins;
CREATE INDEX users_overseers ON users (username) WHERE role IN ('admin', 'supervisor');

CREATE TABLE agent_status_periods (
  id BIGSERIAL PRIMARY KEY,
  username TEXT COLLATE "C" NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  started_at BIGINT NOT NULL,
  ended_at BIGINT
);
CREATE INDEX agent_status_periods_by_user ON agent_status_periods (username, started_at);
CREATE INDEX agent_status_periods_by_start ON agent_status_periods (started_at);
CREATE INDEX agent_status_periods_open ON agent_status_periods (username) WHERE ended_at IS NULL;

ALTER TABLE agent_presence ADD COLUMN away_reason TEXT;
ALTER TABLE agent_presence ADD COLUMN status_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN status_period TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_presence ADD COLUMN day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN chats_today BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN handle_sum_today_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN handle_count_today BIGINT NOT NULL DEFAULT 0;

-- The share of answers within service_level_s a queue aims at (the wallboard marks below it).
ALTER TABLE queues ADD COLUMN service_level_target DOUBLE PRECISION NOT NULL DEFAULT 0.8;
ALTER TABLE queue_stats ADD COLUMN wait_sum_today_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue_stats ADD COLUMN handle_sum_today_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue_stats ADD COLUMN handle_count_today BIGINT NOT NULL DEFAULT 0;

CREATE TABLE conversation_watchers (
  conversation_id TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  mode TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, username)
);
