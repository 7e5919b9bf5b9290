-- PostgreSQL twin of 0010: offers declined per queue, a queue's no_agents_text, a connection's
-- queue.
ALTER TABLE queue_stats ADD COLUMN offers_declined_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN no_agents_text TEXT;
ALTER TABLE connections ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
-- Wrap-up codes (one a line), whether one is required, after-chat work; its timer.
ALTER TABLE queues ADD COLUMN wrap_up_codes TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN wrap_up_required BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE queues ADD COLUMN after_chat_work_s BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_presence ADD COLUMN ready_at BIGINT;
CREATE INDEX agent_presence_ready_due ON agent_presence (ready_at) WHERE ready_at IS NOT NULL;
