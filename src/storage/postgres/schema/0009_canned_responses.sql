-- PostgreSQL twin of 0009: canned responses. (The PostgreSQL Tx does not read or write them
-- yet: on PostgreSQL the responses routes answer 503 responses_unsupported.)
CREATE TABLE responses (
  id TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL DEFAULT '',
  shortcut TEXT COLLATE "C" NOT NULL,
  title TEXT NOT NULL,
  text TEXT NOT NULL,
  queues TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX responses_by_owner ON responses (owner, shortcut);
