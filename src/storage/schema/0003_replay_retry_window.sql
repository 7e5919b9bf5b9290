-- A replayed outbound event gets a fresh retry window without rewriting its creation time
-- (which the transcript and the delivery list show and sort by). NULL: the window starts at
-- created_at, as for every event that was never replayed.
ALTER TABLE events ADD COLUMN retry_from INTEGER;
