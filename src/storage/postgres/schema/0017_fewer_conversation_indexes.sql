-- Issue 14: the SQLite twin drops conversations_by_state and conversations_waiting and narrows
-- conversations_offered to rows with an offer ringing (a join wrote them and no statement
-- needs them there). Measured on SQLite only; PostgreSQL keeps its indexes until its own plans
-- are checked the same way. This file keeps the two stores' migrations twins, number for number.
SELECT 1;
