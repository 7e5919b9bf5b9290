-- PostgreSQL twin of 0008: what a connection's channel can show. (The PostgreSQL Tx does not
-- read or write the column yet: every connection shows everything there.)
ALTER TABLE connections ADD COLUMN capabilities TEXT NOT NULL
  DEFAULT 'menu,carousel,link_button,typing_indicator';
