-- PostgreSQL twin of src/storage/schema/0006_routing_state.sql (issue 14): routing state kept as
-- data (ordered queue keys, rank buckets, counters kept by triggers in the transaction that
-- changes a row). The same tables, columns, indexes and trigger logic; the triggers are PL/pgSQL
-- functions, the flags the triggers do arithmetic with (agent_queues.signed_in, ready) are
-- INTEGER 0/1 as in SQLite, and JSON is read with jsonb.

ALTER TABLE conversations ADD COLUMN qkey BIGINT;
ALTER TABLE conversations ADD COLUMN wait_check_at BIGINT;
ALTER TABLE conversations ADD COLUMN wait_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE queue_stats (
  queue TEXT COLLATE "C" PRIMARY KEY,
  waiting BIGINT NOT NULL DEFAULT 0,
  active BIGINT NOT NULL DEFAULT 0,
  head_key BIGINT NOT NULL DEFAULT 1099511627777,
  tail_key BIGINT NOT NULL DEFAULT 1099511627776,
  version BIGINT NOT NULL DEFAULT 0,
  armed_version BIGINT NOT NULL DEFAULT 0,
  members BIGINT NOT NULL DEFAULT 0,
  concurrency_sum BIGINT NOT NULL DEFAULT 0,
  signed_in BIGINT NOT NULL DEFAULT 0,
  available BIGINT NOT NULL DEFAULT 0,
  handle_sum_ms BIGINT NOT NULL DEFAULT 0,
  handle_count BIGINT NOT NULL DEFAULT 0,
  day BIGINT NOT NULL DEFAULT 0,
  answered_today BIGINT NOT NULL DEFAULT 0,
  answered_in_sl_today BIGINT NOT NULL DEFAULT 0,
  abandoned_today BIGINT NOT NULL DEFAULT 0,
  answered_total BIGINT NOT NULL DEFAULT 0,
  abandoned_total BIGINT NOT NULL DEFAULT 0,
  offers_total BIGINT NOT NULL DEFAULT 0,
  offers_rung_out_total BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE queue_handle (
  queue TEXT NOT NULL,
  slot BIGINT NOT NULL,
  ms BIGINT NOT NULL,
  PRIMARY KEY (queue, slot)
);

CREATE TABLE queue_rank (
  queue TEXT NOT NULL,
  level INTEGER NOT NULL,
  bucket BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (queue, level, bucket)
);

CREATE TABLE agent_queues (
  queue TEXT NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  max_chats BIGINT NOT NULL,
  signed_in INTEGER NOT NULL DEFAULT 0,
  ready INTEGER NOT NULL DEFAULT 0,
  last_assigned_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, username)
);
CREATE INDEX agent_queues_ready ON agent_queues (queue, last_assigned_at, username) WHERE ready = 1;
CREATE INDEX agent_queues_by_user ON agent_queues (username);

ALTER TABLE agent_presence ADD COLUMN chats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN offers BIGINT NOT NULL DEFAULT 0;

DROP INDEX conversations_ended_by_queue;
CREATE INDEX conversations_queue_order ON conversations (queue, qkey) WHERE state = 'queued';
CREATE INDEX conversations_to_offer ON conversations (queue, qkey)
  WHERE state = 'queued' AND offered_to IS NULL;
CREATE INDEX conversations_offer_due ON conversations (offer_expires_at)
  WHERE state = 'queued' AND offered_to IS NOT NULL;
CREATE INDEX conversations_wait_due ON conversations (wait_check_at)
  WHERE state = 'queued' AND wait_check_at IS NOT NULL;
CREATE INDEX conversations_wait_parked ON conversations (queue)
  WHERE state = 'queued' AND wait_check_at IS NULL;
CREATE INDEX conversations_idle ON conversations (idle_reminded, last_customer_at)
  WHERE state IN ('bot', 'active');
CREATE INDEX agent_presence_offline_due ON agent_presence (offline_due_at)
  WHERE offline_due_at IS NOT NULL;
CREATE INDEX users_admins ON users (username) WHERE role = 'admin';
CREATE INDEX agent_events_by_time ON agent_events (created_at);

