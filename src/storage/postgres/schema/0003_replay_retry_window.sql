-- PostgreSQL twin of 0003: a replayed outbound event's retry window start.
ALTER TABLE events ADD COLUMN retry_from BIGINT;
-- PostgreSQL only: the outbox, found without reading delivered events (the dispatcher's load
-- at start and the per-conversation claim of outbound delivery).
CREATE INDEX events_pending ON events (conversation_id, seq)
  WHERE direction = 'out' AND delivery_status = 'pending';
