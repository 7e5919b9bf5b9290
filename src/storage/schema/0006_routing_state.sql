-- Routing state kept as data (issue 14): every routing step reads a few rows through indexes,
-- whatever the depth of the queue or the number of agents. docs/architecture.md, "Routing state",
-- says what is stored, what is derived and why each step is cheap.
--
-- Counters that follow the conversations (waiting, active, an agent's chats and offers, the
-- rank buckets) are kept by the triggers below, in the transaction that changes the row, so no
-- code path can forget one. Counters of outcomes (answered, abandoned, handle times) are written
-- by the routing layer where it decides them.

-- A conversation's place in its queue: an ordered key. Joining at the back takes the queue's
-- next tail key, going back to the head its next head key (below every key issued before).
-- Keys start at 2^40 so that head keys stay positive.
ALTER TABLE conversations ADD COLUMN qkey INTEGER;
-- wait_time: when this waiting customer is next looked at (NULL: nothing to do until the queue
-- changes), and the queue's version at the last look.
ALTER TABLE conversations ADD COLUMN wait_check_at INTEGER;
ALTER TABLE conversations ADD COLUMN wait_version INTEGER NOT NULL DEFAULT 0;

-- One row a queue name that ever had a conversation or a member.
CREATE TABLE queue_stats (
  queue TEXT PRIMARY KEY,
  waiting INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 0,
  head_key INTEGER NOT NULL DEFAULT 1099511627777,  -- 2^40 + 1: the next head key is one less
  tail_key INTEGER NOT NULL DEFAULT 1099511627776,  -- 2^40: the next tail key is one more
  version INTEGER NOT NULL DEFAULT 0,        -- moves when waiting customers' positions or estimates may move
  armed_version INTEGER NOT NULL DEFAULT 0,  -- the version whose parked wait checks were re-armed
  members INTEGER NOT NULL DEFAULT 0,        -- enabled agents of the queue
  concurrency_sum INTEGER NOT NULL DEFAULT 0,  -- the sum of their max_chats
  signed_in INTEGER NOT NULL DEFAULT 0,      -- members not offline
  available INTEGER NOT NULL DEFAULT 0,      -- members available with room for one more chat
  handle_sum_ms INTEGER NOT NULL DEFAULT 0,  -- the sum of the samples in queue_handle
  handle_count INTEGER NOT NULL DEFAULT 0,   -- samples taken ever (the next slot is count % 100)
  day INTEGER NOT NULL DEFAULT 0,            -- UTC day (days since 1970) of the *_today counters
  answered_today INTEGER NOT NULL DEFAULT 0,
  answered_in_sl_today INTEGER NOT NULL DEFAULT 0,
  abandoned_today INTEGER NOT NULL DEFAULT 0,
  answered_total INTEGER NOT NULL DEFAULT 0,
  abandoned_total INTEGER NOT NULL DEFAULT 0,
  offers_total INTEGER NOT NULL DEFAULT 0,
  offers_rung_out_total INTEGER NOT NULL DEFAULT 0
);

-- The handle times (assignment to end, ms) of the last 100 chats of each queue, as a ring.
CREATE TABLE queue_handle (
  queue TEXT NOT NULL,
  slot INTEGER NOT NULL,
  ms INTEGER NOT NULL,
  PRIMARY KEY (queue, slot)
) WITHOUT ROWID;

-- Waiting conversations counted per key bucket, at three levels (32, 1,024 and 32,768 keys a
-- bucket): a position is the count of keys before it, summed from at most 31 entries of each
-- level and 31 rows of the conversations index, instead of counting the queue.
CREATE TABLE queue_rank (
  queue TEXT NOT NULL,
  level INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (queue, level, bucket)
) WITHOUT ROWID;

-- Members of each queue, with what routing needs of them: who is ready for an offer (available,
-- signed in, with room) and who was assigned least recently.
CREATE TABLE agent_queues (
  queue TEXT NOT NULL,
  username TEXT NOT NULL,
  max_chats INTEGER NOT NULL,
  signed_in INTEGER NOT NULL DEFAULT 0,
  ready INTEGER NOT NULL DEFAULT 0,
  last_assigned_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, username)
) WITHOUT ROWID;
CREATE INDEX agent_queues_ready ON agent_queues (queue, last_assigned_at, username) WHERE ready = 1;
CREATE INDEX agent_queues_by_user ON agent_queues (username);

