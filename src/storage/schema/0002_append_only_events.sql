-- Events move from a table clustered on (conversation_id, position) to an append-only rowid
-- table. Clustered on a random UUID, every message dirtied a different full-row leaf page (and
-- its overflow page), so each group commit wrote several pages per message to the WAL and the
-- checkpoint wrote them again. Appended in commit order, a batch of messages shares a few
-- pages; only the small index entries below land on random pages.
CREATE TABLE events_v2 (
  id INTEGER PRIMARY KEY,            -- internal, in the order events were recorded
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
  delivered_at INTEGER
);
INSERT INTO events_v2 (conversation_id, position, connection_id, direction, seq, sender, csr_name,
                       type, event_id, message_id, payload, created_at, delivery_status, attempts,
                       next_attempt_at, last_error, delivered_at)
  SELECT conversation_id, position, connection_id, direction, seq, sender, csr_name, type,
         event_id, message_id, payload, created_at, delivery_status, attempts, next_attempt_at,
         last_error, delivered_at
  FROM events ORDER BY created_at, conversation_id, position;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;

-- The transcript of a conversation, in order; also keeps positions unique.
CREATE UNIQUE INDEX events_by_position ON events (conversation_id, position);
CREATE UNIQUE INDEX events_by_event_id ON events (event_id) WHERE event_id IS NOT NULL;
-- Idempotency of inbound messages, per connection, for as long as the transcript is kept.
CREATE UNIQUE INDEX events_inbound_message ON events (connection_id, message_id)
  WHERE direction = 'in' AND message_id IS NOT NULL;
CREATE INDEX events_deliveries ON events (connection_id, delivery_status, created_at)
  WHERE direction = 'out';