-- What is there already.
UPDATE conversations SET qkey = 1099511627776 + (
    SELECT COUNT(*) FROM conversations c2
    WHERE c2.state = 'queued' AND c2.queue = conversations.queue
      AND (c2.queued_at < conversations.queued_at
           OR (c2.queued_at = conversations.queued_at AND c2.id <= conversations.id))),
  wait_check_at = COALESCE(wait_sent_at, 0)
  WHERE state = 'queued';
INSERT INTO queue_stats (queue) SELECT name FROM queues;
INSERT INTO queue_stats (queue) SELECT DISTINCT queue FROM conversations
  WHERE queue IS NOT NULL AND queue NOT IN (SELECT queue FROM queue_stats);
UPDATE queue_stats SET
  waiting = (SELECT COUNT(*) FROM conversations c WHERE c.state = 'queued' AND c.queue = queue_stats.queue),
  active = (SELECT COUNT(*) FROM conversations c WHERE c.state = 'active' AND c.queue = queue_stats.queue);
UPDATE queue_stats SET tail_key = 1099511627776 + waiting;
INSERT INTO queue_rank (queue, level, bucket, n)
  SELECT queue, 1, qkey >> 5, COUNT(*) FROM conversations WHERE state = 'queued' GROUP BY 1, 3;
INSERT INTO queue_rank (queue, level, bucket, n)
  SELECT queue, 2, qkey >> 10, COUNT(*) FROM conversations WHERE state = 'queued' GROUP BY 1, 3;
INSERT INTO queue_rank (queue, level, bucket, n)
  SELECT queue, 3, qkey >> 15, COUNT(*) FROM conversations WHERE state = 'queued' GROUP BY 1, 3;
INSERT INTO queue_handle (queue, slot, ms)
  SELECT queue, rn - 1, ended_at - assigned_at FROM (
    SELECT queue, ended_at, assigned_at,
           ROW_NUMBER() OVER (PARTITION BY queue ORDER BY ended_at DESC) AS rn
    FROM conversations WHERE state = 'ended' AND queue IS NOT NULL AND assigned_at IS NOT NULL) h
  WHERE rn <= 100;
UPDATE queue_stats SET
  handle_sum_ms = COALESCE((SELECT SUM(ms) FROM queue_handle h WHERE h.queue = queue_stats.queue), 0),
  handle_count = (SELECT COUNT(*) FROM queue_handle h WHERE h.queue = queue_stats.queue);
UPDATE agent_presence SET
  chats = (SELECT COUNT(*) FROM conversations c WHERE c.state = 'active' AND c.agent = agent_presence.username),
  offers = (SELECT COUNT(*) FROM conversations c WHERE c.state = 'queued' AND c.offered_to = agent_presence.username);
INSERT INTO agent_queues (queue, username, max_chats, signed_in, ready, last_assigned_at)
  SELECT DISTINCT j.value #>> '{}', u.username, u.max_chats, COALESCE(p.online::int, 0),
         COALESCE((p.online AND p.status = 'available' AND p.chats + p.offers < u.max_chats)::int, 0),
         COALESCE(p.last_assigned_at, 0)
  FROM users u CROSS JOIN LATERAL jsonb_array_elements(u.queues::jsonb) j
  LEFT JOIN agent_presence p ON p.username = u.username
  WHERE u.enabled AND jsonb_typeof(j.value) = 'string';
INSERT INTO queue_stats (queue) SELECT DISTINCT queue FROM agent_queues
  WHERE queue NOT IN (SELECT queue FROM queue_stats);
UPDATE queue_stats SET
  members = (SELECT COUNT(*) FROM agent_queues a WHERE a.queue = queue_stats.queue),
  concurrency_sum = COALESCE((SELECT SUM(max_chats) FROM agent_queues a WHERE a.queue = queue_stats.queue), 0),
  signed_in = (SELECT COUNT(*) FROM agent_queues a WHERE a.queue = queue_stats.queue AND a.signed_in = 1),
  available = (SELECT COUNT(*) FROM agent_queues a WHERE a.queue = queue_stats.queue AND a.ready = 1);

