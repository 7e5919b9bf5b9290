-- What a connection's channel can show (issue 18): replies it cannot show are sent as text.
-- The names joined with ','; every existing connection keeps showing everything.
ALTER TABLE connections ADD COLUMN capabilities TEXT NOT NULL
  DEFAULT 'menu,carousel,link_button,typing_indicator';
