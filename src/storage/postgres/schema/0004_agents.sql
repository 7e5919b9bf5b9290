-- PostgreSQL twin of 0004: users, sessions, queues, presence, agents' events, routing columns.
CREATE TABLE users (
  username TEXT COLLATE "C" PRIMARY KEY,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,                -- admin | agent
  queues TEXT NOT NULL DEFAULT '[]', -- JSON array of queue names
  max_chats BIGINT NOT NULL DEFAULT 3,
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  username TEXT COLLATE "C" NOT NULL,
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (username);
-- PostgreSQL only: the idle-session sweep without a full scan.
CREATE INDEX sessions_by_last_used ON sessions (last_used_at);

CREATE TABLE queues (
  name TEXT COLLATE "C" PRIMARY KEY,
  display_name TEXT NOT NULL,
  auto_accept BOOLEAN NOT NULL DEFAULT FALSE,
  max_wait_s BIGINT,
  closed_text TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE agent_presence (
  username TEXT COLLATE "C" PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'away',
  streams BIGINT NOT NULL DEFAULT 0,
  online BOOLEAN NOT NULL DEFAULT FALSE,
  offline_due_at BIGINT,
  last_assigned_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);

CREATE TABLE agent_events (
  username TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (username, seq)
);

ALTER TABLE conversations ADD COLUMN queue TEXT;
ALTER TABLE conversations ADD COLUMN agent TEXT;
ALTER TABLE conversations ADD COLUMN queued_at BIGINT;
ALTER TABLE conversations ADD COLUMN offered_to TEXT;
ALTER TABLE conversations ADD COLUMN offer_expires_at BIGINT;
ALTER TABLE conversations ADD COLUMN assigned_at BIGINT;
ALTER TABLE conversations ADD COLUMN transfer_note TEXT;
ALTER TABLE conversations ADD COLUMN last_customer_at BIGINT;
ALTER TABLE conversations ADD COLUMN idle_reminded BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE conversations ADD COLUMN wait_sent_at BIGINT;
ALTER TABLE conversations ADD COLUMN wait_position BIGINT;
ALTER TABLE conversations ADD COLUMN wait_estimate_s BIGINT;
ALTER TABLE conversations ADD COLUMN ended_by TEXT;
ALTER TABLE conversations ADD COLUMN declined_by TEXT NOT NULL DEFAULT '[]';
UPDATE conversations SET queue = substr(owner, 7), queued_at = updated_at
  WHERE owner LIKE 'queue:%';
CREATE INDEX conversations_waiting ON conversations (queue, queued_at) WHERE state = 'queued';
CREATE INDEX conversations_by_agent ON conversations (agent) WHERE state = 'active';
CREATE INDEX conversations_ended_by_queue ON conversations (queue, ended_at)
  WHERE state = 'ended' AND assigned_at IS NOT NULL;
