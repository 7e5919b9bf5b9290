-- PostgreSQL twin of 0012: routing facts (append-only, read by time for the reports), the
-- satisfaction survey of a conversation, a queue's csat switch and business hours.
CREATE TABLE routing_facts (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  queue TEXT NOT NULL,
  agent TEXT,
  conversation_id TEXT NOT NULL,
  wait_ms BIGINT,
  handle_ms BIGINT,
  value BIGINT
);
CREATE INDEX routing_facts_by_time ON routing_facts (at);

CREATE TABLE conversation_csat (
  conversation_id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  agent TEXT,
  phase TEXT NOT NULL,
  asked_at BIGINT NOT NULL,
  score BIGINT,
  comment TEXT,
  answered_at BIGINT
);

CREATE TABLE queue_csat_day (
  queue TEXT NOT NULL,
  day BIGINT NOT NULL,
  count BIGINT NOT NULL,
  sum BIGINT NOT NULL,
  PRIMARY KEY (queue, day)
);

ALTER TABLE queues ADD COLUMN csat BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE queues ADD COLUMN hours TEXT;
