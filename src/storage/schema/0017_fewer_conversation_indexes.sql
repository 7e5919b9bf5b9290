-- Issue 14: three indexes a join paid for that no statement needs.
-- conversations_by_state (state) was written by every insert and every change of state (a join,
-- an accept, an end) but read by nothing: the counts per state are conversation_counts (0006),
-- and every routing step reads through an index of its own (routing_scan_test fails a plan
-- that uses this one). conversations_offered held every waiting customer, almost all with
-- offered_to NULL; only rows with an offer ringing are ever looked up in it (an agent's offers:
-- `offered_to = ?`, which implies NOT NULL, so SQLite still uses the narrower index).
DROP INDEX conversations_by_state;
DROP INDEX conversations_offered;
CREATE INDEX conversations_offered ON conversations (offered_to)
  WHERE state = 'queued' AND offered_to IS NOT NULL;
-- conversations_waiting (queue, queued_at) served only the longest wait, MIN(queued_at). Keys
-- say the same: tail keys are handed out in the order customers join and head keys count down
-- as customers are put back, so the oldest wait is the first tail key's or the last head key's,
-- two seeks in conversations_queue_order (sqlite_routing.cpp, PARLEY_QUEUE_STATS_COLUMNS).
DROP INDEX conversations_waiting;