-- Waiting: count and rank buckets follow (state = 'queued', queue, qkey).
CREATE FUNCTION parley_wait_leave() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE queue_stats SET waiting = waiting - 1, version = version + 1 WHERE queue = OLD.queue;
  UPDATE queue_rank SET n = n - 1 WHERE queue = OLD.queue AND (
    (level = 1 AND bucket = OLD.qkey >> 5) OR (level = 2 AND bucket = OLD.qkey >> 10)
    OR (level = 3 AND bucket = OLD.qkey >> 15));
  DELETE FROM queue_rank WHERE queue = OLD.queue AND n = 0 AND (
    (level = 1 AND bucket = OLD.qkey >> 5) OR (level = 2 AND bucket = OLD.qkey >> 10)
    OR (level = 3 AND bucket = OLD.qkey >> 15));
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_wait_leave AFTER UPDATE OF state, queue, qkey ON conversations
FOR EACH ROW WHEN (OLD.state = 'queued' AND (NEW.state <> 'queued'
  OR NEW.queue IS DISTINCT FROM OLD.queue OR NEW.qkey IS DISTINCT FROM OLD.qkey))
EXECUTE FUNCTION parley_wait_leave();

CREATE FUNCTION parley_wait_enter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO queue_stats AS s (queue, waiting) VALUES (NEW.queue, 1)
    ON CONFLICT (queue) DO UPDATE SET waiting = s.waiting + 1,
      version = s.version + (NEW.qkey < s.head_key + 1)::int;
  INSERT INTO queue_rank AS r (queue, level, bucket, n) VALUES (NEW.queue, 1, NEW.qkey >> 5, 1)
    ON CONFLICT (queue, level, bucket) DO UPDATE SET n = r.n + 1;
  INSERT INTO queue_rank AS r (queue, level, bucket, n) VALUES (NEW.queue, 2, NEW.qkey >> 10, 1)
    ON CONFLICT (queue, level, bucket) DO UPDATE SET n = r.n + 1;
  INSERT INTO queue_rank AS r (queue, level, bucket, n) VALUES (NEW.queue, 3, NEW.qkey >> 15, 1)
    ON CONFLICT (queue, level, bucket) DO UPDATE SET n = r.n + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_wait_enter AFTER UPDATE OF state, queue, qkey ON conversations
FOR EACH ROW WHEN (NEW.state = 'queued' AND NEW.qkey IS NOT NULL AND (OLD.state <> 'queued'
  OR NEW.queue IS DISTINCT FROM OLD.queue OR NEW.qkey IS DISTINCT FROM OLD.qkey))
EXECUTE FUNCTION parley_wait_enter();

-- Active: the queue's count and the agent's chats follow (state = 'active', queue, agent).
CREATE FUNCTION parley_active_leave() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE queue_stats SET active = active - 1, version = version + 1 WHERE queue = OLD.queue;
  UPDATE agent_presence SET chats = chats - 1 WHERE username = OLD.agent;
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_active_leave AFTER UPDATE OF state, queue, agent ON conversations
FOR EACH ROW WHEN (OLD.state = 'active' AND (NEW.state <> 'active'
  OR NEW.queue IS DISTINCT FROM OLD.queue OR NEW.agent IS DISTINCT FROM OLD.agent))
EXECUTE FUNCTION parley_active_leave();

CREATE FUNCTION parley_active_enter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO queue_stats AS s (queue, active, version) VALUES (COALESCE(NEW.queue, 'default'), 1, 1)
    ON CONFLICT (queue) DO UPDATE SET active = s.active + 1, version = s.version + 1;
  INSERT INTO agent_presence AS p (username, updated_at, chats) VALUES (NEW.agent, NEW.updated_at, 1)
    ON CONFLICT (username) DO UPDATE SET chats = p.chats + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_active_enter AFTER UPDATE OF state, queue, agent ON conversations
FOR EACH ROW WHEN (NEW.state = 'active' AND (OLD.state <> 'active'
  OR NEW.queue IS DISTINCT FROM OLD.queue OR NEW.agent IS DISTINCT FROM OLD.agent))
