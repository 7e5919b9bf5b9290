-- PostgreSQL twin of 0002: events get an internal id in the order they were recorded, and
-- (conversation_id, position) becomes a unique index instead of the primary key. PostgreSQL
-- tables are heaps (not clustered on the key), so this changes no storage layout here; it keeps
-- the two schemas alike.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX events_by_position ON events (conversation_id, position);
