-- PostgreSQL twin of 0009: canned responses (pg_admin.cpp).
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