EXECUTE FUNCTION parley_active_enter();

-- Offers ringing: the agent's offers follow (state = 'queued', offered_to).
CREATE FUNCTION parley_offer_leave() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE agent_presence SET offers = offers - 1 WHERE username = OLD.offered_to;
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_offer_leave AFTER UPDATE OF state, offered_to ON conversations
FOR EACH ROW WHEN (OLD.state = 'queued' AND OLD.offered_to IS NOT NULL
  AND (NEW.state <> 'queued' OR NEW.offered_to IS DISTINCT FROM OLD.offered_to))
EXECUTE FUNCTION parley_offer_leave();

CREATE FUNCTION parley_offer_enter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agent_presence AS p (username, updated_at, offers) VALUES (NEW.offered_to, NEW.updated_at, 1)
    ON CONFLICT (username) DO UPDATE SET offers = p.offers + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_offer_enter AFTER UPDATE OF state, offered_to ON conversations
FOR EACH ROW WHEN (NEW.state = 'queued' AND NEW.offered_to IS NOT NULL
  AND (OLD.state <> 'queued' OR NEW.offered_to IS DISTINCT FROM OLD.offered_to))
EXECUTE FUNCTION parley_offer_enter();

-- A conversation is inserted with the bot and then routed; deleted with its connection.
CREATE FUNCTION parley_insert_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a conversation is inserted with the bot and then routed';
END $$;
CREATE TRIGGER conversations_insert_counted AFTER INSERT ON conversations
FOR EACH ROW WHEN (NEW.state IN ('queued', 'active'))
EXECUTE FUNCTION parley_insert_counted();

CREATE FUNCTION parley_delete_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE queue_stats SET waiting = waiting - (OLD.state = 'queued')::int,
    active = active - (OLD.state = 'active')::int, version = version + 1 WHERE queue = OLD.queue;
  UPDATE queue_rank SET n = n - 1 WHERE OLD.state = 'queued' AND queue = OLD.queue AND (
    (level = 1 AND bucket = OLD.qkey >> 5) OR (level = 2 AND bucket = OLD.qkey >> 10)
    OR (level = 3 AND bucket = OLD.qkey >> 15));
  UPDATE agent_presence SET chats = chats - (OLD.state = 'active')::int,
    offers = offers - (OLD.state = 'queued' AND OLD.offered_to IS NOT NULL)::int
    WHERE username = COALESCE(OLD.agent, OLD.offered_to);
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_delete_counted AFTER DELETE ON conversations
FOR EACH ROW WHEN (OLD.state IN ('queued', 'active'))
EXECUTE FUNCTION parley_delete_counted();

-- Readiness follows presence and load: each membership row of the agent is recomputed.
CREATE FUNCTION parley_presence_ready() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE agent_queues SET signed_in = NEW.online::int,
    ready = (NEW.online AND NEW.status = 'available' AND NEW.chats + NEW.offers < max_chats)::int,
    last_assigned_at = NEW.last_assigned_at
  WHERE username = NEW.username;
  RETURN NULL;
END $$;
CREATE TRIGGER agent_presence_ready
AFTER UPDATE OF status, online, chats, offers, last_assigned_at ON agent_presence
FOR EACH ROW EXECUTE FUNCTION parley_presence_ready();
CREATE TRIGGER agent_presence_ready_insert AFTER INSERT ON agent_presence
FOR EACH ROW EXECUTE FUNCTION parley_presence_ready();

-- The queue's member counts follow the membership rows.
CREATE FUNCTION parley_members_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO queue_stats AS s (queue, members, concurrency_sum, signed_in, available, version)
    VALUES (NEW.queue, 1, NEW.max_chats, NEW.signed_in, NEW.ready, 1)
    ON CONFLICT (queue) DO UPDATE SET members = s.members + 1,
      concurrency_sum = s.concurrency_sum + NEW.max_chats, signed_in = s.signed_in + NEW.signed_in,
      available = s.available + NEW.ready, version = s.version + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER agent_queues_insert AFTER INSERT ON agent_queues
