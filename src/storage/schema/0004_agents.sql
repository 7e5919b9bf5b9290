-- People who sign in: administrators and agents (CSRs). The password is an Argon2id string from
-- libsodium's crypto_pwhash_str; it never leaves the store.
CREATE TABLE users (
  username TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,                -- admin | agent
  queues TEXT NOT NULL DEFAULT '[]', -- JSON array of queue names
  max_chats INTEGER NOT NULL DEFAULT 3,
  enabled INTEGER NOT NULL DEFAULT 1,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Signed-in sessions. Only a hash of the token is kept; the token itself is shown once.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (username);

-- Queues that conversations wait in for a person.
CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  auto_accept INTEGER NOT NULL DEFAULT 0,
  max_wait_s INTEGER,                -- NULL: customers always wait
  closed_text TEXT,                  -- told to a customer who is not queued because of max_wait_s
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- An agent's presence and routing state (one row per agent that ever signed in).
CREATE TABLE agent_presence (
  username TEXT PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'away',  -- available | away (offline is derived from streams)
  streams INTEGER NOT NULL DEFAULT 0,   -- open event streams on this node
  online INTEGER NOT NULL DEFAULT 0,    -- 0 once offline_due_at passed with no stream
  offline_due_at INTEGER,               -- when the agent counts as offline unless a stream opens
  last_assigned_at INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

-- Each user's live events, kept for replay after a reconnect (GET /api/v1/events?after=N).
CREATE TABLE agent_events (
  username TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,                -- the whole frame as JSON
  created_at INTEGER NOT NULL,
  PRIMARY KEY (username, seq)
) WITHOUT ROWID;

-- Routing state of a conversation.
ALTER TABLE conversations ADD COLUMN queue TEXT;            -- the queue it waits in (or came from)
ALTER TABLE conversations ADD COLUMN agent TEXT;            -- the owning agent, while active
ALTER TABLE conversations ADD COLUMN queued_at INTEGER;     -- FIFO order within the queue
ALTER TABLE conversations ADD COLUMN offered_to TEXT;
ALTER TABLE conversations ADD COLUMN offer_expires_at INTEGER;
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;
ALTER TABLE conversations ADD COLUMN transfer_note TEXT;
ALTER TABLE conversations ADD COLUMN last_customer_at INTEGER;
ALTER TABLE conversations ADD COLUMN idle_reminded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN wait_sent_at INTEGER;
ALTER TABLE conversations ADD COLUMN wait_position INTEGER;
ALTER TABLE conversations ADD COLUMN wait_estimate_s INTEGER;
ALTER TABLE conversations ADD COLUMN ended_by TEXT;         -- customer | agent | timeout | bot
ALTER TABLE conversations ADD COLUMN declined_by TEXT NOT NULL DEFAULT '[]'; -- agents who let the current offer ring
UPDATE conversations SET queue = substr(owner, 7), queued_at = updated_at
  WHERE owner LIKE 'queue:%';
CREATE INDEX conversations_waiting ON conversations (queue, queued_at) WHERE state = 'queued';
CREATE INDEX conversations_by_agent ON conversations (agent) WHERE state = 'active';
CREATE INDEX conversations_ended_by_queue ON conversations (queue, ended_at)
  WHERE state = 'ended' AND assigned_at IS NOT NULL;
