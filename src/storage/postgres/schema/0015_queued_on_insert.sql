-- Issue 14: the twin of SQLite's 0015. A customer of a connection without a bot is inserted
-- already queued, counted as parley_wait_enter() counts a move into the queue (it reads only
-- NEW); active, queued without a key, or with an offer ringing is still refused on insert.
DROP TRIGGER conversations_insert_counted ON conversations;

CREATE TRIGGER conversations_insert_queued AFTER INSERT ON conversations
FOR EACH ROW WHEN (NEW.state = 'queued' AND NEW.qkey IS NOT NULL AND NEW.offered_to IS NULL)
EXECUTE FUNCTION parley_wait_enter();

CREATE OR REPLACE FUNCTION parley_insert_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a conversation is inserted with the bot or waiting, and then routed';
END $$;
CREATE TRIGGER conversations_insert_counted AFTER INSERT ON conversations
FOR EACH ROW WHEN (NEW.state = 'active'
  OR (NEW.state = 'queued' AND (NEW.qkey IS NULL OR NEW.offered_to IS NOT NULL)))
EXECUTE FUNCTION parley_insert_counted();