FOR EACH ROW EXECUTE FUNCTION parley_members_insert();

CREATE FUNCTION parley_members_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE queue_stats SET members = members - 1, concurrency_sum = concurrency_sum - OLD.max_chats,
    signed_in = signed_in - OLD.signed_in, available = available - OLD.ready,
    version = version + 1
  WHERE queue = OLD.queue;
  RETURN NULL;
END $$;
CREATE TRIGGER agent_queues_delete AFTER DELETE ON agent_queues
FOR EACH ROW EXECUTE FUNCTION parley_members_delete();

CREATE FUNCTION parley_members_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE queue_stats SET signed_in = signed_in + NEW.signed_in - OLD.signed_in,
    available = available + NEW.ready - OLD.ready,
    concurrency_sum = concurrency_sum + NEW.max_chats - OLD.max_chats, version = version + 1
  WHERE queue = NEW.queue;
  RETURN NULL;
END $$;
CREATE TRIGGER agent_queues_update AFTER UPDATE OF signed_in, ready, max_chats ON agent_queues
FOR EACH ROW WHEN (NEW.signed_in <> OLD.signed_in OR NEW.ready <> OLD.ready
  OR NEW.max_chats <> OLD.max_chats)
EXECUTE FUNCTION parley_members_update();

-- Membership follows each user's queues, enabled and max_chats.
CREATE FUNCTION parley_user_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM agent_queues WHERE username = OLD.username;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.enabled THEN
    INSERT INTO agent_queues (queue, username, max_chats, signed_in, ready, last_assigned_at)
      SELECT DISTINCT j.value #>> '{}', NEW.username, NEW.max_chats, COALESCE(p.online::int, 0),
        COALESCE((p.online AND p.status = 'available'
                  AND p.chats + p.offers < NEW.max_chats)::int, 0),
        COALESCE(p.last_assigned_at, 0)
      FROM jsonb_array_elements(NEW.queues::jsonb) j
      LEFT JOIN agent_presence p ON p.username = NEW.username
      WHERE jsonb_typeof(j.value) = 'string';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER users_members_insert AFTER INSERT ON users
FOR EACH ROW WHEN (NEW.enabled) EXECUTE FUNCTION parley_user_members();
CREATE TRIGGER users_members_update AFTER UPDATE OF queues, enabled, max_chats ON users
FOR EACH ROW WHEN (NEW.queues IS DISTINCT FROM OLD.queues OR NEW.enabled <> OLD.enabled
  OR NEW.max_chats <> OLD.max_chats)
EXECUTE FUNCTION parley_user_members();
CREATE TRIGGER users_members_delete AFTER DELETE ON users
FOR EACH ROW EXECUTE FUNCTION parley_user_members();

ALTER TABLE queues ADD COLUMN service_level_s BIGINT NOT NULL DEFAULT 60;

CREATE TABLE conversation_counts (
  state TEXT PRIMARY KEY,
  n BIGINT NOT NULL
);
INSERT INTO conversation_counts (state, n)
  SELECT s.state, (SELECT COUNT(*) FROM conversations c WHERE c.state = s.state)
  FROM (SELECT 'bot' AS state UNION ALL SELECT 'queued' UNION ALL SELECT 'active'
        UNION ALL SELECT 'ended') s;

CREATE FUNCTION parley_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE conversation_counts SET n = n - 1 WHERE state = OLD.state;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO conversation_counts AS k (state, n) VALUES (NEW.state, 1)
      ON CONFLICT (state) DO UPDATE SET n = k.n + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER conversation_counts_insert AFTER INSERT ON conversations
FOR EACH ROW EXECUTE FUNCTION parley_counts();
CREATE TRIGGER conversation_counts_update AFTER UPDATE OF state ON conversations
FOR EACH ROW WHEN (NEW.state <> OLD.state) EXECUTE FUNCTION parley_counts();
CREATE TRIGGER conversation_counts_delete AFTER DELETE ON conversations
FOR EACH ROW EXECUTE FUNCTION parley_counts();