-- An agent's load, kept by the conversation triggers.
ALTER TABLE agent_presence ADD COLUMN chats INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN offers INTEGER NOT NULL DEFAULT 0;

-- Indexes of the steps: the queue in order, the next conversation to offer, the timers as due
-- times, and admins (told of every agent's status).
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
    FROM conversations WHERE state = 'ended' AND queue IS NOT NULL AND assigned_at IS NOT NULL)
  WHERE rn <= 100;
UPDATE queue_stats SET
  handle_sum_ms = COALESCE((SELECT SUM(ms) FROM queue_handle h WHERE h.queue = queue_stats.queue), 0),
  handle_count = (SELECT COUNT(*) FROM queue_handle h WHERE h.queue = queue_stats.queue);
UPDATE agent_presence SET
  chats = (SELECT COUNT(*) FROM conversations c WHERE c.state = 'active' AND c.agent = agent_presence.username),
  offers = (SELECT COUNT(*) FROM conversations c WHERE c.state = 'queued' AND c.offered_to = agent_presence.username);
INSERT INTO agent_queues (queue, username, max_chats, signed_in, ready, last_assigned_at)
  SELECT j.value, u.username, u.max_chats, COALESCE(p.online, 0),
         COALESCE(p.online = 1 AND p.status = 'available' AND p.chats + p.offers < u.max_chats, 0),
         COALESCE(p.last_assigned_at, 0)
  FROM users u, json_each(u.queues) j LEFT JOIN agent_presence p ON p.username = u.username
  WHERE u.enabled = 1 AND j.type = 'text';
INSERT INTO queue_stats (queue) SELECT DISTINCT queue FROM agent_queues
  WHERE queue NOT IN (SELECT queue FROM queue_stats);
UPDATE queue_stats SET
  members = (SELECT COUNT(*) FROM agent_queues a WHERE a.queue = queue_stats.queue),
  concurrency_sum = COALESCE((SELECT SUM(max_chats) FROM agent_queues a WHERE a.queue = queue_stats.queue), 0),
  signed_in = (SELECT COUNT(*) FROM agent_queues a WHERE a.queue = queue_stats.queue AND a.signed_in = 1),
  available = (SELECT COUNT(*) FROM agent_queues a WHERE a.queue = queue_stats.queue AND a.ready = 1);

-- Waiting: count and rank buckets follow (state = 'queued', queue, qkey).
CREATE TRIGGER conversations_wait_leave AFTER UPDATE OF state, queue, qkey ON conversations
WHEN OLD.state = 'queued' AND (NEW.state <> 'queued' OR NEW.queue IS NOT OLD.queue
                               OR NEW.qkey IS NOT OLD.qkey)
BEGIN
  UPDATE queue_stats SET waiting = waiting - 1, version = version + 1 WHERE queue = OLD.queue;
  UPDATE queue_rank SET n = n - 1 WHERE queue = OLD.queue AND level = 1 AND bucket = OLD.qkey >> 5;
  UPDATE queue_rank SET n = n - 1 WHERE queue = OLD.queue AND level = 2 AND bucket = OLD.qkey >> 10;
  UPDATE queue_rank SET n = n - 1 WHERE queue = OLD.queue AND level = 3 AND bucket = OLD.qkey >> 15;
  DELETE FROM queue_rank WHERE queue = OLD.queue AND n = 0 AND (
    (level = 1 AND bucket = OLD.qkey >> 5) OR (level = 2 AND bucket = OLD.qkey >> 10)
    OR (level = 3 AND bucket = OLD.qkey >> 15));
END;

CREATE TRIGGER conversations_wait_enter AFTER UPDATE OF state, queue, qkey ON conversations
WHEN NEW.state = 'queued' AND NEW.qkey IS NOT NULL
  AND (OLD.state <> 'queued' OR NEW.queue IS NOT OLD.queue OR NEW.qkey IS NOT OLD.qkey)
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

-- Active: the queue's count and the agent's chats follow (state = 'active', queue, agent).
CREATE TRIGGER conversations_active_leave AFTER UPDATE OF state, queue, agent ON conversations
WHEN OLD.state = 'active' AND (NEW.state <> 'active' OR NEW.queue IS NOT OLD.queue
                               OR NEW.agent IS NOT OLD.agent)
