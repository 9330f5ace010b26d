BEGIN;
SELECT position FROM log_head2 WHERE id = 1 FOR UPDATE;
WITH unnumbered AS (SELECT seq FROM ev2 WHERE position IS NULL ORDER BY seq LIMIT 2000), numbered AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM unnumbered)
UPDATE ev2 SET position = (SELECT position FROM log_head2) + numbered.n FROM numbered WHERE ev2.seq = numbered.seq;
UPDATE log_head2 SET position = (SELECT coalesce(max(position), 0) FROM ev2 WHERE position IS NOT NULL) WHERE id = 1;
COMMIT;
