-- Issue 16 (a real team's first hour) and issue 20 (routing metrics):
-- offers declined per queue; a queue's text for when nobody is there; the queue a connection's
-- customers wait in when it has no bot or its bot hands over without naming one.
ALTER TABLE queue_stats ADD COLUMN offers_declined_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN no_agents_text TEXT;
ALTER TABLE connections ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
-- Wrap-up: the codes an agent picks from when a chat ends (one a line), whether one is required,
-- and the seconds of after-chat work with no new offer.
ALTER TABLE queues ADD COLUMN wrap_up_codes TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN wrap_up_required INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN after_chat_work_s INTEGER NOT NULL DEFAULT 0;
-- When an agent's after-chat work ends (they become available again), as a timer.
ALTER TABLE agent_presence ADD COLUMN ready_at INTEGER;
CREATE INDEX agent_presence_ready_due ON agent_presence (ready_at) WHERE ready_at IS NOT NULL;