BEGIN
  UPDATE queue_stats SET active = active - 1, version = version + 1 WHERE queue = OLD.queue;
  UPDATE agent_presence SET chats = chats - 1 WHERE username = OLD.agent;
END;

CREATE TRIGGER conversations_active_enter AFTER UPDATE OF state, queue, agent ON conversations
WHEN NEW.state = 'active' AND (OLD.state <> 'active' OR NEW.queue IS NOT OLD.queue
                               OR NEW.agent IS NOT OLD.agent)
BEGIN
  INSERT INTO queue_stats (queue, active, version) VALUES (COALESCE(NEW.queue, 'default'), 1, 1)
    ON CONFLICT (queue) DO UPDATE SET active = active + 1, version = version + 1;
  INSERT INTO agent_presence (username, updated_at, chats) VALUES (NEW.agent, NEW.updated_at, 1)
    ON CONFLICT (username) DO UPDATE SET chats = chats + 1;
END;

-- Offers ringing: the agent's offers follow (state = 'queued', offered_to).
CREATE TRIGGER conversations_offer_leave AFTER UPDATE OF state, offered_to ON conversations
WHEN OLD.state = 'queued' AND OLD.offered_to IS NOT NULL
  AND (NEW.state <> 'queued' OR NEW.offered_to IS NOT OLD.offered_to)
BEGIN
  UPDATE agent_presence SET offers = offers - 1 WHERE username = OLD.offered_to;
END;

CREATE TRIGGER conversations_offer_enter AFTER UPDATE OF state, offered_to ON conversations
WHEN NEW.state = 'queued' AND NEW.offered_to IS NOT NULL
  AND (OLD.state <> 'queued' OR NEW.offered_to IS NOT OLD.offered_to)
BEGIN
  INSERT INTO agent_presence (username, updated_at, offers) VALUES (NEW.offered_to, NEW.updated_at, 1)
    ON CONFLICT (username) DO UPDATE SET offers = offers + 1;
END;

-- A conversation is inserted with the bot (or in a state the triggers above would count: count
-- it the same way) and deleted with its connection.
CREATE TRIGGER conversations_insert_counted AFTER INSERT ON conversations
WHEN NEW.state IN ('queued', 'active')
BEGIN
  SELECT RAISE(ABORT, 'a conversation is inserted with the bot and then routed');
END;

CREATE TRIGGER conversations_delete_counted AFTER DELETE ON conversations
WHEN OLD.state IN ('queued', 'active')
BEGIN
  UPDATE queue_stats SET waiting = waiting - (OLD.state = 'queued'),
    active = active - (OLD.state = 'active'), version = version + 1 WHERE queue = OLD.queue;
  UPDATE queue_rank SET n = n - 1 WHERE OLD.state = 'queued' AND queue = OLD.queue AND (
    (level = 1 AND bucket = OLD.qkey >> 5) OR (level = 2 AND bucket = OLD.qkey >> 10)
    OR (level = 3 AND bucket = OLD.qkey >> 15));
  UPDATE agent_presence SET chats = chats - (OLD.state = 'active'),
    offers = offers - (OLD.state = 'queued' AND OLD.offered_to IS NOT NULL)
    WHERE username = COALESCE(OLD.agent, OLD.offered_to);
END;

-- Readiness follows presence and load: each membership row of the agent is recomputed.
CREATE TRIGGER agent_presence_ready AFTER UPDATE OF status, online, chats, offers, last_assigned_at
  ON agent_presence
BEGIN
  UPDATE agent_queues SET signed_in = NEW.online,
    ready = (NEW.online = 1 AND NEW.status = 'available' AND NEW.chats + NEW.offers < max_chats),
    last_assigned_at = NEW.last_assigned_at
  WHERE username = NEW.username;
END;

CREATE TRIGGER agent_presence_ready_insert AFTER INSERT ON agent_presence
BEGIN
  UPDATE agent_queues SET signed_in = NEW.online,
    ready = (NEW.online = 1 AND NEW.status = 'available' AND NEW.chats + NEW.offers < max_chats),
    last_assigned_at = NEW.last_assigned_at
  WHERE username = NEW.username;
END;

