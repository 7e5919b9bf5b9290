-- PostgreSQL twin of 0008: what a connection's channel can show (pg_tx.cpp).
ALTER TABLE connections ADD COLUMN capabilities TEXT NOT NULL
  DEFAULT 'menu,carousel,link_button,typing_indicator';
