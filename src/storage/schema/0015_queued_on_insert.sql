-- Issue 14: a customer of a connection without a bot is written once, already queued, instead
-- of inserted with the bot and moved to the queue by a second write in the same transaction
-- (that UPDATE and the index changes it made were a seventh of a join's server CPU). An insert
-- of a waiting customer is counted as 0006's conversations_wait_enter counts the change into
-- the queue. A conversation inserted active, queued without a key, or with an offer ringing is
-- still refused: those states are reached only by routing steps.
DROP TRIGGER conversations_insert_counted;

CREATE TRIGGER conversations_insert_queued AFTER INSERT ON conversations
WHEN NEW.state = 'queued' AND NEW.qkey IS NOT NULL AND NEW.offered_to IS NULL
BEGIN
  INSERT INTO queue_stats (queue, waiting) VALUES (NEW.queue, 1)
    ON CONFLICT (queue) DO UPDATE SET waiting = waiting + 1,
      version = version + (NEW.qkey < head_key + 1);
  INSERT INTO queue_rank (queue, level, bucket, n) VALUES (NEW.queue, 1, NEW.qkey >> 5, 1)
    ON CONFLICT (queue, level, bucket) DO UPDATE SET n = n + 1;
  INSERT INTO queue_rank (queue, level, bucket, n) VALUES (NEW.queue, 2, NEW.qkey >> 10, 1)
    ON CONFLICT (queue, level, bucket) DO UPDATE SET n = n + 1;
  INSERT INTO queue_rank (queue, level, bucket, n) VALUES (NEW.queue, 3, NEW.qkey >> 15, 1)
    ON CONFLICT (queue, level, bucket) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER conversations_insert_counted AFTER INSERT ON conversations
WHEN NEW.state = 'active'
  OR (NEW.state = 'queued' AND (NEW.qkey IS NULL OR NEW.offered_to IS NOT NULL))
BEGIN
  SELECT RAISE(ABORT, 'a conversation is inserted with the bot or waiting, and then routed');
END;
