-- PostgreSQL twin of src/storage/schema/0001_initial.sql: the same tables, columns and
-- indexes. Keys compare byte by byte (COLLATE "C"), as in SQLite, so lists sort alike. Times
-- are milliseconds since the epoch (BIGINT); JSON stays TEXT so what a client sent is stored
-- byte for byte.
CREATE TABLE connections (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  client_webhook TEXT NOT NULL,
  bot TEXT NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  secret TEXT NOT NULL,              -- "sealed:..." (master key) or "plain:..."
  previous_secret TEXT,
  previous_secret_valid_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE conversations (
  id TEXT COLLATE "C" PRIMARY KEY,
  connection_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  customer_name TEXT,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  context TEXT NOT NULL DEFAULT '{}',
  dialog_state TEXT,
  last_in_seq BIGINT NOT NULL DEFAULT 0,
  last_out_seq BIGINT NOT NULL DEFAULT 0,
  last_position BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  ended_at BIGINT
);
CREATE UNIQUE INDEX conversations_open ON conversations (connection_id, customer_id)
  WHERE state <> 'ended';
CREATE INDEX conversations_by_state ON conversations (state);

CREATE TABLE events (
  conversation_id TEXT COLLATE "C" NOT NULL,
  position BIGINT NOT NULL,
  connection_id TEXT NOT NULL,
  direction TEXT NOT NULL,           -- in | out
  seq BIGINT NOT NULL,
  sender TEXT NOT NULL,              -- customer | bot | csr | system
  csr_name TEXT,
  type TEXT NOT NULL,
  event_id TEXT COLLATE "C",
  message_id TEXT,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  delivery_status TEXT,              -- outbound: pending | delivered | dead
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_error TEXT,
  delivered_at BIGINT,
  PRIMARY KEY (conversation_id, position)
);
CREATE UNIQUE INDEX events_by_event_id ON events (event_id) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX events_inbound_message ON events (connection_id, message_id)
  WHERE direction = 'in' AND message_id IS NOT NULL;
CREATE INDEX events_deliveries ON events (connection_id, delivery_status, created_at)
  WHERE direction = 'out';
