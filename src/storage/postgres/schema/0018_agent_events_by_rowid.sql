-- Issue 14: the SQLite twin rebuilds agent_events as a rowid table, so that new events append
-- at the table's end instead of going in the middle of a tree keyed by (username, seq).
-- PostgreSQL's tables are heaps already: rows append, and the primary key's index holds only
-- the keys. This file keeps the two stores' migrations twins, number for number.
SELECT 1;
