-- Connections of the Digital Messaging Manager. Secrets are sealed (libsodium secretbox) when
-- PARLEY_MASTER_KEY is set; the prefix of the stored text says which ("sealed:" or "plain:").
CREATE TABLE connections (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  client_webhook TEXT NOT NULL,
  bot TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_valid_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- One row a conversation. While open it is keyed by (connection, customer).
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  customer_name TEXT,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  context TEXT NOT NULL DEFAULT '{}',
  dialog_state TEXT,
  last_in_seq INTEGER NOT NULL DEFAULT 0,
  last_out_seq INTEGER NOT NULL DEFAULT 0,
  last_position INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE UNIQUE INDEX conversations_open ON conversations (connection_id, customer_id)
  WHERE state <> 'ended';
CREATE INDEX conversations_by_state ON conversations (state);

-- The transcript, and the outbox: an outbound event is its own delivery record, written in the
-- same transaction as the rest of the transcript.
CREATE TABLE events (
  conversation_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  connection_id TEXT NOT NULL,
  direction TEXT NOT NULL,           -- in | out
  seq INTEGER NOT NULL,              -- per direction: inbound 1.., outbound 1.. (the wire seq)
  sender TEXT NOT NULL,              -- customer | bot | csr | system
  csr_name TEXT,
  type TEXT NOT NULL,
  event_id TEXT,
  message_id TEXT,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  delivery_status TEXT,              -- outbound: pending | delivered | dead
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT,
  delivered_at INTEGER,
  PRIMARY KEY (conversation_id, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_by_event_id ON events (event_id) WHERE event_id IS NOT NULL;
-- Idempotency of inbound messages, per connection, for as long as the transcript is kept.
CREATE UNIQUE INDEX events_inbound_message ON events (connection_id, message_id)
  WHERE direction = 'in' AND message_id IS NOT NULL;
CREATE INDEX events_deliveries ON events (connection_id, delivery_status, created_at)
  WHERE direction = 'out';
