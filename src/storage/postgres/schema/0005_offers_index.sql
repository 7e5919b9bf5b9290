-- PostgreSQL twin of 0005: offers ringing for an agent, by agent.
CREATE INDEX conversations_offered ON conversations (offered_to) WHERE state = 'queued';
