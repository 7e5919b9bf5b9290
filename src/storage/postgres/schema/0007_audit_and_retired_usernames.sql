-- PostgreSQL twin of 0007: retired usernames and the audit log (pg_users.cpp, pg_admin.cpp).
CREATE TABLE retired_usernames (
  username TEXT COLLATE "C" PRIMARY KEY,
  retired_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  address TEXT NOT NULL,
  outcome BIGINT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
);
