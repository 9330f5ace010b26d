\set s random(1, 100000)
BEGIN;
SELECT position FROM log_head WHERE id = 1 FOR UPDATE;
SELECT version FROM ev WHERE stream = 's' || :s ORDER BY version DESC LIMIT 1;
INSERT INTO ev(position, stream, version, payload) SELECT position + 1, 's' || :s, 1 + coalesce((SELECT max(version) FROM ev WHERE stream = 's' || :s), 0), repeat('x', 256) FROM log_head WHERE id = 1;
UPDATE log_head SET position = position + 1 WHERE id = 1;
COMMIT;