-- The queue's member counts follow the membership rows.
CREATE TRIGGER agent_queues_insert AFTER INSERT ON agent_queues
BEGIN
  INSERT INTO queue_stats (queue, members, concurrency_sum, signed_in, available, version)
    VALUES (NEW.queue, 1, NEW.max_chats, NEW.signed_in, NEW.ready, 1)
    ON CONFLICT (queue) DO UPDATE SET members = members + 1,
      concurrency_sum = concurrency_sum + NEW.max_chats, signed_in = signed_in + NEW.signed_in,
      available = available + NEW.ready, version = version + 1;
END;

CREATE TRIGGER agent_queues_delete AFTER DELETE ON agent_queues
BEGIN
  UPDATE queue_stats SET members = members - 1, concurrency_sum = concurrency_sum - OLD.max_chats,
    signed_in = signed_in - OLD.signed_in, available = available - OLD.ready,
    version = version + 1
  WHERE queue = OLD.queue;
END;

CREATE TRIGGER agent_queues_update AFTER UPDATE OF signed_in, ready, max_chats ON agent_queues
WHEN NEW.signed_in <> OLD.signed_in OR NEW.ready <> OLD.ready OR NEW.max_chats <> OLD.max_chats
BEGIN
  UPDATE queue_stats SET signed_in = signed_in + NEW.signed_in - OLD.signed_in,
    available = available + NEW.ready - OLD.ready,
    concurrency_sum = concurrency_sum + NEW.max_chats - OLD.max_chats, version = version + 1
  WHERE queue = NEW.queue;
END;

-- Membership follows each user's queues, enabled and max_chats.
CREATE TRIGGER users_members_insert AFTER INSERT ON users WHEN NEW.enabled = 1
BEGIN
  INSERT INTO agent_queues (queue, username, max_chats, signed_in, ready, last_assigned_at)
    SELECT DISTINCT j.value, NEW.username, NEW.max_chats, COALESCE(p.online, 0),
      COALESCE(p.online = 1 AND p.status = 'available' AND p.chats + p.offers < NEW.max_chats, 0),
      COALESCE(p.last_assigned_at, 0)
    FROM json_each(NEW.queues) j LEFT JOIN agent_presence p ON p.username = NEW.username
    WHERE j.type = 'text';
END;

CREATE TRIGGER users_members_update AFTER UPDATE OF queues, enabled, max_chats ON users
WHEN NEW.queues IS NOT OLD.queues OR NEW.enabled <> OLD.enabled OR NEW.max_chats <> OLD.max_chats
BEGIN
  DELETE FROM agent_queues WHERE username = OLD.username;
  INSERT INTO agent_queues (queue, username, max_chats, signed_in, ready, last_assigned_at)
    SELECT DISTINCT j.value, NEW.username, NEW.max_chats, COALESCE(p.online, 0),
      COALESCE(p.online = 1 AND p.status = 'available' AND p.chats + p.offers < NEW.max_chats, 0),
      COALESCE(p.last_assigned_at, 0)
    FROM json_each(NEW.queues) j LEFT JOIN agent_presence p ON p.username = NEW.username
    WHERE j.type = 'text' AND NEW.enabled = 1;
END;

CREATE TRIGGER users_members_delete AFTER DELETE ON users
BEGIN
  DELETE FROM agent_queues WHERE username = OLD.username;
END;

-- A queue's service level counts answers within this many seconds (the contact-centre 80/20).
ALTER TABLE queues ADD COLUMN service_level_s INTEGER NOT NULL DEFAULT 60;

-- Conversations per state, for the overview (O(1) instead of counting conversations).
CREATE TABLE conversation_counts (
  state TEXT PRIMARY KEY,
  n INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO conversation_counts (state, n)
  SELECT s.state, (SELECT COUNT(*) FROM conversations c WHERE c.state = s.state)
  FROM (SELECT 'bot' AS state UNION ALL SELECT 'queued' UNION ALL SELECT 'active'
        UNION ALL SELECT 'ended') s;

CREATE TRIGGER conversation_counts_insert AFTER INSERT ON conversations
BEGIN
  INSERT INTO conversation_counts (state, n) VALUES (NEW.state, 1)
    ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER conversation_counts_update AFTER UPDATE OF state ON conversations
WHEN NEW.state <> OLD.state
BEGIN
  UPDATE conversation_counts SET n = n - 1 WHERE state = OLD.state;
  INSERT INTO conversation_counts (state, n) VALUES (NEW.state, 1)
    ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER conversation_counts_delete AFTER DELETE ON conversations
BEGIN
  UPDATE conversation_counts SET n = n - 1 WHERE state = OLD.state;
END;
