-- Offers ringing for an agent, found without scanning every waiting conversation (an agent's
-- load is asked for at every routing decision).
CREATE INDEX conversations_offered ON conversations (offered_to) WHERE state = 'queued';
